"""Intake (上报) and what is added to a case along the way: the report from any channel, its
parties (当事人) and files, and later notes, parties and attachments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.accounts.roles import Cap
from fengqiao.cases import codes, routing
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.models import (
    Action,
    Attachment,
    Case,
    CaseKind,
    Category,
    Channel,
    Note,
    Party,
    PartyRole,
    RegionResolution,
    Severity,
    Status,
    Urgency,
)
from fengqiao.cases.services.steps import (
    _above,
    _lock,
    _member_of,
    _policy,
    _record,
    _start_accept_clock,
)
from fengqiao.cases.services.supervision import _notify_violence_risk
from fengqiao.core import audit, inserts
from fengqiao.core.validators import (
    is_valid_id_number,
    is_valid_phone,
    normalise_id_number,
    normalise_phone,
)
from fengqiao.regions import places
from fengqiao.regions.models import Region

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from fengqiao.accounts.models import Membership, User
    from fengqiao.cases.attachments import CleanFile

MAX_NOTE = 5000


# --- input --------------------------------------------------------------------------------------


@dataclass
class PartyData:
    """A party as entered (当事人): role, name and optional ID number, phone and address."""

    role: str
    name: str
    id_number: str = ""
    phone: str = ""
    address: str = ""


@dataclass
class IntakeData:
    """Everything a channel knows about a new case; ``report_case`` does the rest."""

    category: Category
    channel: str
    title: str
    description: str
    kind: str | None = None
    place_text: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    region_code: str | None = None
    severity: int = Severity.GENERAL
    urgency: str = Urgency.NORMAL
    people_count: int | None = None
    amount: Decimal | None = None
    occurred_at: datetime | None = None
    external_ref: str = ""
    parties: list[PartyData] = field(default_factory=list)
    may_turn_violent: bool = False
    # Photos and documents sent with the report; stored with the case in the same transaction.
    uploads: list[UploadedFile] = field(default_factory=list)


# --- parties ------------------------------------------------------------------------------------


def _clean_party(data: PartyData, index: int | None = None) -> PartyData:
    prefix = f"parties[{index}]." if index is not None else ""
    if data.role not in PartyRole.values:
        raise WorkflowError("invalid_party", _("Choose the party's role."), field=f"{prefix}role")
    name = (data.name or "").strip()
    if not name or len(name) > 100:
        raise WorkflowError(
            "invalid_party",
            _("Enter the party's name (up to 100 characters)."),
            field=f"{prefix}name",
        )
    id_number = normalise_id_number(data.id_number) if data.id_number else ""
    if id_number and not is_valid_id_number(id_number):
        raise WorkflowError(
            "invalid_id_number",
            _("The ID number is not valid: check its 18 characters and the last check digit."),
            field=f"{prefix}id_number",
        )
    phone = normalise_phone(data.phone) if data.phone else ""
    if phone and not is_valid_phone(phone):
        raise WorkflowError(
            "invalid_phone",
            _("The phone number is not valid: an 11-digit mobile or a landline with area code."),
            field=f"{prefix}phone",
        )
    address = (data.address or "").strip()
    if len(address) > 200:
        raise WorkflowError(
            "invalid_party", _("Keep the address to 200 characters."), field=f"{prefix}address"
        )
    return PartyData(role=data.role, name=name, id_number=id_number, phone=phone, address=address)


def _new_party(case: Case, data: PartyData) -> Party:
    """An unsaved party of ``case`` from checked data."""
    return Party(
        case=case,
        role=data.role,
        name=data.name,
        id_number=data.id_number,
        phone=data.phone,
        address=data.address,
        id_number_tail=data.id_number[-4:],
        phone_tail=data.phone[-4:],
    )


def _create_party(case: Case, data: PartyData) -> Party:
    return inserts.insert(_new_party(case, data))


# --- intake -------------------------------------------------------------------------------------


def _clean_intake(data: IntakeData) -> tuple[str, list[PartyData]]:
    category = data.category
    if category is None or not category.is_active:
        raise WorkflowError("invalid_category", _("Choose a category."), field="category")
    kind = data.kind or category.kind
    if kind not in CaseKind.values:
        raise WorkflowError("invalid_kind", _("Choose the kind of case."), field="kind")
    if data.channel not in Channel.values:
        raise WorkflowError("invalid_channel", _("Unknown intake channel."), field="channel")
    if not (data.title or "").strip() or len(data.title) > 200:
        raise WorkflowError(
            "title_required", _("Give the case a title (up to 200 characters)."), field="title"
        )
    if not (data.description or "").strip() or len(data.description) > 5000:
        raise WorkflowError(
            "description_required",
            _("Describe what happened (up to 5,000 characters)."),
            field="description",
        )
    if data.severity not in Severity.values:
        raise WorkflowError("invalid_severity", _("Choose a severity."), field="severity")
    if data.urgency not in Urgency.values:
        raise WorkflowError("invalid_urgency", _("Choose an urgency."), field="urgency")
    if (data.latitude is None) != (data.longitude is None):
        raise WorkflowError(
            "invalid_point", _("Give both latitude and longitude, or neither."), field="latitude"
        )
    if data.latitude is not None and not (
        -90 <= data.latitude <= 90 and -180 <= data.longitude <= 180
    ):
        raise WorkflowError(
            "invalid_point", _("The coordinates are out of range."), field="latitude"
        )
    if data.people_count is not None and data.people_count < 0:
        raise WorkflowError("invalid_number", _("Enter a number of people."), field="people_count")
    if data.amount is not None and data.amount < 0:
        raise WorkflowError("invalid_number", _("Enter an amount of money."), field="amount")
    if len(data.place_text or "") > 300:
        raise WorkflowError("too_long", _("Keep the place to 300 characters."), field="place_text")
    parties = [_clean_party(party, index) for index, party in enumerate(data.parties)]
    return kind, parties


def _resolve_region(data: IntakeData, membership: Membership | None) -> tuple[Region, str]:
    """Explicit pick → place text → point (``regions.places``), else the reporter's own area."""
    given = bool(
        (data.region_code or "").strip()
        or (data.place_text or "").strip()
        or data.latitude is not None
    )
    if not given:
        if membership is not None:
            return membership.unit.region, RegionResolution.REPORTER
        raise WorkflowError(
            "region_required",
            _("Say where it happened: pick the area or give the place (town, village)."),
            field="place_text",
        )
    code = (data.region_code or "").strip()
    if code and data.latitude is None and data.longitude is None:
        # An explicit pick, as API clients send: the cached region spares a query. A miss
        # falls through to ``places``, which words the refusal.
        region = routing.region_for_code(code)
        if region is not None:
            return region, RegionResolution.PICKED
    try:
        found = places.resolve_place(
            region_code=(data.region_code or "").strip() or None,
            text=data.place_text or "",
            latitude=data.latitude,
            longitude=data.longitude,
        )
    except places.PlaceError as error:
        if error.code == "place_unresolved" and membership is not None:
            # Staff reporting about their own area may leave the place loose.
            return membership.unit.region, RegionResolution.REPORTER
        field_name = {
            "region_invalid": "region_code",
            "point_invalid": "latitude",
            "outside_territory": "region_code" if data.region_code else "latitude",
        }.get(error.code, "place_text")
        raise WorkflowError(error.code, error.message, field=field_name) from error
    return found.region, found.how


@dataclass
class PreparedReport:
    """A checked report, ready to be filed: the case row as far as it is known before the write
    transaction, its parties and its checked files. The code and report time are set when they
    were taken ahead (``codes.reserve_case_code``), else the filing takes them."""

    case: Case
    parties: list[Party]
    uploads: list[CleanFile]
    tracking_token: str
    actor: User | None
    membership: Membership | None


def prepare_report(
    *, data: IntakeData, actor: User | None = None, membership: Membership | None = None
) -> PreparedReport:
    """Everything intake decides without writing: checks, region, routing, the tracking token,
    the parties and the checked uploads. It runs before the write transaction opens, so on
    SQLite (whose writers queue on one lock) none of this work holds up other writers."""
    if membership is not None and not (membership.is_active and membership.can(Cap.CASES_REPORT)):
        raise WorkflowError("not_allowed", _("Your role cannot report cases."))
    kind, parties = _clean_intake(data)
    region, resolution = _resolve_region(data, membership)
    owner = routing.route(region=region, category=data.category, severity=data.severity)
    token, token_hash = codes.new_tracking_token()
    case = Case(
        tracking_token_hash=token_hash,
        kind=kind,
        category=data.category,
        channel=data.channel,
        external_ref=(data.external_ref or "")[:100],
        title=data.title.strip(),
        description=data.description.strip(),
        occurred_at=data.occurred_at,
        place_text=(data.place_text or "").strip(),
        latitude=data.latitude,
        longitude=data.longitude,
        region=region,
        region_code=region.code,
        region_resolution=resolution,
        severity=data.severity,
        urgency=data.urgency,
        people_count=data.people_count,
        amount=data.amount,
        status=Status.REPORTED,
        level=owner.level,
        owner_unit=owner,
        reported_by=actor,
        clock_policy=_policy(data.category),
        may_turn_violent=bool(data.may_turn_violent),
    )
    if codes.can_reserve():
        # Last, after every check: a refused report takes no number.
        case.code, case.reported_at, case.pk = codes.reserve_case_code(region.code)
    return PreparedReport(
        case=case,
        parties=[_new_party(case, party) for party in parties],
        uploads=[_checked(upload) for upload in data.uploads],
        tracking_token=token,
        actor=actor,
        membership=membership,
    )


def file_report(prepared: PreparedReport) -> Case:
    """Write a prepared report: take the code (unless it was taken ahead), start the acceptance
    clock, insert the case, its parties and files, and write the REPORT row and its audit event,
    all in one transaction.

    No savepoint of its own: nothing in here refuses (``prepare_report`` did the checking), and
    a database error must fail the caller's transaction anyway (the idempotency record commits
    with the case or not at all).
    """
    case, actor, membership = prepared.case, prepared.actor, prepared.membership
    with transaction.atomic(savepoint=False):
        # The report time is taken with the code (its date is the code's date): ahead, on
        # PostgreSQL, or here inside the transaction (on SQLite after the write lock), so one
        # county's codes follow its times.
        if not case.code:
            case.reported_at = timezone.now()
            case.code = codes.new_case_code(case.region_code, case.reported_at)
        now = case.reported_at
        _start_accept_clock(case, now)
        writes = [case, *prepared.parties]
        if case.pk is None or prepared.uploads:
            # The key comes from the case's own INSERT (SQLite, an import), or files are to be
            # stored against the row: write the rows now (each party takes the case's key as it
            # is written). Otherwise they travel with the REPORT row (``_record``).
            for row in writes:
                inserts.insert(row)
            writes = []
        for clean in prepared.uploads:
            # The reporter's own material: a citizen sees it on the tracking page, staff see all.
            _store_attachment(
                case,
                actor=actor,
                membership=membership,
                clean=clean,
                is_public=membership is None,
            )
        _record(
            case,
            Action.REPORT,
            from_status="",
            actor=actor,
            membership=membership,
            at=now,
            to_unit=case.owner_unit,
            detail={"channel": case.channel, "resolution": case.region_resolution},
            writes=writes,
        )
        if case.may_turn_violent:
            _notify_violence_risk(case)
    case.tracking_token = prepared.tracking_token
    return case


def report_case(
    *, data: IntakeData, actor: User | None = None, membership: Membership | None = None
) -> Case:
    """Intake (上报) from any channel: resolve the region, route, start the acceptance clock,
    take the code and write the REPORT row. ``case.tracking_token`` holds the citizen's token
    (only its hash is stored)."""
    return file_report(prepare_report(data=data, actor=actor, membership=membership))


# --- notes, parties, attachments ----------------------------------------------------------------


def _require_worker(case: Case, membership: Membership | None) -> None:
    """Owner or handler unit, or a supervising unit above: those who work on the case."""
    if not (
        _member_of(membership, case.owner_unit_id)
        or _member_of(membership, case.handler_unit_id)
        or _above(case, membership, Cap.CASES_HANDLE)
    ):
        raise WorkflowError(
            "not_your_unit", _("Your unit cannot do this on this case at this point.")
        )


@transaction.atomic
def add_note(
    case: Case, *, actor: User | None, membership: Membership | None, body: str, is_public: bool
) -> Note:
    """An internal note (内部备注) or a public reply (公开答复) shown on the tracking page."""
    case = _lock(case)
    _require_worker(case, membership)
    body = (body or "").strip()
    if not body or len(body) > MAX_NOTE:
        raise WorkflowError(
            "body_required",
            _("Write the note (up to %(n)d characters).") % {"n": MAX_NOTE},
            field="body",
        )
    note = Note.objects.create(
        case=case, author=actor, author_unit=membership.unit, body=body, is_public=bool(is_public)
    )
    audit.record(
        "cases.note",
        actor=actor,
        membership=membership,
        obj=case,
        detail={"code": case.code, "note": str(note.public_id), "public": note.is_public},
    )
    return note


@transaction.atomic
def add_party(
    case: Case, *, actor: User | None, membership: Membership | None, data: PartyData
) -> Party:
    """Add a party (当事人) to a case; ID number and phone are validated, sealed and indexed."""
    case = _lock(case)
    _require_worker(case, membership)
    if case.status == Status.ARCHIVED:
        raise WorkflowError("illegal_transition", _("An archived case cannot be changed."))
    party = _create_party(case, _clean_party(data))
    audit.record(
        "cases.add_party",
        actor=actor,
        membership=membership,
        obj=case,
        detail={"code": case.code, "party": str(party.public_id), "role": party.role},
    )
    return party


def _checked(upload: UploadedFile) -> CleanFile:
    """Check and clean one uploaded file (type by content, images re-encoded), or refuse it."""
    from fengqiao.cases.attachments import check_and_clean

    try:
        return check_and_clean(upload)
    except ValidationError as error:
        raise WorkflowError(
            error.code or "invalid_file", " ".join(error.messages), field="upload"
        ) from error


def _store_attachment(
    case: Case,
    *,
    actor: User | None,
    membership: Membership | None,
    clean: CleanFile,
    is_public: bool,
) -> Attachment:
    """Store one checked file on ``case`` (the caller holds the case row)."""
    attachment = Attachment(
        case=case,
        original_name=clean.original_name,
        content_type=clean.content_type,
        size=clean.size,
        sha256=clean.sha256,
        uploaded_by=actor,
        is_public=bool(is_public),
    )
    attachment.file.save(f"upload.{clean.extension}", ContentFile(clean.content), save=False)
    attachment.save(force_insert=True)
    audit.record(
        "cases.add_attachment",
        actor=actor,
        membership=membership,
        obj=case,
        detail={
            "code": case.code,
            "attachment": str(attachment.public_id),
            "type": clean.content_type,
            "size": clean.size,
        },
    )
    return attachment


@transaction.atomic
def add_attachment(
    case: Case,
    *,
    actor: User | None,
    membership: Membership | None,
    upload: UploadedFile,
    is_public: bool = False,
) -> Attachment:
    """Attach a file: checked by content, images re-encoded without metadata, stored under a
    random name (``cases.attachments``)."""
    case = _lock(case)
    _require_worker(case, membership)
    return _store_attachment(
        case, actor=actor, membership=membership, clean=_checked(upload), is_public=is_public
    )
