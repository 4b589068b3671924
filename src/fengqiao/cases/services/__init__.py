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

The modules: ``intake`` (the report, parties, notes, attachments), ``workflow`` (accept to
resume), ``closing`` (feedback to evaluation, visit, reopen, reject), ``supervision`` (督办 and
the violence-risk flag), ``reads`` (reads with rules) and ``steps`` (what every step shares).
Import from this package, not from the modules. A test that patches a name here reaches the
callers that look it up here (views, API, mediation, imports), not calls between the modules.
"""

from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.services.closing import (
    MAX_SUMMARY,
    evaluate_case,
    record_visit,
    reject_case,
    reopen_case,
    submit_feedback,
    verify_case,
)
from fengqiao.cases.services.intake import (
    MAX_NOTE,
    IntakeData,
    PartyData,
    PreparedReport,
    add_attachment,
    add_note,
    add_party,
    file_report,
    prepare_report,
    report_case,
)
from fengqiao.cases.services.reads import (
    REVEALABLE_FIELDS,
    available_actions,
    check_tracking_token,
    reveal_party_field,
    same_party_cases,
)
from fengqiao.cases.services.steps import (
    CLOCK_FIELDS,
    DEFAULT_POLICY_CODE,
    MAX_REASON,
    PUBLIC_ACTIONS,
    case_link,
)
from fengqiao.cases.services.supervision import mark_may_turn_violent, supervise_case
from fengqiao.cases.services.workflow import (
    accept_case,
    assign_case,
    decide_extension,
    escalate_case,
    request_extension,
    resume_case,
    return_case,
    sign_case,
    suspend_case,
)

__all__ = [
    "IntakeData",
    "PartyData",
    "PreparedReport",
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
    "file_report",
    "mark_may_turn_violent",
    "prepare_report",
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
    "CLOCK_FIELDS",
    "DEFAULT_POLICY_CODE",
    "MAX_NOTE",
    "MAX_REASON",
    "MAX_SUMMARY",
    "PUBLIC_ACTIONS",
    "REVEALABLE_FIELDS",
    "case_link",
]
