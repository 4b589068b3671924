"""Cases over the JSON API: list, detail, create, timeline and one endpoint per transition.

Every lookup goes through ``Case.objects.visible_to(request.membership)``: a case outside the
caller's jurisdiction answers 404, exactly like one that does not exist. Endpoints parse, fetch,
call exactly one service of ``cases.services`` and render; a refusal (``WorkflowError``) becomes
a structured error with the service's stable code: 409 when the case's state or the caller's
unit does not allow the step, 422 for bad input. (No ``from __future__ import annotations``
here: ninja reads the parameter annotations at runtime.)
"""

from collections.abc import Callable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Header, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import Status as Answer
from pydantic import field_validator
from pydantic_core import PydanticCustomError

from fengqiao.accounts.roles import Cap
from fengqiao.api.auth import requires
from fengqiao.api.errors import ApiError
from fengqiao.api.schemas import ErrorOut, StrictSchema
from fengqiao.cases import routing, services
from fengqiao.cases.models import (
    Case,
    CaseKind,
    Category,
    ClosureMethod,
    EvaluationChannel,
    Note,
    PartyRole,
    Severity,
    Status,
    Urgency,
)
from fengqiao.core import idempotency
from fengqiao.core.masking import mask_id_number, mask_phone
from fengqiao.core.validators import is_valid_id_number, is_valid_phone
from fengqiao.regions.models import Level, Region, Unit

router = Router(tags=["cases"])

MAX_PAGE = 100
POINT_PLACES = Decimal("0.000001")
# Refusals that mean "not now / not you" rather than "bad input" (HTTP 409 Conflict).
CONFLICT_CODES = frozenset(
    {
        "illegal_transition",
        "not_your_unit",
        "not_allowed",
        "already_evaluated",
        "already_flagged",
        "already_supervised",
        "no_extension_requested",
    }
)
ERRORS = {404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


# --- output schemas -----------------------------------------------------------------------------


class UnitRef(Schema):
    id: UUID
    name: str
    kind: str
    level: Level


class CategoryRef(Schema):
    code: str
    name: str


class CaseOut(Schema):
    """A case as lists show it."""

    code: str = Field(description="Public case code for life (一事一码)")
    kind: CaseKind
    category: CategoryRef
    title: str
    channel: str
    status: Status
    status_label: str
    level: Level
    region_code: str
    region_name: str
    owner_unit: UnitRef
    handler_unit: UnitRef | None
    severity: Severity
    urgency: Urgency
    supervision: int = Field(description="0 none, 1 supervised, 2 yellow card, 3 red card")
    reported_at: datetime
    accept_due_at: datetime | None
    handle_due_at: datetime | None
    closed_at: datetime | None
    overdue: bool


class PartyOut(Schema):
    id: UUID
    role: PartyRole
    name: str
    id_number: str = Field(description="Masked: 330602********1234")
    phone: str = Field(description="Masked: 138****5678")


class NoteOut(Schema):
    id: UUID
    body: str
    is_public: bool
    author: str
    author_unit: str
    created_at: datetime


class AttachmentOut(Schema):
    id: UUID
    name: str
    content_type: str
    size: int
    is_public: bool
    created_at: datetime


class CaseDetailOut(CaseOut):
    """A case with everything its page shows; personal identifiers masked."""

    description: str
    place_text: str
    latitude: float | None
    longitude: float | None
    occurred_at: datetime | None
    people_count: int | None
    amount: Decimal | None
    may_turn_violent: bool
    risk_tier: str
    closure_method: str
    resolved: bool | None
    closure_summary: str
    satisfaction: int | None
    evaluation_comment: str
    visited_at: datetime | None
    evaluated_at: datetime | None
    parties: list[PartyOut]
    notes: list[NoteOut]
    attachments: list[AttachmentOut]
    available_actions: list[str] = Field(description="Actions the caller may take now")


class CaseCreatedOut(Schema):
    code: str
    id: UUID
    status: Status
    level: Level
    region_code: str
    owner_unit: UnitRef
    reported_at: datetime
    accept_due_at: datetime | None
    tracking_token: str = Field(
        description="For the citizen's tracking page; returned once, only its hash is kept"
    )


class TimelineEntryOut(Schema):
    action: str
    action_label: str
    from_status: str
    to_status: str
    at: datetime
    actor: str
    actor_unit: str
    from_unit: str
    to_unit: str
    level: str
    reason: str
    on_time: bool | None
    is_public: bool


class PingOut(Schema):
    ok: bool


# --- input schemas ------------------------------------------------------------------------------


class CaseFilter(Schema):
    status: Status | None = None
    kind: CaseKind | None = None
    category: str | None = Field(None, max_length=60, description="Category code")
    region: str | None = Field(
        None, pattern=r"^[0-9]{6,15}$", description="Cases in this region or anywhere below it"
    )
    since: date | None = Field(None, description="Reported on or after this day")
    until: date | None = Field(None, description="Reported on or before this day")
    overdue: bool | None = None
    supervision: int | None = Field(None, ge=1, le=3, description="At least this supervision")


class PartyIn(StrictSchema):
    role: PartyRole
    name: str = Field(min_length=1, max_length=100)
    id_number: str = Field("", max_length=18)
    phone: str = Field("", max_length=20)
    address: str = Field("", max_length=200)

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str) -> str:
        value = value.strip()
        if value and not is_valid_id_number(value):
            raise PydanticCustomError("invalid_id_number", str(_("Invalid ID number.")))
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        value = value.strip()
        if value and not is_valid_phone(value):
            raise PydanticCustomError("invalid_phone", str(_("Invalid phone number.")))
        return value


class CaseCreateIn(StrictSchema):
    category: str = Field(max_length=60, description="Category code, e.g. grid.neighbour")
    kind: CaseKind | None = Field(None, description="Derived from the category when omitted")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=5000)
    place_text: str = Field("", max_length=300)
    latitude: float | None = Field(None, ge=-90, le=90, description="WGS-84")
    longitude: float | None = Field(None, ge=-180, le=180, description="WGS-84")
    region_code: str | None = Field(
        None, pattern=r"^[0-9]{6,15}$", description="An explicit pick in the region tree"
    )
    severity: Severity = Severity.GENERAL
    urgency: Urgency = Urgency.NORMAL
    people_count: int | None = Field(None, ge=1, le=1_000_000)
    amount: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    occurred_at: datetime | None = None
    external_ref: str = Field("", max_length=100)
    parties: list[PartyIn] = Field(default_factory=list, max_length=20)
    may_turn_violent: bool = False


class ReasonIn(StrictSchema):
    reason: str = Field(min_length=1, max_length=1000)


class AssignIn(StrictSchema):
    unit: UUID = Field(description="Public id of the unit that will handle the case")
    note: str = Field("", max_length=1000)


class ReturnIn(ReasonIn):
    pass


class EscalateIn(StrictSchema):
    reason: str = Field("", max_length=1000)
    skip: bool = Field(False, description="越级上报: skip a level (a reason is required)")
    target_level: Level | None = None


class ExtensionRequestIn(StrictSchema):
    days: int = Field(ge=1, le=365)
    reason: str = Field(min_length=1, max_length=500)


class ExtensionDecisionIn(StrictSchema):
    approve: bool
    reason: str = Field("", max_length=1000)


class FeedbackIn(StrictSchema):
    method: ClosureMethod
    resolved: bool
    summary: str = Field(min_length=1, max_length=2000)


class VerifyIn(StrictSchema):
    passed: bool
    reason: str = Field("", max_length=1000)


class EvaluateIn(StrictSchema):
    satisfaction: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=1000)
    channel: EvaluationChannel = EvaluationChannel.PHONE


class VisitIn(StrictSchema):
    satisfaction: int | None = Field(None, ge=1, le=5, description="A rating given at the visit")
    comment: str = Field("", max_length=1000)


class SuperviseIn(StrictSchema):
    level: int = Field(ge=1, le=3, description="1 supervised, 2 yellow card, 3 red card")
    reason: str = Field(min_length=1, max_length=1000)


class NoteIn(StrictSchema):
    body: str = Field(min_length=1, max_length=5000)
    is_public: bool = False


# --- rendering ----------------------------------------------------------------------------------


def _unit(unit: Unit | None) -> dict[str, Any] | None:
    if unit is None:
        return None
    return {"id": unit.public_id, "name": unit.name, "kind": unit.kind, "level": unit.level}


def _is_overdue(case: Case, now: datetime) -> bool:
    if case.status == Status.REPORTED:
        return bool(case.accept_due_at and case.accept_due_at < now)
    if case.status in (Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS):
        return bool(case.handle_due_at and case.handle_due_at < now)
    return False


def _case_out(case: Case, now: datetime | None = None) -> dict[str, Any]:
    return {
        "code": case.code,
        "kind": case.kind,
        "category": {"code": case.category.code, "name": case.category.name},
        "title": case.title,
        "channel": case.channel,
        "status": case.status,
        "status_label": str(case.get_status_display()),
        "level": case.level,
        "region_code": case.region_code,
        "region_name": case.region.full_name or case.region.name,
        "owner_unit": _unit(case.owner_unit),
        "handler_unit": _unit(case.handler_unit),
        "severity": case.severity,
        "urgency": case.urgency,
        "supervision": case.supervision,
        "reported_at": case.reported_at,
        "accept_due_at": case.accept_due_at,
        "handle_due_at": case.handle_due_at,
        "closed_at": case.closed_at,
        "overdue": _is_overdue(case, now or timezone.now()),
    }


def _person(user) -> str:
    return (user.full_name or user.username) if user is not None else ""


def _detail(request: HttpRequest, case: Case) -> dict[str, Any]:
    out = _case_out(case)
    out.update(
        {
            "description": case.description,
            "place_text": case.place_text,
            "latitude": float(case.latitude) if case.latitude is not None else None,
            "longitude": float(case.longitude) if case.longitude is not None else None,
            "occurred_at": case.occurred_at,
            "people_count": case.people_count,
            "amount": case.amount,
            "may_turn_violent": case.may_turn_violent,
            "risk_tier": case.risk_tier,
            "closure_method": case.closure_method,
            "resolved": case.resolved,
            "closure_summary": case.closure_summary,
            "satisfaction": case.satisfaction,
            "evaluation_comment": case.evaluation_comment,
            "visited_at": case.visited_at,
            "evaluated_at": case.evaluated_at,
            "parties": [
                {
                    "id": party.public_id,
                    "role": party.role,
                    "name": party.name,
                    "id_number": mask_id_number(party.id_number),
                    "phone": mask_phone(party.phone),
                }
                for party in case.parties.all()
            ],
            "notes": [_note_out(note) for note in case.notes.all()],
            "attachments": [
                {
                    "id": item.public_id,
                    "name": item.original_name,
                    "content_type": item.content_type,
                    "size": item.size,
                    "is_public": item.is_public,
                    "created_at": item.created_at,
                }
                for item in case.attachments.all()
            ],
            "available_actions": list(services.available_actions(case, request.membership)),
        }
    )
    return out


def _note_out(note: Note) -> dict[str, Any]:
    return {
        "id": note.public_id,
        "body": note.body,
        "is_public": note.is_public,
        "author": _person(note.author),
        "author_unit": note.author_unit.name if note.author_unit else "",
        "created_at": note.created_at,
    }


# --- lookups and errors -------------------------------------------------------------------------


def _scoped(request: HttpRequest):
    return Case.objects.visible_to(request.membership).for_list()


def _visible_case(request: HttpRequest, code: str) -> Case:
    case = _scoped(request).filter(code=code).first()
    if case is None:
        raise Http404
    return case


def _detail_case(request: HttpRequest, code: str) -> Case:
    case = (
        _scoped(request)
        .prefetch_related("parties", "notes__author", "notes__author_unit", "attachments")
        .filter(code=code)
        .first()
    )
    if case is None:
        raise Http404
    return case


def _workflow_error(exc: services.WorkflowError) -> ApiError:
    status = 409 if exc.code in CONFLICT_CODES else 422
    errors = [{"field": exc.field, "code": exc.code, "message": exc.message}] if exc.field else []
    return ApiError(code=exc.code, message=exc.message, status=status, errors=errors)


def _principal(request: HttpRequest) -> str:
    """Who is asking, for idempotency scopes: the person in the membership they act in."""
    return f"user:{request.user.pk}:membership:{request.membership.pk}"


def _idempotent(
    request: HttpRequest,
    *,
    scope: str,
    key: str | None,
    payload: Any,
    create: Callable,
    check_first: bool = True,
) -> Answer:
    """Run ``create`` once per key; a replay answers the first status and body."""
    try:
        status, body = idempotency.run(
            scope=f"{scope}:{_principal(request)}",
            key=key,
            payload=payload,
            create=create,
            check_first=check_first,
        )
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
    except services.WorkflowError as exc:
        raise _workflow_error(exc) from exc
    return Answer(status, body)


def _transition(request: HttpRequest, code: str, step: Callable[[Case], Any]) -> dict[str, Any]:
    """Fetch the case in scope, run one service on it, answer with the case as it is now."""
    case = _visible_case(request, code)
    try:
        step(case)
    except services.WorkflowError as exc:
        raise _workflow_error(exc) from exc
    return _detail(request, _detail_case(request, code))


def _who(request: HttpRequest) -> dict[str, Any]:
    return {"actor": request.user, "membership": request.membership}


class CasePages(LimitOffsetPagination):
    """Limit and offset, at most MAX_PAGE cases a page (more is a 422, not a silent cut)."""

    class Input(Schema):
        limit: int = Field(50, ge=1, le=MAX_PAGE)
        offset: int = Field(0, ge=0)


class _Rendered:
    """A queryset the paginator can count and slice, whose items come out rendered."""

    def __init__(self, queryset, render: Callable[[Case], dict[str, Any]]) -> None:
        self.queryset = queryset
        self.render = render

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        return [self.render(case) for case in self.queryset[window]]


# --- endpoints ----------------------------------------------------------------------------------


@router.get("/ping", response=PingOut, tags=["system"], summary="Authenticated no-op")
def ping(request: HttpRequest):
    """Does nothing but authenticate: the baseline the intake benchmark compares against."""
    return {"ok": True}


@router.get("/cases", response=list[CaseOut], summary="Cases in your scope, filtered")
@paginate(CasePages)
@requires(Cap.CASES_VIEW)
def case_list(request: HttpRequest, filters: Query[CaseFilter]):
    chosen = filters.dict(exclude_none=True)
    if region := chosen.get("region"):
        found = Region.objects.visible_to(request.membership).filter(code=region).first()
        if found is None:
            raise Http404
        chosen["region"] = found.scope_prefix
    now = timezone.now()
    cases = _scoped(request).apply_filters(**chosen).order_by("-reported_at", "-id")
    return _Rendered(cases, lambda case: _case_out(case, now))


@router.post(
    "/cases",
    response={201: CaseCreatedOut, **ERRORS},
    summary="Report a case (channel: api); honours Idempotency-Key",
)
@requires(Cap.CASES_REPORT)
def case_create(
    request: HttpRequest,
    payload: CaseCreateIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    def create() -> tuple[int, dict[str, Any]]:
        category = routing.reportable_category(payload.category)
        if category is None:
            raise ApiError(
                code="category_not_found",
                message=_("No such reportable category."),
                status=422,
                errors=[
                    {
                        "field": "category",
                        "code": "category_not_found",
                        "message": _("No such reportable category."),
                    }
                ],
            )
        case = services.report_case(
            data=_intake(payload, category), actor=request.user, membership=request.membership
        )
        body = CaseCreatedOut(
            code=case.code,
            id=case.public_id,
            status=case.status,
            level=case.level,
            region_code=case.region_code,
            owner_unit=_unit(case.owner_unit),
            reported_at=case.reported_at,
            accept_due_at=case.accept_due_at,
            tracking_token=getattr(case, "tracking_token", ""),
        )
        return 201, body.model_dump(mode="json")

    return _idempotent(
        request,
        scope="cases.create",
        key=idempotency_key,
        payload=payload.model_dump(mode="json"),
        create=create,
        # Replays are rare: skip the look-up before every intake and let the unique key catch
        # them (the replay's own attempt rolls back whole).
        check_first=False,
    )


def _point(value: float | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(POINT_PLACES, rounding=ROUND_HALF_UP)


def _intake(payload: CaseCreateIn, category: Category) -> Any:
    return services.IntakeData(
        kind=payload.kind,
        category=category,
        channel="api",
        title=payload.title,
        description=payload.description,
        place_text=payload.place_text,
        latitude=_point(payload.latitude),
        longitude=_point(payload.longitude),
        region_code=payload.region_code,
        severity=int(payload.severity),
        urgency=payload.urgency,
        people_count=payload.people_count,
        amount=payload.amount,
        occurred_at=payload.occurred_at,
        external_ref=payload.external_ref,
        parties=[
            services.PartyData(
                role=party.role,
                name=party.name,
                id_number=party.id_number,
                phone=party.phone,
                address=party.address,
            )
            for party in payload.parties
        ],
        may_turn_violent=payload.may_turn_violent,
    )


@router.get("/cases/{code}", response=CaseDetailOut, summary="One case, parties masked")
@requires(Cap.CASES_VIEW)
def case_detail(request: HttpRequest, code: str):
    return _detail(request, _detail_case(request, code))


@router.get(
    "/cases/{code}/timeline", response=list[TimelineEntryOut], summary="The case's status changes"
)
@requires(Cap.CASES_VIEW)
def case_timeline(request: HttpRequest, code: str):
    case = _visible_case(request, code)
    changes = case.changes.select_related("actor", "actor_unit", "from_unit", "to_unit").order_by(
        "at", "id"
    )
    return [
        {
            "action": change.action,
            "action_label": str(change.get_action_display()),
            "from_status": change.from_status,
            "to_status": change.to_status,
            "at": change.at,
            "actor": _person(change.actor),
            "actor_unit": change.actor_unit.name if change.actor_unit else "",
            "from_unit": change.from_unit.name if change.from_unit else "",
            "to_unit": change.to_unit.name if change.to_unit else "",
            "level": change.level,
            "reason": change.reason,
            "on_time": change.on_time,
            "is_public": change.is_public,
        }
        for change in changes
    ]


def _action(path: str, summary: str, capability: str = Cap.CASES_HANDLE):
    """Register one transition endpoint: POST /cases/{code}/<path> → the case as it is now."""

    def decorator(operation: Callable) -> Callable:
        gated = requires(capability)(operation)
        router.post(
            f"/cases/{{code}}/{path}", response={200: CaseDetailOut, **ERRORS}, summary=summary
        )(gated)
        return gated

    return decorator


@_action("accept", "Accept (受理)")
def case_accept(request: HttpRequest, code: str):
    return _transition(request, code, lambda case: services.accept_case(case, **_who(request)))


@_action("assign", "Assign to a unit (交办)")
def case_assign(request: HttpRequest, code: str, payload: AssignIn):
    def assign(case: Case) -> Case:
        # Looked up after the case, so a case out of scope is a 404 whatever the body says.
        units = Unit.objects.visible_to(request.membership).active()
        target = units.filter(public_id=payload.unit).first()
        if target is None:
            message = _("No such unit in your area.")
            raise ApiError(
                code="unit_not_found",
                message=message,
                status=422,
                errors=[{"field": "unit", "code": "unit_not_found", "message": message}],
            )
        return services.assign_case(case, unit=target, note=payload.note, **_who(request))

    return _transition(request, code, assign)


@_action("sign", "Sign for the case (签收)")
def case_sign(request: HttpRequest, code: str):
    return _transition(request, code, lambda case: services.sign_case(case, **_who(request)))


@_action("return", "Return with a reason (退回)")
def case_return(request: HttpRequest, code: str, payload: ReturnIn):
    return _transition(
        request,
        code,
        lambda case: services.return_case(case, reason=payload.reason, **_who(request)),
    )


@_action("escalate", "Escalate one level, or skip a level with a reason (上报 / 越级上报)")
def case_escalate(request: HttpRequest, code: str, payload: EscalateIn):
    return _transition(
        request,
        code,
        lambda case: services.escalate_case(
            case,
            reason=payload.reason,
            skip=payload.skip,
            target_level=payload.target_level,
            **_who(request),
        ),
    )


@_action("extension-request", "Request an extension (申请延期)")
def case_extension_request(request: HttpRequest, code: str, payload: ExtensionRequestIn):
    return _transition(
        request,
        code,
        lambda case: services.request_extension(
            case, days=payload.days, reason=payload.reason, **_who(request)
        ),
    )


@_action("extension-decision", "Approve or decline the requested extension")
def case_extension_decision(request: HttpRequest, code: str, payload: ExtensionDecisionIn):
    return _transition(
        request,
        code,
        lambda case: services.decide_extension(
            case, approve=payload.approve, reason=payload.reason, **_who(request)
        ),
    )


@_action("suspend", "Suspend; the clock pauses (挂起)")
def case_suspend(request: HttpRequest, code: str, payload: ReasonIn):
    return _transition(
        request,
        code,
        lambda case: services.suspend_case(case, reason=payload.reason, **_who(request)),
    )


@_action("resume", "Resume a suspended case")
def case_resume(request: HttpRequest, code: str):
    return _transition(request, code, lambda case: services.resume_case(case, **_who(request)))


@_action("feedback", "Report completion (办结反馈)")
def case_feedback(request: HttpRequest, code: str, payload: FeedbackIn):
    return _transition(
        request,
        code,
        lambda case: services.submit_feedback(
            case,
            method=payload.method,
            resolved=payload.resolved,
            summary=payload.summary,
            **_who(request),
        ),
    )


@_action("verify", "Verify: pass closes the case, fail sends it back (核查)")
def case_verify(request: HttpRequest, code: str, payload: VerifyIn):
    return _transition(
        request,
        code,
        lambda case: services.verify_case(
            case, passed=payload.passed, reason=payload.reason, **_who(request)
        ),
    )


@_action("evaluate", "Record the reporter's evaluation (评价)")
def case_evaluate(request: HttpRequest, code: str, payload: EvaluateIn):
    return _transition(
        request,
        code,
        lambda case: services.evaluate_case(
            case,
            satisfaction=payload.satisfaction,
            comment=payload.comment,
            channel=payload.channel,
            **_who(request),
        ),
    )


@_action("visit", "Record the follow-up visit (回访)")
def case_visit(request: HttpRequest, code: str, payload: VisitIn):
    return _transition(
        request,
        code,
        lambda case: services.record_visit(
            case, satisfaction=payload.satisfaction, comment=payload.comment, **_who(request)
        ),
    )


@_action("reopen", "Reopen a closed or rejected case")
def case_reopen(request: HttpRequest, code: str, payload: ReasonIn):
    return _transition(
        request,
        code,
        lambda case: services.reopen_case(case, reason=payload.reason, **_who(request)),
    )


@_action("reject", "Reject as invalid")
def case_reject(request: HttpRequest, code: str, payload: ReasonIn):
    return _transition(
        request,
        code,
        lambda case: services.reject_case(case, reason=payload.reason, **_who(request)),
    )


@_action("supervise", "Supervise from a level above (督办)", capability=Cap.CASES_SUPERVISE)
def case_supervise(request: HttpRequest, code: str, payload: SuperviseIn):
    return _transition(
        request,
        code,
        lambda case: services.supervise_case(
            case, level=payload.level, reason=payload.reason, **_who(request)
        ),
    )


@_action("risk-flag", "Mark a dispute as likely to turn violent (人民调解法 art. 25)")
def case_risk_flag(request: HttpRequest, code: str, payload: ReasonIn):
    return _transition(
        request,
        code,
        lambda case: services.mark_may_turn_violent(case, reason=payload.reason, **_who(request)),
    )


@router.post(
    "/cases/{code}/notes",
    response={201: NoteOut, **ERRORS},
    summary="Add an internal or public note; honours Idempotency-Key",
)
@requires(Cap.CASES_HANDLE)
def case_note(
    request: HttpRequest,
    code: str,
    payload: NoteIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    case = _visible_case(request, code)

    def create() -> tuple[int, dict[str, Any]]:
        note = services.add_note(
            case, body=payload.body, is_public=payload.is_public, **_who(request)
        )
        return 201, NoteOut(**_note_out(note)).model_dump(mode="json")

    return _idempotent(
        request,
        scope=f"cases.note:{case.code}",
        key=idempotency_key,
        payload=payload.model_dump(mode="json"),
        create=create,
    )
