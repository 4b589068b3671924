"""The handlers' routes (token or verified session, ``tips.handle``): every lookup goes through
``Tip.objects.visible_to(request.membership)`` — assignment, not region — so anything else is a
404. One endpoint per workflow step, each calling one service and answering the tip as it is now
(opening it, which is audited)."""

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Schema
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import Status as Answer

from fengqiao.accounts.roles import Cap
from fengqiao.api.auth import requires
from fengqiao.api.errors import ApiError
from fengqiao.api.schemas import MAX_OFFSET
from fengqiao.api.tips.rendering import _detail, _tip_out, _tip_ref
from fengqiao.api.tips.routing import ERRORS, MAX_PAGE, OPERATION_PREFIX, _invalid, _refused, router
from fengqiao.api.tips.schemas import (
    AcceptIn,
    BodyIn,
    CandidateOut,
    CaseLinkIn,
    CloseIn,
    DisposalIn,
    MergeIn,
    MovedOut,
    OfficialsIn,
    RejectIn,
    ReporterIdentityOut,
    RevealDecisionIn,
    RevealIn,
    RevealOut,
    TipDetailOut,
    TipFilter,
    TipOut,
    TransferIn,
    UnitIn,
    VerificationIn,
)
from fengqiao.regions.models import Unit
from fengqiao.tips import services
from fengqiao.tips.models import RevealRequest, Tip, TipAttachment


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
    """Fetch the tip in scope, run one service, answer the tip as it is now (if still visible).

    ``call`` resolves what the body names (units, another tip) itself, after the tip was found:
    a tip out of scope is a 404 whatever the body says.
    """
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


class TipPageInput(Schema):
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class TipPages(LimitOffsetPagination):
    """Limit and offset, at most MAX_PAGE tips a page (more is a 422, not a silent cut)."""

    # Named apart from ninja's unbounded ``Input``: OpenAPI components are named by class.
    Input = TipPageInput


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


# --- handlers -----------------------------------------------------------------------------


@router.get(
    "/tips",
    response=list[TipOut],
    summary="Tips assigned or routed to your unit",
    operation_id=f"{OPERATION_PREFIX}tip_list",
)
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
    "/tips/{public_id}",
    response={200: TipDetailOut, **ERRORS},
    summary="Open a tip (audited)",
    operation_id=f"{OPERATION_PREFIX}tip_detail",
)
@requires(Cap.TIPS_HANDLE)
def tip_detail(request: HttpRequest, public_id: UUID):
    return _opened(request, public_id)


@router.get(
    "/tips/{public_id}/candidates",
    response={200: list[CandidateOut], **ERRORS},
    summary="Possible repeats of this tip (same accused or similar text)",
    operation_id=f"{OPERATION_PREFIX}tip_candidates",
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
    operation_id=f"{OPERATION_PREFIX}tip_attachment",
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
            operation_id=f"{OPERATION_PREFIX}{operation.__name__}",
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
    def merge(tip: Tip) -> Any:
        target = _scoped(request).filter(public_id=payload.into).first()
        if target is None:
            message = _("No such tip among yours.")
            raise ApiError(
                code="tip_not_found",
                message=message,
                status=422,
                errors=[{"field": "into", "code": "tip_not_found", "message": message}],
            )
        return services.merge_tip(tip, into=target, **_who(request))

    return _step(request, public_id, merge)


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
    return _step(
        request,
        public_id,
        lambda t: services.assign_tip(t, unit=_unit_field(payload.unit), **_who(request)),
    )


@_action("transfer", "Transfer to another unit (移交), on its own clock")
def tip_transfer(request: HttpRequest, public_id: UUID, payload: TransferIn):
    return _step(
        request,
        public_id,
        lambda t: services.transfer_tip(
            t, to_unit=_unit_field(payload.unit), reason=payload.reason, **_who(request)
        ),
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
    return _step(
        request,
        public_id,
        lambda t: services.dispose_tip(
            t,
            disposal=payload.disposal,
            unit=_unit_field(payload.unit),
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
    operation_id=f"{OPERATION_PREFIX}tip_reveal_request",
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
    operation_id=f"{OPERATION_PREFIX}tip_reveal_decision",
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
    operation_id=f"{OPERATION_PREFIX}tip_reporter",
)
@requires(Cap.TIPS_HANDLE)
def tip_reporter(request: HttpRequest, public_id: UUID):
    tip = _visible_tip(request, public_id)
    try:
        identity = services.reveal_reporter(tip, **_who(request))
    except services.TipRefused as exc:
        raise _refused(exc) from exc
    return {"name": identity.name, "contact": identity.contact}
