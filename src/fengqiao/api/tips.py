"""The tip line over the JSON API: the reporter's routes (no account) and the handlers' routes.

Reporter (``auth=None``; ``tips.middleware`` strips address, agent and session first):
``POST /tips`` files a tip and answers ``{"receipt": …}`` (honours ``Idempotency-Key``);
``POST /tips/lookup`` reads status and messages with the receipt; ``…/lookup/reply`` answers or
adds material; ``…/lookup/opinion`` gives the reporter's opinion. Every bad receipt gets the same
404 ``receipt_not_recognised``. Rate limits fail closed (429).

Handlers (token or verified session, ``tips.handle``): every lookup goes through
``Tip.objects.visible_to(request.membership)`` — assignment, not region — so anything else is a
404. One endpoint per workflow step, each calling one service and answering the tip as it is now
(opening it, which is audited). Statistics need ``tips.statistics``; operator intake
``tips.intake``. (No ``from __future__ import annotations``: ninja reads annotations at runtime.)
"""

import base64
import binascii
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Header, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import Status as Answer

from fengqiao.accounts.roles import Cap
from fengqiao.api.auth import requires
from fengqiao.api.errors import ApiError
from fengqiao.api.schemas import ErrorOut, StrictSchema
from fengqiao.core import idempotency, ratelimit
from fengqiao.regions.models import Unit
from fengqiao.tips import attachments as files
from fengqiao.tips import policy, services
from fengqiao.tips.models import (
    Card,
    Category,
    Channel,
    Disposal,
    Opinion,
    RevealRequest,
    Status,
    Tip,
    TipAttachment,
    Verification,
)

router = Router(tags=["tips"])

MAX_PAGE = 100
# Anonymous Idempotency-Keys share one scope: a short, guessable key could replay another
# reporter's answer (their receipt) to whoever sends the same body with it.
MIN_ANONYMOUS_KEY = 16
CONFLICT_CODES = frozenset(
    {"invalid_transition", "not_your_step", "tip_closed", "target_closed", "no_opinion_now"}
)
ERRORS = {404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
PUBLIC_ERRORS = {404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}


# --- schemas: the reporter ----------------------------------------------------------------


class AttachmentIn(StrictSchema):
    filename: str = Field("", max_length=200, description="Not stored; used in error messages")
    content_base64: str = Field(description="The file, base64-encoded (pictures or plain text)")


class AccusedIn(StrictSchema):
    name: str = Field("", max_length=200)
    nickname: str = Field("", max_length=200)
    age: str = Field("", max_length=200)
    occupation: str = Field("", max_length=200)
    id_number: str = Field("", max_length=200, description="18-character resident ID number")
    address: str = Field("", max_length=200)
    workplace: str = Field("", max_length=200)


class TipSubmitIn(StrictSchema):
    """A tip. ``description`` and ``region_code`` are enough; everything else is optional."""

    description: str = Field(min_length=1, max_length=services.MAX_DESCRIPTION)
    region_code: str = Field(pattern=r"^[0-9]{6,15}$", description="Where: town, village or grid")
    category: Category = Category.OTHER
    place_text: str = Field("", max_length=200)
    accused: list[AccusedIn] = Field(default_factory=list, max_length=services.MAX_ACCUSED)
    officials_involved: bool = Field(False, description="Officials protect them (保护伞)")
    officials_region_code: str = Field(
        "", pattern=r"^([0-9]{6,15})?$", description="Region of the officials' unit"
    )
    officials_text: str = Field("", max_length=services.MAX_TEXT, description="Who they are")
    real_name: bool = False
    reporter_name: str = Field("", max_length=200)
    reporter_contact: str = Field("", max_length=200)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=10)


class ReceiptOut(Schema):
    receipt: str = Field(description="21 digits, grouped 4-4-4-4-4-1; shown once, never stored")


class ReceiptIn(StrictSchema):
    receipt: str = Field(max_length=64)


class ReplyIn(StrictSchema):
    receipt: str = Field(max_length=64)
    body: str = Field("", max_length=services.MAX_DESCRIPTION)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=10)


class ReporterOpinionIn(StrictSchema):
    receipt: str = Field(max_length=64)
    opinion: Literal["satisfied", "basically_satisfied", "dissatisfied"]
    comment: str = Field("", max_length=services.MAX_TEXT)


class ReporterMessageOut(Schema):
    sender: Literal["handler", "you"]
    body: str
    sent_at: datetime
    attachments: int


class ReporterTipOut(Schema):
    """What a receipt shows: status in a citizen's words and the conversation."""

    status: Status
    status_text: str
    outcome_text: str
    received_on: date
    can_reply: bool
    can_give_opinion: bool
    opinion: str
    messages: list[ReporterMessageOut]


# --- schemas: handlers --------------------------------------------------------------------


class UnitRef(Schema):
    id: UUID
    name: str
    kind: str


class TipRef(Schema):
    id: UUID
    reference: str
    status: Status
    received_at: datetime


class TipOut(Schema):
    """A tip as lists show it: no content."""

    id: UUID
    reference: str = Field(description="Short staff reference (XS-XXXX-XXXX)")
    status: Status
    status_label: str
    category: Category
    category_label: str
    channel: Channel
    region_code: str
    region_name: str
    received_at: datetime
    forward_by: date
    verify_by: date
    card: Card
    officials_involved: bool
    is_real_name: bool
    routed_unit: UnitRef | None
    discipline_unit: UnitRef | None
    assigned_unit: UnitRef | None


class AccusedOut(Schema):
    name: str
    nickname: str
    age: str
    occupation: str
    id_number: str
    address: str
    workplace: str


class AttachmentOut(Schema):
    id: UUID
    filename: str
    content_type: str
    size: int
    from_reporter: bool
    created_at: datetime


class MessageOut(Schema):
    id: UUID
    direction: str
    body: str
    author: str
    created_at: datetime
    attachments: list[AttachmentOut]


class NoteOut(Schema):
    id: UUID
    body: str
    author: str
    created_at: datetime


class EventOut(Schema):
    action: str
    action_label: str
    from_status: str
    to_status: str
    at: datetime
    actor: str
    unit: str


class TransferOut(Schema):
    id: UUID
    kind: str
    from_unit: str
    to_unit: str
    created_at: datetime
    due_by: date
    settled_at: datetime | None


class TipDetailOut(TipOut):
    """A tip opened (audited): content decrypted; a real-name reporter's identity masked."""

    description: str
    place_text: str
    officials_text: str
    reporter_name: str = Field(description="Masked; see POST /tips/{id}/reporter")
    reporter_contact: str = Field(description="Masked")
    accused: list[AccusedOut]
    messages: list[MessageOut]
    notes: list[NoteOut]
    attachments: list[AttachmentOut]
    events: list[EventOut]
    transfers: list[TransferOut]
    case_links: list[str]
    duplicates: list[TipRef]
    merged_into: TipRef | None
    first_report: TipRef | None
    rejection_reason: str
    verification: str
    verification_summary: str
    disposal: str
    disposal_unit: str
    case_charges: str
    case_opened_on: date | None
    disposal_note: str
    opinion: str
    opinion_comment: str
    allowed_actions: list[str]


class MovedOut(Schema):
    """A step that took the tip out of the caller's sight (a transfer away, officials flagged
    above the caller's office): done, and nothing more to show."""

    id: UUID
    visible: Literal[False] = False
    message: str


class TipFilter(Schema):
    status: Status | None = None
    queue: Literal["triage", "handling", "carded"] | None = Field(
        None, description="triage: waiting for your office; handling: assigned to your unit"
    )


class CandidateOut(Schema):
    tip: TipRef
    reasons: list[str] = Field(description="name, id_number, text")
    score: float = Field(description="Text similarity 0–1 (character-bigram Jaccard)")


class AcceptIn(StrictSchema):
    category: Category | None = None


class OfficialsIn(StrictSchema):
    officials_region_code: str = Field("", pattern=r"^([0-9]{6,15})?$")
    officials_text: str = Field("", max_length=services.MAX_TEXT)


class MergeIn(StrictSchema):
    into: UUID


class RejectIn(StrictSchema):
    reason: str = Field(min_length=1, max_length=services.MAX_TEXT)
    message_to_reporter: str = Field("", max_length=services.MAX_TEXT)


class UnitIn(StrictSchema):
    unit: UUID


class TransferIn(StrictSchema):
    unit: UUID
    reason: str = Field(min_length=1, max_length=services.MAX_TEXT)


class VerificationIn(StrictSchema):
    outcome: Verification
    summary: str = Field(min_length=1, max_length=services.MAX_DESCRIPTION)


class DisposalIn(StrictSchema):
    disposal: Disposal
    unit: UUID | None = None
    unit_name: str = Field("", max_length=200)
    charges: str = Field("", max_length=200)
    case_opened_on: date | None = None
    note: str = Field("", max_length=services.MAX_DESCRIPTION)


class CloseIn(StrictSchema):
    opinion: Opinion | None = Field(None, description="Recorded by the handler if not yet given")
    comment: str = Field("", max_length=services.MAX_TEXT)


class BodyIn(StrictSchema):
    body: str = Field(min_length=1, max_length=services.MAX_DESCRIPTION)


class CaseLinkIn(StrictSchema):
    case_code: str = Field(min_length=4, max_length=40)


class RevealIn(StrictSchema):
    reason: str = Field(min_length=1, max_length=services.MAX_TEXT)


class RevealDecisionIn(StrictSchema):
    approve: bool


class RevealOut(Schema):
    id: UUID
    tip: UUID
    status: str
    created_at: datetime
    decided_at: datetime | None
    expires_at: datetime | None


class ReporterIdentityOut(Schema):
    name: str
    contact: str


class OperatorIntakeIn(TipSubmitIn):
    channel: Literal["phone", "letter", "walk_in"]


class StatisticsQuery(Schema):
    region: str = Field(pattern=r"^[0-9]{6,15}$")
    start: date
    end: date


class StatisticsRowOut(Schema):
    region_code: str
    region_name: str
    counts: dict[str, int | None] = Field(description="None: 1 or 2, suppressed")
    rates: dict[str, float | None]


class StatisticsOut(Schema):
    region_code: str
    region_name: str
    start: date
    end: date
    rows: list[StatisticsRowOut]
    total: StatisticsRowOut


# --- helpers ------------------------------------------------------------------------------


def _invalid(exc: ValidationError) -> ApiError:
    errors = []
    for field, messages in getattr(exc, "message_dict", {"": exc.messages}).items():
        for message in messages:
            errors.append({"field": field, "code": "invalid", "message": str(message)})
    return ApiError(
        code="validation_error", message=_("The request has errors."), status=422, errors=errors
    )


def _refused(exc: services.TipRefused) -> ApiError:
    return ApiError(
        code=exc.code, message=exc.message, status=409 if exc.code in CONFLICT_CODES else 422
    )


def _not_recognised() -> ApiError:
    return ApiError(
        code="receipt_not_recognised",
        message=_("This receipt is not recognised. Check the 21 digits and try again."),
        status=404,
    )


def _incoming(items: list[AttachmentIn]) -> list[files.IncomingFile]:
    incoming = []
    for index, item in enumerate(items):
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError(
                code="validation_error",
                message=_("The request has errors."),
                status=422,
                errors=[
                    {
                        "field": f"attachments[{index}].content_base64",
                        "code": "invalid_base64",
                        "message": _("Not valid base64."),
                    }
                ],
            ) from exc
        incoming.append(files.IncomingFile(filename=item.filename, content=content))
    return incoming


def _submit_kwargs(payload: TipSubmitIn) -> dict[str, Any]:
    return {
        "description": payload.description,
        "region_code": payload.region_code,
        "category": payload.category,
        "place_text": payload.place_text,
        "accused": [services.AccusedInput(**item.model_dump()) for item in payload.accused],
        "officials_involved": payload.officials_involved,
        "officials_region_code": payload.officials_region_code,
        "officials_text": payload.officials_text,
        "is_real_name": payload.real_name,
        "reporter_name": payload.reporter_name,
        "reporter_contact": payload.reporter_contact,
        "attachments": _incoming(payload.attachments),
    }


def _idempotent(*, scope: str, key: str | None, payload: Any, create: Callable) -> Answer:
    try:
        status, body = idempotency.run(scope=scope, key=key, payload=payload, create=create)
    except idempotency.InvalidIdempotencyKey as exc:
        raise ApiError(
            code="invalid_idempotency_key",
            message=_("The Idempotency-Key header must be 1 to 200 characters."),
            status=422,
        ) from exc
    except idempotency.IdempotencyConflict as exc:
        raise ApiError(
            code="idempotency_conflict",
            message=_("This Idempotency-Key was already used with a different request body."),
            status=422,
        ) from exc
    except ValidationError as exc:
        raise _invalid(exc) from exc
    except services.TipRefused as exc:
        raise _refused(exc) from exc
    return Answer(status, body)


def _limited(*limits: tuple[ratelimit.Limit, str]) -> HttpResponse | None:
    for limit, key in limits:
        try:
            ratelimit.hit(limit, key=key)
        except ratelimit.RateLimited as exc:
            return ratelimit.refused_response(exc)
    return None


def _reporter(call: Callable[[], services.ReporterView]) -> dict[str, Any]:
    try:
        view = call()
    except services.ReceiptNotRecognised as exc:
        raise _not_recognised() from exc
    except ValidationError as exc:
        raise _invalid(exc) from exc
    except services.TipRefused as exc:
        raise _refused(exc) from exc
    return {
        "status": view.status,
        "status_text": view.status_text,
        "outcome_text": view.outcome_text,
        "received_on": view.received_on,
        "can_reply": view.can_reply,
        "can_give_opinion": view.can_give_opinion,
        "opinion": view.opinion,
        "messages": [
            {
                "sender": m.sender,
                "body": m.body,
                "sent_at": m.sent_at,
                "attachments": m.attachments,
            }
            for m in view.messages
        ],
    }


def _lookup_limits(receipt: str) -> HttpResponse | None:
    return _limited(
        (policy.lookup_limit(), "global"),
        (policy.lookup_per_receipt_limit(), services.receipt_bucket(receipt)),
    )


def _unit_ref(unit: Unit | None) -> dict[str, Any] | None:
    if unit is None:
        return None
    return {"id": unit.public_id, "name": unit.name, "kind": unit.kind}


def _tip_ref(tip: Tip | None) -> dict[str, Any] | None:
    if tip is None:
        return None
    return {
        "id": tip.public_id,
        "reference": tip.reference,
        "status": tip.status,
        "received_at": tip.received_at,
    }


def _tip_out(tip: Tip) -> dict[str, Any]:
    return {
        "id": tip.public_id,
        "reference": tip.reference,
        "status": tip.status,
        "status_label": str(tip.get_status_display()),
        "category": tip.category,
        "category_label": str(tip.get_category_display()),
        "channel": tip.channel,
        "region_code": tip.region_code,
        "region_name": tip.region.full_name or tip.region.display_name,
        "received_at": tip.received_at,
        "forward_by": tip.triage_by,
        "verify_by": tip.verify_by,
        "card": tip.card,
        "officials_involved": tip.officials_involved,
        "is_real_name": tip.is_real_name,
        "routed_unit": _unit_ref(tip.routed_unit),
        "discipline_unit": _unit_ref(tip.discipline_unit),
        "assigned_unit": _unit_ref(tip.assigned_unit),
    }


def _attachment_out(info: services.AttachmentInfo) -> dict[str, Any]:
    return {
        "id": info.public_id,
        "filename": info.filename,
        "content_type": info.content_type,
        "size": info.size,
        "from_reporter": info.from_reporter,
        "created_at": info.created_at,
    }


def _person(user) -> str:
    return (user.full_name or user.username) if user is not None else ""


def _detail(dossier: services.Dossier) -> dict[str, Any]:
    tip = dossier.tip
    return {
        **_tip_out(tip),
        "description": dossier.description,
        "place_text": dossier.place_text,
        "officials_text": dossier.officials_text,
        "reporter_name": dossier.reporter_name_masked,
        "reporter_contact": dossier.reporter_contact_masked,
        "accused": [a.__dict__ for a in dossier.accused],
        "messages": [
            {
                "id": m.public_id,
                "direction": m.direction,
                "body": m.body,
                "author": m.author,
                "created_at": m.created_at,
                "attachments": [_attachment_out(a) for a in m.attachments],
            }
            for m in dossier.messages
        ],
        "notes": [
            {"id": n.public_id, "body": n.body, "author": n.author, "created_at": n.created_at}
            for n in dossier.notes
        ],
        "attachments": [_attachment_out(a) for a in dossier.attachments],
        "events": [
            {
                "action": e.action,
                "action_label": str(e.get_action_display()),
                "from_status": e.from_status,
                "to_status": e.to_status,
                "at": e.at,
                "actor": _person(e.actor),
                "unit": e.unit.name if e.unit else "",
            }
            for e in dossier.events
        ],
        "transfers": [
            {
                "id": t.public_id,
                "kind": t.kind,
                "from_unit": t.from_unit.name if t.from_unit else "",
                "to_unit": t.to_unit.name,
                "created_at": t.created_at,
                "due_by": t.due_by,
                "settled_at": t.settled_at,
            }
            for t in dossier.transfers
        ],
        "case_links": dossier.case_links,
        "duplicates": [_tip_ref(d) for d in dossier.duplicates],
        "merged_into": _tip_ref(tip.merged_into),
        "first_report": _tip_ref(tip.first_report),
        "rejection_reason": dossier.rejection_reason,
        "verification": tip.verification,
        "verification_summary": dossier.verification_summary,
        "disposal": tip.disposal,
        "disposal_unit": tip.disposal_unit.name if tip.disposal_unit else tip.disposal_unit_name,
        "case_charges": tip.case_charges,
        "case_opened_on": tip.case_opened_on,
        "disposal_note": dossier.disposal_note,
        "opinion": tip.opinion,
        "opinion_comment": dossier.opinion_comment,
        "allowed_actions": dossier.allowed_actions,
    }


def _scoped(request: HttpRequest):
    return Tip.objects.visible_to(request.membership).select_related(
        "region", "routed_unit", "discipline_unit", "assigned_unit"
    )


def _visible_tip(request: HttpRequest, public_id: UUID) -> Tip:
    tip = _scoped(request).filter(public_id=public_id).first()
    if tip is None:
        raise Http404
    return tip


def _opened(request: HttpRequest, public_id: UUID) -> dict[str, Any]:
    tip = _visible_tip(request, public_id)
    try:
        return _detail(services.open_tip(tip, membership=request.membership))
    except services.TipNotFound as exc:
        raise Http404 from exc


def _step(request: HttpRequest, public_id: UUID, call: Callable[[Tip], Any]) -> dict[str, Any]:
    """Fetch the tip in scope, run one service, answer the tip as it is now (if still visible)."""
    tip = _visible_tip(request, public_id)
    try:
        call(tip)
    except services.TipNotFound as exc:
        raise Http404 from exc
    except ValidationError as exc:
        raise _invalid(exc) from exc
    except services.TipRefused as exc:
        raise _refused(exc) from exc
    if not _scoped(request).filter(public_id=public_id).exists():
        message = _("Done. The tip has moved to another unit and is no longer shown to you.")
        return Answer(202, {"id": public_id, "visible": False, "message": message})
    return _opened(request, public_id)


def _unit_field(public_id: UUID | None, field: str = "unit") -> Unit | None:
    if public_id is None:
        return None
    unit = Unit.objects.active().filter(public_id=public_id).first()
    if unit is None:
        message = _("No such unit.")
        raise ApiError(
            code="unit_not_found",
            message=message,
            status=422,
            errors=[{"field": field, "code": "unit_not_found", "message": message}],
        )
    return unit


def _who(request: HttpRequest) -> dict[str, Any]:
    return {"membership": request.membership}


class TipPages(LimitOffsetPagination):
    """Limit and offset, at most MAX_PAGE tips a page (more is a 422, not a silent cut)."""

    class Input(Schema):
        limit: int = Field(50, ge=1, le=MAX_PAGE)
        offset: int = Field(0, ge=0)


class _Rendered:
    """A queryset the paginator can count and slice, whose items come out rendered."""

    def __init__(self, queryset) -> None:
        self.queryset = queryset

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        return [_tip_out(tip) for tip in self.queryset[window]]


# --- the reporter's routes ----------------------------------------------------------------


@router.post(
    "/tips",
    auth=None,
    response={201: ReceiptOut, **PUBLIC_ERRORS},
    summary="File a tip without an account; answers the receipt once (honours Idempotency-Key)",
)
def tip_submit(
    request: HttpRequest,
    payload: TipSubmitIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    if idempotency_key is not None and len(idempotency_key.strip()) < MIN_ANONYMOUS_KEY:
        raise ApiError(
            code="invalid_idempotency_key",
            message=_("Use a random Idempotency-Key of at least 16 characters (a UUID)."),
            status=422,
        )
    if refused := _limited((policy.submit_limit(), "global")):
        return refused

    def create() -> tuple[int, dict[str, Any]]:
        submission = services.submit_tip(channel=Channel.API, **_submit_kwargs(payload))
        return 201, {"receipt": submission.receipt}

    return _idempotent(
        scope="tips.submit:anonymous",
        key=idempotency_key,
        payload=payload.model_dump(mode="json"),
        create=create,
    )


@router.post(
    "/tips/lookup",
    auth=None,
    response={200: ReporterTipOut, **PUBLIC_ERRORS},
    summary="The reporter reads status and messages with the receipt",
)
def tip_lookup(request: HttpRequest, payload: ReceiptIn):
    if refused := _lookup_limits(payload.receipt):
        return refused
    return _reporter(lambda: services.lookup_tip(payload.receipt))


@router.post(
    "/tips/lookup/reply",
    auth=None,
    response={201: ReporterTipOut, **PUBLIC_ERRORS},
    summary="The reporter answers a handler or adds material while the tip is open",
)
def tip_reply(request: HttpRequest, payload: ReplyIn):
    if refused := _lookup_limits(payload.receipt):
        return refused
    incoming = _incoming(payload.attachments)
    body = _reporter(
        lambda: services.reply_as_reporter(
            receipt=payload.receipt, body=payload.body, attachments=incoming
        )
    )
    return Answer(201, body)


@router.post(
    "/tips/lookup/opinion",
    auth=None,
    response={200: ReporterTipOut, **PUBLIC_ERRORS},
    summary="The reporter's opinion of the handling, once action was taken",
)
def tip_opinion(request: HttpRequest, payload: ReporterOpinionIn):
    if refused := _lookup_limits(payload.receipt):
        return refused
    return _reporter(
        lambda: services.give_opinion(
            receipt=payload.receipt, opinion=payload.opinion, comment=payload.comment
        )
    )


# --- operator intake and statistics -------------------------------------------------------


@router.post(
    "/tips/intake",
    response={201: ReceiptOut, **ERRORS},
    summary="File a phone, letter or walk-in tip on a reporter's behalf (operator mode)",
)
@requires(Cap.TIPS_INTAKE)
def tip_intake(
    request: HttpRequest,
    payload: OperatorIntakeIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    def create() -> tuple[int, dict[str, Any]]:
        kwargs = _submit_kwargs(payload)
        submission = services.submit_tip(
            channel=payload.channel, operator=request.membership, **kwargs
        )
        return 201, {"receipt": submission.receipt}

    return _idempotent(
        scope=f"tips.intake:user:{request.user.pk}:membership:{request.membership.pk}",
        key=idempotency_key,
        payload=payload.model_dump(mode="json"),
        create=create,
    )


def _table(request: HttpRequest, query: StatisticsQuery):
    try:
        return services.tip_statistics(
            membership=request.membership,
            region_code=query.region,
            start=query.start,
            end=query.end,
        )
    except services.TipNotFound as exc:
        raise Http404 from exc
    except ValidationError as exc:
        raise _invalid(exc) from exc


@router.get(
    "/tips/statistics",
    response={200: StatisticsOut, **ERRORS},
    summary="Tip statistics per region and period; counts of 1 or 2 suppressed",
)
@requires(Cap.TIPS_STATS)
def tip_statistics(request: HttpRequest, query: Query[StatisticsQuery]):
    table = _table(request, query)

    def row(item) -> dict[str, Any]:
        return {
            "region_code": item.region_code,
            "region_name": item.region_name,
            "counts": item.counts,
            "rates": item.rates,
        }

    return {
        "region_code": table.region_code,
        "region_name": table.region_name,
        "start": table.start,
        "end": table.end,
        "rows": [row(item) for item in table.rows],
        "total": row(table.total),
    }


@router.get(
    "/tips/statistics.xlsx",
    response={200: None, **ERRORS},
    summary="The statistics as an Excel workbook (figures only, never contents; audited)",
)
@requires(Cap.TIPS_STATS)
def tip_statistics_export(request: HttpRequest, query: Query[StatisticsQuery]):
    try:
        content = services.export_statistics(
            membership=request.membership,
            region_code=query.region,
            start=query.start,
            end=query.end,
        )
    except services.TipNotFound as exc:
        raise Http404 from exc
    except ValidationError as exc:
        raise _invalid(exc) from exc
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = (
        f'attachment; filename="tip-statistics-{query.region}-{stamp}.xlsx"'
    )
    return response


# --- handlers -----------------------------------------------------------------------------


@router.get("/tips", response=list[TipOut], summary="Tips assigned or routed to your unit")
@paginate(TipPages)
@requires(Cap.TIPS_HANDLE)
def tip_list(request: HttpRequest, filters: Query[TipFilter]):
    tips = _scoped(request)
    if filters.status:
        tips = tips.filter(status=filters.status)
    unit = request.membership.unit
    if filters.queue == "triage":
        tips = tips.to_triage_by(unit)
    elif filters.queue == "handling":
        tips = tips.handled_by(unit)
    elif filters.queue == "carded":
        tips = tips.carded()
    return _Rendered(tips.order_by("-received_at", "-id"))


@router.get(
    "/tips/{public_id}", response={200: TipDetailOut, **ERRORS}, summary="Open a tip (audited)"
)
@requires(Cap.TIPS_HANDLE)
def tip_detail(request: HttpRequest, public_id: UUID):
    return _opened(request, public_id)


@router.get(
    "/tips/{public_id}/candidates",
    response={200: list[CandidateOut], **ERRORS},
    summary="Possible repeats of this tip (same accused or similar text)",
)
@requires(Cap.TIPS_HANDLE)
def tip_candidates(request: HttpRequest, public_id: UUID):
    tip = _visible_tip(request, public_id)
    return [
        {"tip": _tip_ref(c.tip), "reasons": c.reasons, "score": c.score}
        for c in services.candidates_for(tip, membership=request.membership)
    ]


@router.get(
    "/tips/{public_id}/attachments/{attachment_id}",
    response={200: None, **ERRORS},
    summary="Download a file of the tip (metadata stripped; audited)",
)
@requires(Cap.TIPS_HANDLE)
def tip_attachment(request: HttpRequest, public_id: UUID, attachment_id: UUID):
    tip = _visible_tip(request, public_id)
    attachment = TipAttachment.objects.filter(tip=tip, public_id=attachment_id).first()
    if attachment is None:
        raise Http404
    found = services.download_attachment(attachment, membership=request.membership)
    response = HttpResponse(found.content, content_type=found.content_type)
    response["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _action(path: str, summary: str):
    """Register one workflow endpoint: POST /tips/{public_id}/<path> → the tip as it is now."""

    def decorator(operation: Callable) -> Callable:
        gated = requires(Cap.TIPS_HANDLE)(operation)
        router.post(
            f"/tips/{{public_id}}/{path}",
            response={200: TipDetailOut, 202: MovedOut, **ERRORS},
            summary=summary,
        )(gated)
        return gated

    return decorator


@_action("accept", "Triage: accept as organised crime (受理)")
def tip_accept(request: HttpRequest, public_id: UUID, payload: AcceptIn):
    return _step(
        request,
        public_id,
        lambda t: services.accept_tip(t, category=payload.category, **_who(request)),
    )


@_action("officials", "Triage: officials are named; re-route above their level")
def tip_officials(request: HttpRequest, public_id: UUID, payload: OfficialsIn):
    return _step(
        request,
        public_id,
        lambda t: services.flag_officials(
            t,
            officials_region_code=payload.officials_region_code,
            officials_text=payload.officials_text,
            **_who(request),
        ),
    )


@_action("merge", "Triage: merge as a duplicate of an earlier tip (the first reporter is kept)")
def tip_merge(request: HttpRequest, public_id: UUID, payload: MergeIn):
    target = _scoped(request).filter(public_id=payload.into).first()
    if target is None:
        message = _("No such tip among yours.")
        raise ApiError(
            code="tip_not_found",
            message=message,
            status=422,
            errors=[{"field": "into", "code": "tip_not_found", "message": message}],
        )
    return _step(request, public_id, lambda t: services.merge_tip(t, into=target, **_who(request)))


@_action("reject", "Triage: not gang-related, with a reason")
def tip_reject(request: HttpRequest, public_id: UUID, payload: RejectIn):
    return _step(
        request,
        public_id,
        lambda t: services.reject_tip(
            t,
            reason=payload.reason,
            message_to_reporter=payload.message_to_reporter,
            **_who(request),
        ),
    )


@_action("assign", "Assign to a 公安, 扫黑办 or 纪委监委 unit (交办)")
def tip_assign(request: HttpRequest, public_id: UUID, payload: UnitIn):
    unit = _unit_field(payload.unit)
    return _step(request, public_id, lambda t: services.assign_tip(t, unit=unit, **_who(request)))


@_action("transfer", "Transfer to another unit (移交), on its own clock")
def tip_transfer(request: HttpRequest, public_id: UUID, payload: TransferIn):
    unit = _unit_field(payload.unit)
    return _step(
        request,
        public_id,
        lambda t: services.transfer_tip(t, to_unit=unit, reason=payload.reason, **_who(request)),
    )


@_action("start-verifying", "Take the tip up and start verification (签收)")
def tip_start_verifying(request: HttpRequest, public_id: UUID):
    return _step(request, public_id, lambda t: services.start_verifying(t, **_who(request)))


@_action("verification", "Record the outcome: 查实 or 查否")
def tip_verification(request: HttpRequest, public_id: UUID, payload: VerificationIn):
    return _step(
        request,
        public_id,
        lambda t: services.record_verification(
            t, outcome=payload.outcome, summary=payload.summary, **_who(request)
        ),
    )


@_action("disposal", "Record the disposal (case opened, transferred, punished, not gang-related)")
def tip_disposal(request: HttpRequest, public_id: UUID, payload: DisposalIn):
    unit = _unit_field(payload.unit)
    return _step(
        request,
        public_id,
        lambda t: services.dispose_tip(
            t,
            disposal=payload.disposal,
            unit=unit,
            unit_name=payload.unit_name,
            charges=payload.charges,
            case_opened_on=payload.case_opened_on,
            note=payload.note,
            **_who(request),
        ),
    )


@_action("close", "Close, keeping the reporter's opinion")
def tip_close(request: HttpRequest, public_id: UUID, payload: CloseIn):
    return _step(
        request,
        public_id,
        lambda t: services.close_tip(
            t, opinion=payload.opinion or "", comment=payload.comment, **_who(request)
        ),
    )


@_action("messages", "Write to the reporter (read with the receipt)")
def tip_message(request: HttpRequest, public_id: UUID, payload: BodyIn):
    return _step(
        request, public_id, lambda t: services.send_message(t, body=payload.body, **_who(request))
    )


@_action("notes", "Add an internal note (never shown to the reporter)")
def tip_note(request: HttpRequest, public_id: UUID, payload: BodyIn):
    return _step(
        request, public_id, lambda t: services.add_note(t, body=payload.body, **_who(request))
    )


@_action("case-links", "Link to a case of the case engine by its code")
def tip_case_link(request: HttpRequest, public_id: UUID, payload: CaseLinkIn):
    return _step(
        request,
        public_id,
        lambda t: services.link_case(t, case_code=payload.case_code, **_who(request)),
    )


def _reveal_out(reveal: RevealRequest) -> dict[str, Any]:
    return {
        "id": reveal.public_id,
        "tip": reveal.tip.public_id,
        "status": reveal.status,
        "created_at": reveal.created_at,
        "decided_at": reveal.decided_at,
        "expires_at": reveal.expires_at,
    }


@router.post(
    "/tips/{public_id}/reveal-requests",
    response={201: RevealOut, **ERRORS},
    summary="Ask to see a real-name reporter's identity (a second person must approve)",
)
@requires(Cap.TIPS_HANDLE)
def tip_reveal_request(request: HttpRequest, public_id: UUID, payload: RevealIn):
    tip = _visible_tip(request, public_id)
    try:
        reveal = services.request_reveal(tip, reason=payload.reason, **_who(request))
    except ValidationError as exc:
        raise _invalid(exc) from exc
    except services.TipRefused as exc:
        raise _refused(exc) from exc
    return Answer(201, _reveal_out(reveal))


@router.post(
    "/tips/reveal-requests/{public_id}/decision",
    response={200: RevealOut, **ERRORS},
    summary="Approve or refuse another person's identity request",
)
@requires(Cap.TIPS_HANDLE)
def tip_reveal_decision(request: HttpRequest, public_id: UUID, payload: RevealDecisionIn):
    visible = Tip.objects.visible_to(request.membership)
    reveal = (
        RevealRequest.objects.filter(public_id=public_id, tip__in=visible)
        .select_related("tip")
        .first()
    )
    if reveal is None:
        raise Http404
    try:
        reveal = services.decide_reveal(reveal, approve=payload.approve, **_who(request))
    except services.TipRefused as exc:
        raise _refused(exc) from exc
    return _reveal_out(reveal)


@router.post(
    "/tips/{public_id}/reporter",
    response={200: ReporterIdentityOut, **ERRORS},
    summary="See the real-name reporter's identity under an approved request (audited)",
)
@requires(Cap.TIPS_HANDLE)
def tip_reporter(request: HttpRequest, public_id: UUID):
    tip = _visible_tip(request, public_id)
    try:
        identity = services.reveal_reporter(tip, **_who(request))
    except services.TipRefused as exc:
        raise _refused(exc) from exc
    return {"name": identity.name, "contact": identity.contact}
