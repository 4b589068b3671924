"""Writers of the case engine: intake and every workflow transition (ARCHITECTURE §6, STYLE 3).

Each service is keyword-only and atomic: it locks the case row, checks the transition
(``models.can``) and who may act, saves with ``update_fields``, writes one ``StatusChange`` row
(the timeline and the only source of the metrics) and one audit event, and sends notices to
units. Notices are written inside the transaction through ``notify_unit`` (its own savepoint),
so a notice exists exactly when the change that caused it committed.

Who may act:
- accept, assign, reject, verify, decide an extension, record a visit: a member of the owner
  unit (受理单位);
- sign, return (from assigned or in progress), feedback, suspend, resume, ask for an extension:
  a member of the handler unit (承办单位) — or of the owner unit when it signs for itself;
- escalate: owner or handler unit; return from "reported" (not ours): the owner unit;
- supervise (督办): a unit at a level above the case's whose scope covers it;
- reopen: the owner unit or a unit above it whose scope covers the case.
Refusals raise ``WorkflowError(code, message)`` with a Chinese message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.accounts.notifications import notify_unit
from fengqiao.accounts.roles import Cap
from fengqiao.cases import clocks, codes, routing
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.models import (
    TRANSITIONS,
    Action,
    Attachment,
    Case,
    CaseKind,
    Category,
    Channel,
    ClockPolicy,
    ClosureMethod,
    EvaluationChannel,
    Note,
    Party,
    PartyRole,
    PointEntry,
    RegionResolution,
    Severity,
    Status,
    StatusChange,
    Supervision,
    Urgency,
    can,
)
from fengqiao.core import audit
from fengqiao.core.validators import (
    is_valid_id_number,
    is_valid_phone,
    normalise_id_number,
    normalise_phone,
)
from fengqiao.regions import places
from fengqiao.regions.models import Level, Region, Unit, UnitKind

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from fengqiao.accounts.models import Membership, User

__all__ = [
    "IntakeData",
    "PartyData",
    "WorkflowError",
    "accept_case",
    "add_attachment",
    "add_note",
    "add_party",
    "assign_case",
    "available_actions",
    "check_tracking_token",
    "decide_extension",
    "escalate_case",
    "evaluate_case",
    "mark_may_turn_violent",
    "reject_case",
    "reopen_case",
    "report_case",
    "request_extension",
    "resume_case",
    "reveal_party_field",
    "same_party_cases",
    "sign_case",
    "submit_feedback",
    "supervise_case",
    "suspend_case",
    "verify_case",
    "record_visit",
    "return_case",
]

# Timeline steps a citizen sees on the tracking page (public progress).
PUBLIC_ACTIONS = frozenset(
    {
        Action.REPORT,
        Action.ACCEPT,
        Action.ASSIGN,
        Action.SIGN,
        Action.VERIFY_PASS,
        Action.CLOSE,
        Action.EVALUATE,
        Action.REJECT,
    }
)
REVEALABLE_FIELDS = ("name", "id_number", "phone", "address")
MAX_REASON = 1000
MAX_NOTE = 5000
MAX_SUMMARY = 2000
# The policy used when a category has no rule yet (DOMAIN §2 defaults).
DEFAULT_POLICY_CODE = "default"


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


# --- small shared steps -------------------------------------------------------------------------


def _lock(case: Case) -> Case:
    """Re-read the case under a row lock (FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE
    transaction already holds the write lock)."""
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("owner_unit", "category", "clock_policy", "region")
        .get(pk=case.pk)
    )


def _check(action: str, case: Case) -> None:
    if not can(action, case.status):
        raise WorkflowError(
            "illegal_transition",
            _("“%(action)s” is not possible while the case is %(status)s.")
            % {"action": Action(action).label, "status": Status(case.status).label},
        )


def _reason(reason: str, *, required: bool = True, field_name: str = "reason") -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise WorkflowError("reason_required", _("Please give a reason."), field=field_name)
    if len(reason) > MAX_REASON:
        raise WorkflowError(
            "too_long",
            _("Keep it to %(n)d characters.") % {"n": MAX_REASON},
            field=field_name,
        )
    return reason


def _member_of(membership: Membership | None, unit_id: int | None) -> bool:
    return (
        membership is not None
        and unit_id is not None
        and membership.is_active
        and membership.unit_id == unit_id
        and membership.can(Cap.CASES_HANDLE)
    )


def _above(case: Case, membership: Membership | None, capability: str) -> bool:
    """A member of a unit at a level above the case's whose scope covers the case."""
    if membership is None or not membership.is_active or not membership.can(capability):
        return False
    unit = membership.unit
    return routing.level_index(unit.level) < routing.level_index(case.level) and (
        case.region_code.startswith(membership.scope_prefix)
    )


def _who_may(action: str, case: Case, membership: Membership | None) -> bool:
    """Whether this membership may take ``action`` on the case (the state is checked apart)."""
    owner = _member_of(membership, case.owner_unit_id)
    handler = _member_of(membership, case.handler_unit_id)
    if action in (Action.ACCEPT, Action.ASSIGN, Action.REJECT, Action.VISIT):
        return owner
    if action in (Action.VERIFY_PASS, Action.VERIFY_FAIL, Action.CLOSE):
        return owner
    if action in (Action.APPROVE_EXTENSION, Action.DECLINE_EXTENSION):
        return owner and case.extension_days_requested is not None
    if action == Action.SIGN:
        # The owner may sign for itself (handle without dispatching) straight from "accepted".
        return handler if case.status == Status.ASSIGNED else owner
    if action == Action.RETURN:
        return owner if case.status == Status.REPORTED else handler
    if action == Action.REQUEST_EXTENSION:
        return handler and case.extension_days_requested is None
    if action in (Action.FEEDBACK, Action.SUSPEND, Action.RESUME):
        return handler
    if action == Action.ESCALATE:
        return (owner or handler) and case.level not in (Level.CITY, Level.PROVINCE)
    if action == Action.ESCALATE_SKIP:
        # Skipping needs two levels above: from a county the next but one is the province.
        return (owner or handler) and case.level not in (Level.COUNTY, Level.CITY, Level.PROVINCE)
    if action == Action.SUPERVISE:
        return _above(case, membership, Cap.CASES_SUPERVISE)
    if action == Action.REOPEN:
        return owner or _above(case, membership, Cap.CASES_HANDLE)
    if action == Action.EVALUATE:
        return owner
    if action == Action.RISK_FLAG:
        return (owner or handler or _visible(case, membership)) and not case.may_turn_violent
    return False


def _require(action: str, case: Case, membership: Membership | None) -> None:
    _check(action, case)
    if not _who_may(action, case, membership):
        raise WorkflowError(
            "not_your_unit", _("Your unit cannot do this on this case at this point.")
        )


def _visible(case: Case, membership: Membership | None) -> bool:
    """The rule of ``CaseQuerySet.visible_to`` for one case: its region subtree, or its handler."""
    return (
        membership is not None
        and membership.is_active
        and membership.can(Cap.CASES_VIEW)
        and (
            case.region_code.startswith(membership.scope_prefix)
            or case.handler_unit_id == membership.unit_id
        )
    )


def _acting_level(case: Case, membership: Membership | None) -> str:
    return membership.unit.level if membership is not None else case.level


def _record(
    case: Case,
    action: str,
    *,
    from_status: str,
    actor: User | None,
    membership: Membership | None,
    at: datetime,
    level: str | None = None,
    on_time: bool | None = None,
    reason: str = "",
    detail: dict | None = None,
    from_unit: Unit | None = None,
    to_unit: Unit | None = None,
) -> StatusChange:
    """Write the timeline row and the audit event of one transition (the service's last writes)."""
    change = StatusChange.objects.create(
        case=case,
        action=action,
        from_status=from_status,
        to_status=case.status,
        at=at,
        actor=actor,
        actor_unit=membership.unit if membership is not None else None,
        from_unit=from_unit,
        to_unit=to_unit,
        level=level or _acting_level(case, membership),
        region_code=case.region_code,
        kind=case.kind,
        on_time=on_time,
        is_public=action in PUBLIC_ACTIONS,
        reason=reason,
        detail=detail or {},
    )
    # Audit detail names the step and the units, never the people or free text (SECURITY 22).
    audit.record(
        f"cases.{action}",
        actor=actor,
        membership=membership,
        obj=case,
        detail={
            "code": case.code,
            "from": from_status,
            "to": case.status,
            **({"to_unit": str(to_unit.public_id)} if to_unit is not None else {}),
        },
    )
    return change


def case_link(case: Case) -> str:
    """The staff page of a case, when the web pages are installed."""
    try:
        return reverse("cases:detail", kwargs={"case_code": case.code})
    except NoReverseMatch:
        return ""


def _notify(unit: Unit | None, case: Case, *, kind: str, title: str, dedupe: str | None = None):
    if unit is None:
        return None
    return notify_unit(unit, kind=kind, title=title, link=case_link(case), dedupe_key=dedupe)


def _policy(category: Category) -> ClockPolicy:
    rule = routing.rule_for(category)
    if rule is not None:
        return rule.clock_policy
    policy, _created = ClockPolicy.objects.get_or_create(
        code=DEFAULT_POLICY_CODE, defaults={"name": "默认时限"}
    )
    return policy


def _start_handling_clock(case: Case, now: datetime) -> None:
    deadlines = clocks.handle_deadlines(case.clock_policy, now, case.urgency)
    case.handle_due_at, case.handle_red_at = deadlines.due, deadlines.red


def _start_accept_clock(case: Case, now: datetime) -> None:
    deadlines = clocks.accept_deadlines(case.clock_policy, now)
    case.accept_due_at, case.accept_red_at = deadlines.due, deadlines.red


CLOCK_FIELDS = ["accept_due_at", "accept_red_at", "handle_due_at", "handle_red_at"]


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


def _create_party(case: Case, data: PartyData) -> Party:
    return Party.objects.create(
        case=case,
        role=data.role,
        name=data.name,
        id_number=data.id_number,
        phone=data.phone,
        address=data.address,
        id_number_tail=data.id_number[-4:],
        phone_tail=data.phone[-4:],
    )


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


@transaction.atomic
def report_case(
    *, data: IntakeData, actor: User | None = None, membership: Membership | None = None
) -> Case:
    """Intake (上报) from any channel: resolve the region, route, start the acceptance clock,
    take the code and write the REPORT row. ``case.tracking_token`` holds the citizen's token
    (only its hash is stored)."""
    if membership is not None and not (membership.is_active and membership.can(Cap.CASES_REPORT)):
        raise WorkflowError("not_allowed", _("Your role cannot report cases."))
    kind, parties = _clean_intake(data)
    region, resolution = _resolve_region(data, membership)
    owner = routing.route(region=region, category=data.category, severity=data.severity)
    now = timezone.now()
    token, token_hash = codes.new_tracking_token()
    case = Case(
        code=codes.new_case_code(region.code, now),
        tracking_token_hash=token_hash,
        kind=kind,
        category=data.category,
        channel=data.channel,
        external_ref=(data.external_ref or "")[:100],
        title=data.title.strip(),
        description=data.description.strip(),
        occurred_at=data.occurred_at,
        reported_at=now,
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
    _start_accept_clock(case, now)
    case.save(force_insert=True)
    for party in parties:
        _create_party(case, party)
    for upload in data.uploads:
        # The reporter's own material: a citizen sees it on the tracking page, staff see all.
        _store_attachment(
            case,
            actor=actor,
            membership=membership,
            upload=upload,
            is_public=membership is None,
        )
    _record(
        case,
        Action.REPORT,
        from_status="",
        actor=actor,
        membership=membership,
        at=now,
        to_unit=owner,
        detail={"channel": case.channel, "resolution": resolution},
    )
    if case.may_turn_violent:
        _notify_violence_risk(case)
    case.tracking_token = token
    return case


# --- the loop -----------------------------------------------------------------------------------


@transaction.atomic
def accept_case(case: Case, *, actor: User | None, membership: Membership | None) -> Case:
    """受理: the owner unit takes the case on; the handling clock starts now."""
    case = _lock(case)
    _require(Action.ACCEPT, case, membership)
    now, before = timezone.now(), case.status
    case.status = Status.ACCEPTED
    _start_handling_clock(case, now)
    case.save(update_fields=["status", "handle_due_at", "handle_red_at", "updated_at"])
    _record(
        case,
        Action.ACCEPT,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        on_time=clocks.on_time(now, case.accept_due_at),
    )
    return case


@transaction.atomic
def assign_case(
    case: Case, *, actor: User | None, membership: Membership | None, unit: Unit, note: str = ""
) -> Case:
    """交办: the owner unit dispatches the case to a handling unit within its own scope."""
    case = _lock(case)
    _require(Action.ASSIGN, case, membership)
    note = _reason(note, required=False, field_name="note")
    # Within the owner's area. The handler need not cover the case's region (a town case given
    # to a village committee): ``visible_to`` lets a unit see the cases it handles.
    if not (unit.is_active and unit.region_code.startswith(case.owner_unit.scope_prefix)):
        raise WorkflowError(
            "unit_out_of_scope",
            _("Cases can only be assigned to active units within your own area."),
            field="unit",
        )
    now, before = timezone.now(), case.status
    case.status = Status.ASSIGNED
    case.handler_unit = unit
    fields = ["status", "handler_unit", "updated_at"]
    if case.handle_due_at is None:
        _start_handling_clock(case, now)
        fields += ["handle_due_at", "handle_red_at"]
    case.save(update_fields=fields)
    _record(
        case,
        Action.ASSIGN,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        reason=note,
        from_unit=case.owner_unit,
        to_unit=unit,
    )
    _notify(
        unit,
        case,
        kind="case.assigned",
        title=_("Case %(code)s was assigned to your unit") % {"code": case.code},
    )
    return case


@transaction.atomic
def sign_case(case: Case, *, actor: User | None, membership: Membership | None) -> Case:
    """签收: the handler unit signs for the case (or the owner handles it itself)."""
    case = _lock(case)
    _require(Action.SIGN, case, membership)
    now, before = timezone.now(), case.status
    if case.status == Status.ACCEPTED:
        case.handler_unit = case.owner_unit
    case.status = Status.IN_PROGRESS
    case.save(update_fields=["status", "handler_unit", "updated_at"])
    _record(
        case,
        Action.SIGN,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        level=case.handler_unit.level,
    )
    return case


@transaction.atomic
def return_case(
    case: Case, *, actor: User | None, membership: Membership | None, reason: str
) -> Case:
    """退回: not ours. A handler hands the case back to the owner (→ accepted); an owner that
    received it at intake sends it one level up for re-routing (stays reported)."""
    case = _lock(case)
    _require(Action.RETURN, case, membership)
    reason = _reason(reason)
    now, before = timezone.now(), case.status
    if case.status == Status.REPORTED:
        previous = case.owner_unit
        target = routing.escalation_target(case)
        case.owner_unit, case.level = target, target.level
        _start_accept_clock(case, now)
        case.save(update_fields=["owner_unit", "level", *CLOCK_FIELDS[:2], "updated_at"])
        _record(
            case,
            Action.RETURN,
            from_status=before,
            actor=actor,
            membership=membership,
            at=now,
            reason=reason,
            from_unit=previous,
            to_unit=target,
        )
        _notify(
            target,
            case,
            kind="case.returned",
            title=_("Case %(code)s was passed up to your unit") % {"code": case.code},
        )
        return case
    previous = case.handler_unit
    case.status = Status.ACCEPTED
    case.handler_unit = None
    case.save(update_fields=["status", "handler_unit", "updated_at"])
    _record(
        case,
        Action.RETURN,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        reason=reason,
        from_unit=previous,
        to_unit=case.owner_unit,
    )
    _notify(
        case.owner_unit,
        case,
        kind="case.returned",
        title=_("Case %(code)s was returned to your unit") % {"code": case.code},
    )
    return case


@transaction.atomic
def escalate_case(
    case: Case,
    *,
    actor: User | None,
    membership: Membership | None,
    reason: str = "",
    skip: bool = False,
    target_level: str | None = None,
) -> Case:
    """上报 one level up, or 越级上报 past a level (``skip`` or a named ``target_level``; a reason
    is then required). The case goes to the target level's triage unit, which must accept it."""
    case = _lock(case)
    one_up = routing.parent_level(Level.VILLAGE if case.level == Level.GRID else case.level)
    skipping = skip or (target_level is not None and target_level != one_up)
    action = Action.ESCALATE_SKIP if skipping else Action.ESCALATE
    _require(action, case, membership)
    reason = _reason(reason, required=skipping)
    target = routing.escalation_target(case, skip=skip, target_level=target_level)
    now, before = timezone.now(), case.status
    previous_owner, previous_level = case.owner_unit, case.level
    acting_level = _acting_level(case, membership)
    case.status = Status.REPORTED
    case.owner_unit, case.level = target, target.level
    case.handler_unit = None
    _start_accept_clock(case, now)
    # A new owner accepts afresh and its handling clock starts at that acceptance.
    case.handle_due_at = case.handle_red_at = None
    case.extension_days_requested, case.extension_reason = None, ""
    case.save(
        update_fields=[
            "status",
            "owner_unit",
            "level",
            "handler_unit",
            *CLOCK_FIELDS,
            "extension_days_requested",
            "extension_reason",
            "updated_at",
        ]
    )
    change = _record(
        case,
        action,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        level=acting_level,
        reason=reason,
        detail={"from_level": previous_level, "to_level": target.level},
        from_unit=previous_owner,
        to_unit=target,
    )
    _notify(
        target,
        case,
        kind="case.escalated",
        title=_("Case %(code)s was escalated to your unit") % {"code": case.code},
        dedupe=f"case-escalated:{case.pk}:{change.pk}",
    )
    return case


@transaction.atomic
def request_extension(
    case: Case, *, actor: User | None, membership: Membership | None, days: int, reason: str
) -> Case:
    """申请延期: the handler asks the owner unit for more days, with reasons."""
    case = _lock(case)
    _require(Action.REQUEST_EXTENSION, case, membership)
    reason = _reason(reason)
    if not isinstance(days, int) or not 1 <= days <= case.clock_policy.max_extension_days:
        raise WorkflowError(
            "invalid_extension",
            _("An extension is 1 to %(n)d days.") % {"n": case.clock_policy.max_extension_days},
            field="days",
        )
    now = timezone.now()
    case.extension_days_requested, case.extension_reason = days, reason[:500]
    case.save(update_fields=["extension_days_requested", "extension_reason", "updated_at"])
    _record(
        case,
        Action.REQUEST_EXTENSION,
        from_status=case.status,
        actor=actor,
        membership=membership,
        at=now,
        reason=reason,
        detail={"days": days},
        to_unit=case.owner_unit,
    )
    _notify(
        case.owner_unit,
        case,
        kind="case.extension_requested",
        title=_("Case %(code)s: an extension was requested") % {"code": case.code},
    )
    return case


@transaction.atomic
def decide_extension(
    case: Case,
    *,
    actor: User | None,
    membership: Membership | None,
    approve: bool,
    reason: str = "",
) -> Case:
    """The owner unit approves (both handling limits move later) or declines (with a reason)."""
    case = _lock(case)
    action = Action.APPROVE_EXTENSION if approve else Action.DECLINE_EXTENSION
    _check(action, case)
    if case.extension_days_requested is None:
        raise WorkflowError("no_extension_requested", _("No extension has been requested."))
    _require(action, case, membership)
    reason = _reason(reason, required=not approve)
    now, days = timezone.now(), case.extension_days_requested
    fields = ["extension_days_requested", "extension_reason", "updated_at"]
    detail: dict = {"days": days}
    if approve and case.handle_due_at is not None:
        pushed = clocks.extended(
            case.clock_policy, clocks.Deadlines(case.handle_due_at, case.handle_red_at), days
        )
        detail["old_due"] = case.handle_due_at.isoformat()
        case.handle_due_at, case.handle_red_at = pushed.due, pushed.red
        detail["new_due"] = case.handle_due_at.isoformat()
        fields += ["handle_due_at", "handle_red_at"]
    case.extension_days_requested, case.extension_reason = None, ""
    case.save(update_fields=fields)
    _record(
        case,
        action,
        from_status=case.status,
        actor=actor,
        membership=membership,
        at=now,
        reason=reason,
        detail=detail,
        to_unit=case.handler_unit,
    )
    _notify(
        case.handler_unit,
        case,
        kind="case.extension_decided",
        title=(
            _("Case %(code)s: the extension was approved")
            if approve
            else _("Case %(code)s: the extension was declined")
        )
        % {"code": case.code},
    )
    return case


@transaction.atomic
def suspend_case(
    case: Case, *, actor: User | None, membership: Membership | None, reason: str
) -> Case:
    """挂起: the handling clock stops until the case is resumed."""
    case = _lock(case)
    _require(Action.SUSPEND, case, membership)
    reason = _reason(reason)
    now, before = timezone.now(), case.status
    case.status, case.status_before_suspend, case.paused_at = Status.SUSPENDED, before, now
    case.save(update_fields=["status", "status_before_suspend", "paused_at", "updated_at"])
    _record(
        case,
        Action.SUSPEND,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        reason=reason,
    )
    return case


@transaction.atomic
def resume_case(case: Case, *, actor: User | None, membership: Membership | None) -> Case:
    """Resume a suspended case; both handling limits move later by the time it was paused."""
    case = _lock(case)
    _require(Action.RESUME, case, membership)
    now, before = timezone.now(), case.status
    paused_for = max(now - (case.paused_at or now), timedelta(0))
    if case.handle_due_at is not None:
        pushed = clocks.resumed(
            clocks.Deadlines(case.handle_due_at, case.handle_red_at), paused_for
        )
        case.handle_due_at, case.handle_red_at = pushed.due, pushed.red
    case.status = case.status_before_suspend or Status.IN_PROGRESS
    case.paused_seconds += int(paused_for.total_seconds())
    case.paused_at, case.status_before_suspend = None, ""
    case.save(
        update_fields=[
            "status",
            "paused_at",
            "paused_seconds",
            "status_before_suspend",
            "handle_due_at",
            "handle_red_at",
            "updated_at",
        ]
    )
    _record(
        case,
        Action.RESUME,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        detail={"paused_seconds": int(paused_for.total_seconds())},
    )
    return case


@transaction.atomic
def submit_feedback(
    case: Case,
    *,
    actor: User | None,
    membership: Membership | None,
    method: str,
    resolved: bool,
    summary: str,
) -> Case:
    """办结反馈: the handler reports the outcome; the owner unit verifies it next."""
    case = _lock(case)
    _require(Action.FEEDBACK, case, membership)
    if method not in ClosureMethod.values:
        raise WorkflowError(
            "invalid_method", _("Choose how the case was resolved."), field="method"
        )
    summary = (summary or "").strip()
    if not summary or len(summary) > MAX_SUMMARY:
        raise WorkflowError(
            "summary_required",
            _("Describe the outcome (up to %(n)d characters).") % {"n": MAX_SUMMARY},
            field="summary",
        )
    now, before = timezone.now(), case.status
    case.status = Status.PENDING_VERIFY
    case.closure_method, case.resolved, case.closure_summary = method, bool(resolved), summary
    case.save(
        update_fields=["status", "closure_method", "resolved", "closure_summary", "updated_at"]
    )
    _record(
        case,
        Action.FEEDBACK,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        level=case.handler_unit.level,
        on_time=clocks.on_time(now, case.handle_due_at),
        detail={"method": method, "resolved": bool(resolved)},
        to_unit=case.owner_unit,
    )
    return case


@transaction.atomic
def verify_case(
    case: Case, *, actor: User | None, membership: Membership | None, passed: bool, reason: str = ""
) -> Case:
    """核查: pass closes the case (结案) and schedules the follow-up visit; fail (驳回) sends it
    back to the handler with a reason."""
    case = _lock(case)
    action = Action.VERIFY_PASS if passed else Action.VERIFY_FAIL
    _require(action, case, membership)
    reason = _reason(reason, required=not passed)
    now, before = timezone.now(), case.status
    handler = case.handler_unit or case.owner_unit
    if not passed:
        case.status = Status.IN_PROGRESS
        case.save(update_fields=["status", "updated_at"])
        _record(
            case,
            action,
            from_status=before,
            actor=actor,
            membership=membership,
            at=now,
            reason=reason,
            to_unit=handler,
        )
        _notify(
            handler,
            case,
            kind="case.verify_failed",
            title=_("Case %(code)s did not pass verification") % {"code": case.code},
        )
        return case
    case.status = Status.CLOSED
    case.closed_at = now
    case.visit_due_at = clocks.visit_due(case.clock_policy, now)
    case.visited_at = case.visit_notified_at = None
    case.save(
        update_fields=[
            "status",
            "closed_at",
            "visit_due_at",
            "visited_at",
            "visit_notified_at",
            "updated_at",
        ]
    )
    # The level that resolved it is the handler's: what "resolved at village level" reads.
    _record(
        case,
        action,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        level=handler.level,
        on_time=clocks.on_time(now, case.handle_due_at),
        reason=reason,
        detail={"resolved": bool(case.resolved), "method": case.closure_method},
        to_unit=handler,
    )
    _award_on_time_point(case, handler, now)
    return case


def _award_on_time_point(case: Case, handler: Unit, now: datetime) -> None:
    """+1 to the handler when its last feedback met the deadline (once per case and unit)."""
    feedback = (
        StatusChange.objects.filter(case=case, action=Action.FEEDBACK)
        .order_by("-at", "-id")
        .values_list("on_time", flat=True)
        .first()
    )
    if not feedback:
        return
    PointEntry.objects.bulk_create(
        [
            PointEntry(
                unit=handler,
                case=case,
                reason=PointEntry.Reason.ON_TIME,
                points=case.clock_policy.points_on_time,
                at=now,
                region_code=case.region_code,
            )
        ],
        ignore_conflicts=True,
    )


@transaction.atomic
def evaluate_case(
    case: Case,
    *,
    satisfaction: int,
    comment: str = "",
    channel: str,
    actor: User | None = None,
    membership: Membership | None = None,
) -> Case:
    """评价: the citizen (on the tracking page, after the token was checked by the caller) or the
    owner unit (at a visit or by phone) rates the outcome, 1–5."""
    case = _lock(case)
    _check(Action.EVALUATE, case)
    if membership is not None and not _who_may(Action.EVALUATE, case, membership):
        raise WorkflowError(
            "not_your_unit", _("Your unit cannot do this on this case at this point.")
        )
    if channel not in EvaluationChannel.values:
        raise WorkflowError("invalid_channel", _("Unknown evaluation channel."), field="channel")
    if (
        not isinstance(satisfaction, int)
        or isinstance(satisfaction, bool)
        or not (1 <= satisfaction <= 5)
    ):
        raise WorkflowError("invalid_rating", _("Give a rating from 1 to 5."), field="satisfaction")
    comment = (comment or "").strip()
    if len(comment) > 1000:
        raise WorkflowError("too_long", _("Keep the comment to 1,000 characters."), field="comment")
    now, before = timezone.now(), case.status
    case.status = Status.EVALUATED
    case.satisfaction, case.evaluation_comment = satisfaction, comment
    case.evaluation_channel, case.evaluated_at = channel, now
    case.save(
        update_fields=[
            "status",
            "satisfaction",
            "evaluation_comment",
            "evaluation_channel",
            "evaluated_at",
            "updated_at",
        ]
    )
    _record(
        case,
        Action.EVALUATE,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        detail={"satisfaction": satisfaction, "channel": channel},
    )
    return case


@transaction.atomic
def record_visit(
    case: Case,
    *,
    actor: User | None,
    membership: Membership | None,
    satisfaction: int | None,
    comment: str,
) -> Case:
    """回访: the owner unit records the follow-up visit; a rating given there evaluates the case."""
    case = _lock(case)
    _require(Action.VISIT, case, membership)
    if satisfaction is not None and case.status != Status.CLOSED:
        raise WorkflowError("already_evaluated", _("This case has already been rated."))
    if satisfaction is not None and not (isinstance(satisfaction, int) and 1 <= satisfaction <= 5):
        raise WorkflowError("invalid_rating", _("Give a rating from 1 to 5."), field="satisfaction")
    comment = _reason(comment, required=False, field_name="comment")
    now = timezone.now()
    case.visited_at = now
    case.save(update_fields=["visited_at", "updated_at"])
    _record(
        case,
        Action.VISIT,
        from_status=case.status,
        actor=actor,
        membership=membership,
        at=now,
        reason=comment,
        detail={"rated": satisfaction is not None},
    )
    if satisfaction is not None:
        case = evaluate_case(
            case,
            satisfaction=satisfaction,
            comment=comment,
            channel=EvaluationChannel.VISIT,
            actor=actor,
            membership=membership,
        )
    return case


@transaction.atomic
def reopen_case(
    case: Case, *, actor: User | None, membership: Membership | None, reason: str
) -> Case:
    """重新办理: a closed, rated or rejected case goes back to the owner, accepted, with a fresh
    handling clock."""
    case = _lock(case)
    _require(Action.REOPEN, case, membership)
    reason = _reason(reason)
    now, before = timezone.now(), case.status
    case.status = Status.ACCEPTED
    case.handler_unit = None
    _start_handling_clock(case, now)
    case.closure_method, case.resolved, case.closure_summary = "", None, ""
    case.closed_at = case.visit_due_at = case.visited_at = case.visit_notified_at = None
    case.satisfaction, case.evaluation_comment = None, ""
    case.evaluation_channel, case.evaluated_at = "", None
    case.save(
        update_fields=[
            "status",
            "handler_unit",
            "handle_due_at",
            "handle_red_at",
            "closure_method",
            "resolved",
            "closure_summary",
            "closed_at",
            "visit_due_at",
            "visited_at",
            "visit_notified_at",
            "satisfaction",
            "evaluation_comment",
            "evaluation_channel",
            "evaluated_at",
            "updated_at",
        ]
    )
    _record(
        case,
        Action.REOPEN,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        reason=reason,
        to_unit=case.owner_unit,
    )
    _notify(
        case.owner_unit,
        case,
        kind="case.reopened",
        title=_("Case %(code)s was reopened") % {"code": case.code},
    )
    return case


@transaction.atomic
def reject_case(
    case: Case, *, actor: User | None, membership: Membership | None, reason: str
) -> Case:
    """不予受理: not a matter for the platform; the citizen sees the reason."""
    case = _lock(case)
    _require(Action.REJECT, case, membership)
    reason = _reason(reason)
    now, before = timezone.now(), case.status
    case.status = Status.REJECTED
    case.save(update_fields=["status", "updated_at"])
    _record(
        case,
        Action.REJECT,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        reason=reason,
    )
    return case


@transaction.atomic
def supervise_case(
    case: Case, *, actor: User | None, membership: Membership | None, level: int, reason: str
) -> Case:
    """督办 by hand from a level above: supervised, yellow or red card. Supervision only rises."""
    case = _lock(case)
    _require(Action.SUPERVISE, case, membership)
    reason = _reason(reason)
    if level not in (Supervision.NORMAL, Supervision.YELLOW, Supervision.RED):
        raise WorkflowError("invalid_supervision", _("Choose a supervision level."), field="level")
    if level <= case.supervision:
        raise WorkflowError(
            "already_supervised",
            _("The case is already supervised at this level or higher."),
            field="level",
        )
    now, previous = timezone.now(), case.supervision
    case.supervision, case.supervised_by = level, membership.unit
    case.save(update_fields=["supervision", "supervised_by", "updated_at"])
    _record(
        case,
        Action.SUPERVISE,
        from_status=case.status,
        actor=actor,
        membership=membership,
        at=now,
        reason=reason,
        detail={"from": previous, "to": level},
    )
    title = _("Case %(code)s is under supervision (%(level)s)") % {
        "code": case.code,
        "level": Supervision(level).label,
    }
    for unit in {case.owner_unit, case.handler_unit} - {None}:
        _notify(unit, case, kind="case.supervised", title=title)
    return case


def _town_code(case: Case) -> str | None:
    return case.region_code[:9] if len(case.region_code) >= 9 else None


def _notify_violence_risk(case: Case) -> None:
    """人民调解法 art. 25: report at once to the police and to the town's command room (the
    county's public security bureau and centre when no town is known)."""
    town = _town_code(case)
    if town is not None:
        wanted = [(town, UnitKind.POLICE_STATION), (town, UnitKind.COMMAND_ROOM)]
    else:
        county = case.region_code[:6]
        wanted = [
            (county, UnitKind.PUBLIC_SECURITY_BUREAU),
            (county, UnitKind.GOVERNANCE_CENTRE),
        ]
    units = Unit.objects.active().filter(
        region_code__in={code for code, _kind in wanted}, kind__in={kind for _code, kind in wanted}
    )
    title = _("Case %(code)s may turn violent: act now (People's Mediation Law art. 25)") % {
        "code": case.code
    }
    for unit in units:
        _notify(
            unit,
            case,
            kind="case.violence_risk",
            title=title,
            dedupe=f"case-violence:{case.pk}:{unit.pk}",
        )


@transaction.atomic
def mark_may_turn_violent(
    case: Case, *, actor: User | None, membership: Membership | None, reason: str
) -> Case:
    """Flag an open dispute as likely to turn violent and tell the police and the town centre."""
    case = _lock(case)
    _check(Action.RISK_FLAG, case)
    if case.may_turn_violent:
        raise WorkflowError("already_flagged", _("This case is already marked and reported."))
    _require(Action.RISK_FLAG, case, membership)
    reason = _reason(reason)
    now = timezone.now()
    case.may_turn_violent = True
    case.save(update_fields=["may_turn_violent", "updated_at"])
    _record(
        case,
        Action.RISK_FLAG,
        from_status=case.status,
        actor=actor,
        membership=membership,
        at=now,
        reason=reason,
    )
    _notify_violence_risk(case)
    return case


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


def _store_attachment(
    case: Case,
    *,
    actor: User | None,
    membership: Membership | None,
    upload: UploadedFile,
    is_public: bool,
) -> Attachment:
    """Check, clean and store one file on ``case`` (the caller holds the case row)."""
    from fengqiao.cases.attachments import check_and_clean

    try:
        clean = check_and_clean(upload)
    except ValidationError as error:
        raise WorkflowError(
            error.code or "invalid_file", " ".join(error.messages), field="upload"
        ) from error
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
        case, actor=actor, membership=membership, upload=upload, is_public=is_public
    )


# --- reads with rules ---------------------------------------------------------------------------


def available_actions(case: Case, membership: Membership | None) -> list[str]:
    """The actions this membership may take on the case now (pages show only these buttons)."""
    if membership is None:
        return []
    actions = []
    for action in TRANSITIONS:
        if action in (Action.CARD, Action.ARCHIVE, Action.CLOSE):
            continue  # the clock's, and not offered by hand
        if not can(action, case.status):
            continue
        if action == Action.RISK_FLAG and case.kind != CaseKind.DISPUTE:
            continue
        if _who_may(action, case, membership):
            actions.append(str(action))
    return actions


def check_tracking_token(case: Case, token: str) -> bool:
    """Whether ``token`` is this case's tracking token (constant-time)."""
    return codes.tracking_token_matches(case.tracking_token_hash, token or "")


def same_party_cases(case: Case, *, membership: Membership | None) -> QuerySet[Case]:
    """Other open cases this membership may see that share a party's ID number or phone
    (blind-index match, nothing decrypted)."""
    indexes = Party.objects.filter(case=case).values_list("id_number_index", "phone_index")
    id_indexes = {id_index for id_index, _phone in indexes if id_index}
    phone_indexes = {phone for _id, phone in indexes if phone}
    if not id_indexes and not phone_indexes:
        return Case.objects.none()
    match = Q()
    if id_indexes:
        match |= Q(parties__id_number_index__in=id_indexes)
    if phone_indexes:
        match |= Q(parties__phone_index__in=phone_indexes)
    return (
        Case.objects.visible_to(membership)
        .open()
        .exclude(pk=case.pk)
        .filter(match)
        .distinct()
        .order_by("-reported_at", "-id")
    )


def reveal_party_field(
    party: Party, *, actor: User | None, membership: Membership | None, field: str
) -> str:
    """The unmasked value of one field, for roles that may reveal it; every reveal is audited,
    and so is every refusal (not atomic on purpose: the refusal's audit event must stay)."""
    if field not in REVEALABLE_FIELDS:
        raise WorkflowError("invalid_field", _("This field cannot be revealed."), field="field")
    case = party.case
    if not (_visible(case, membership) and membership.can(Cap.CASES_REVEAL)):
        audit.record(
            "cases.reveal_party_field",
            actor=actor,
            membership=membership,
            obj=case,
            outcome="denied",
            detail={"party": str(party.public_id), "field": field},
        )
        raise WorkflowError("not_allowed", _("Your role cannot see this information."))
    value = getattr(party, field) or ""
    audit.record(
        "cases.reveal_party_field",
        actor=actor,
        membership=membership,
        obj=case,
        detail={"code": case.code, "party": str(party.public_id), "field": field},
    )
    return value
