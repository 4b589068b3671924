"""One endpoint per workflow step: fetch the case in scope, call exactly one service of
``cases.services``, answer with the case as it is now. A refusal (``WorkflowError``) becomes a
structured error with the service's stable code: 409 when the case's state or the caller's unit
does not allow the step, 422 for bad input."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from fengqiao.accounts.roles import Cap
from fengqiao.api.auth import requires
from fengqiao.api.cases.lookups import _detail_case, _visible_case
from fengqiao.api.cases.rendering import _detail
from fengqiao.api.cases.routing import ERRORS, OPERATION_PREFIX, _who, _workflow_error, router
from fengqiao.api.cases.schemas import (
    AssignIn,
    CaseCode,
    CaseDetailOut,
    EscalateIn,
    EvaluateIn,
    ExtensionDecisionIn,
    ExtensionRequestIn,
    FeedbackIn,
    ReasonIn,
    ReturnIn,
    SuperviseIn,
    VerifyIn,
    VisitIn,
)
from fengqiao.api.errors import ApiError
from fengqiao.cases import services
from fengqiao.cases.models import Case
from fengqiao.regions.models import Unit


def _transition(request: HttpRequest, code: str, step: Callable[[Case], Any]) -> dict[str, Any]:
    """Fetch the case in scope, run one service on it, answer with the case as it is now."""
    case = _visible_case(request, code)
    try:
        step(case)
    except services.WorkflowError as exc:
        raise _workflow_error(exc) from exc
    return _detail(request, _detail_case(request, code))


def _action(path: str, summary: str, capability: str = Cap.CASES_HANDLE):
    """Register one transition endpoint: POST /cases/{code}/<path> → the case as it is now."""

    def decorator(operation: Callable) -> Callable:
        gated = requires(capability)(operation)
        router.post(
            f"/cases/{{code}}/{path}",
            response={200: CaseDetailOut, **ERRORS},
            summary=summary,
            operation_id=f"{OPERATION_PREFIX}{operation.__name__}",
        )(gated)
        return gated

    return decorator


@_action("accept", "Accept (受理)")
def case_accept(request: HttpRequest, code: CaseCode):
    return _transition(request, code, lambda case: services.accept_case(case, **_who(request)))


@_action("assign", "Assign to a unit (交办)")
def case_assign(request: HttpRequest, code: CaseCode, payload: AssignIn):
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
def case_sign(request: HttpRequest, code: CaseCode):
    return _transition(request, code, lambda case: services.sign_case(case, **_who(request)))


@_action("return", "Return with a reason (退回)")
def case_return(request: HttpRequest, code: CaseCode, payload: ReturnIn):
    return _transition(
        request,
        code,
        lambda case: services.return_case(case, reason=payload.reason, **_who(request)),
    )


@_action("escalate", "Escalate one level, or skip a level with a reason (上报 / 越级上报)")
def case_escalate(request: HttpRequest, code: CaseCode, payload: EscalateIn):
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
def case_extension_request(request: HttpRequest, code: CaseCode, payload: ExtensionRequestIn):
    return _transition(
        request,
        code,
        lambda case: services.request_extension(
            case, days=payload.days, reason=payload.reason, **_who(request)
        ),
    )


@_action("extension-decision", "Approve or decline the requested extension")
def case_extension_decision(request: HttpRequest, code: CaseCode, payload: ExtensionDecisionIn):
    return _transition(
        request,
        code,
        lambda case: services.decide_extension(
            case, approve=payload.approve, reason=payload.reason, **_who(request)
        ),
    )


@_action("suspend", "Suspend; the clock pauses (挂起)")
def case_suspend(request: HttpRequest, code: CaseCode, payload: ReasonIn):
    return _transition(
        request,
        code,
        lambda case: services.suspend_case(case, reason=payload.reason, **_who(request)),
    )


@_action("resume", "Resume a suspended case")
def case_resume(request: HttpRequest, code: CaseCode):
    return _transition(request, code, lambda case: services.resume_case(case, **_who(request)))


@_action("feedback", "Report completion (办结反馈)")
def case_feedback(request: HttpRequest, code: CaseCode, payload: FeedbackIn):
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
def case_verify(request: HttpRequest, code: CaseCode, payload: VerifyIn):
    return _transition(
        request,
        code,
        lambda case: services.verify_case(
            case, passed=payload.passed, reason=payload.reason, **_who(request)
        ),
    )


@_action("evaluate", "Record the reporter's evaluation (评价)")
def case_evaluate(request: HttpRequest, code: CaseCode, payload: EvaluateIn):
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
def case_visit(request: HttpRequest, code: CaseCode, payload: VisitIn):
    return _transition(
        request,
        code,
        lambda case: services.record_visit(
            case, satisfaction=payload.satisfaction, comment=payload.comment, **_who(request)
        ),
    )


@_action("reopen", "Reopen a closed or rejected case")
def case_reopen(request: HttpRequest, code: CaseCode, payload: ReasonIn):
    return _transition(
        request,
        code,
        lambda case: services.reopen_case(case, reason=payload.reason, **_who(request)),
    )


@_action("reject", "Reject as invalid")
def case_reject(request: HttpRequest, code: CaseCode, payload: ReasonIn):
    return _transition(
        request,
        code,
        lambda case: services.reject_case(case, reason=payload.reason, **_who(request)),
    )


@_action("supervise", "Supervise from a level above (督办)", capability=Cap.CASES_SUPERVISE)
def case_supervise(request: HttpRequest, code: CaseCode, payload: SuperviseIn):
    return _transition(
        request,
        code,
        lambda case: services.supervise_case(
            case, level=payload.level, reason=payload.reason, **_who(request)
        ),
    )


@_action("risk-flag", "Mark a dispute as likely to turn violent (人民调解法 art. 25)")
def case_risk_flag(request: HttpRequest, code: CaseCode, payload: ReasonIn):
    return _transition(
        request,
        code,
        lambda case: services.mark_may_turn_violent(case, reason=payload.reason, **_who(request)),
    )
