"""Cases over the JSON API: list, detail, create, timeline and one endpoint per transition.

Every lookup goes through ``Case.objects.visible_to(request.membership)``: a case outside the
caller's jurisdiction answers 404, exactly like one that does not exist. Endpoints parse, fetch,
call exactly one service of ``cases.services`` and render; a refusal (``WorkflowError``) becomes
a structured error with the service's stable code: 409 when the case's state or the caller's
unit does not allow the step, 422 for bad input. (No ``from __future__ import annotations``
here: ninja reads the parameter annotations at runtime.)

Modules: ``routing`` (the router, error map, refusals → API errors, idempotent replays),
``schemas``, ``rendering``, ``lookups``, ``system``, ``listing``, ``intake``, ``reading``,
``transitions``, ``notes``.
"""

from fengqiao.api.cases.routing import (
    CONFLICT_CODES,
    ERRORS,
    MAX_PAGE,
    router,
)
from fengqiao.api.cases.schemas import (
    AssignIn,
    AttachmentOut,
    CaseCreatedOut,
    CaseCreateIn,
    CaseDetailOut,
    CaseFilter,
    CaseOut,
    CategoryRef,
    EscalateIn,
    EvaluateIn,
    ExtensionDecisionIn,
    ExtensionRequestIn,
    FeedbackIn,
    NoteIn,
    NoteOut,
    PartyIn,
    PartyOut,
    PingOut,
    ReasonIn,
    ReturnIn,
    SuperviseIn,
    TimelineEntryOut,
    UnitRef,
    VerifyIn,
    VisitIn,
)

# Import order is registration order, which is URL matching order and the order of the
# operations in the OpenAPI schema: keep it as the single module registered them.
# isort: off
from fengqiao.api.cases.system import (
    ping,
)
from fengqiao.api.cases.listing import (
    CasePages,
    case_list,
)
from fengqiao.api.cases.intake import (
    POINT_PLACES,
    case_create,
)
from fengqiao.api.cases.reading import (
    case_detail,
    case_timeline,
)
from fengqiao.api.cases.transitions import (
    case_accept,
    case_assign,
    case_escalate,
    case_evaluate,
    case_extension_decision,
    case_extension_request,
    case_feedback,
    case_reject,
    case_reopen,
    case_resume,
    case_return,
    case_risk_flag,
    case_sign,
    case_supervise,
    case_suspend,
    case_verify,
    case_visit,
)
from fengqiao.api.cases.notes import (
    case_note,
)
# isort: on

__all__ = [
    "router",
    "MAX_PAGE",
    "POINT_PLACES",
    "CONFLICT_CODES",
    "ERRORS",
    "UnitRef",
    "CategoryRef",
    "CaseOut",
    "PartyOut",
    "NoteOut",
    "AttachmentOut",
    "CaseDetailOut",
    "CaseCreatedOut",
    "TimelineEntryOut",
    "PingOut",
    "CaseFilter",
    "PartyIn",
    "CaseCreateIn",
    "ReasonIn",
    "AssignIn",
    "ReturnIn",
    "EscalateIn",
    "ExtensionRequestIn",
    "ExtensionDecisionIn",
    "FeedbackIn",
    "VerifyIn",
    "EvaluateIn",
    "VisitIn",
    "SuperviseIn",
    "NoteIn",
    "CasePages",
    "ping",
    "case_list",
    "case_create",
    "case_detail",
    "case_timeline",
    "case_accept",
    "case_assign",
    "case_sign",
    "case_return",
    "case_escalate",
    "case_extension_request",
    "case_extension_decision",
    "case_suspend",
    "case_resume",
    "case_feedback",
    "case_verify",
    "case_evaluate",
    "case_visit",
    "case_reopen",
    "case_reject",
    "case_supervise",
    "case_risk_flag",
    "case_note",
]
