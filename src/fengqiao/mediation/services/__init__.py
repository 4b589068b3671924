"""The only writers of mediation rows (人民调解): start, sessions, outcome, confirmation, visits.

Each service is atomic, locks the mediation (or the case when starting), checks the state and who
acts, saves only the fields it changes and appends its audit event last. Mediation does not move
the case through its workflow: the handler still reports completion (办结反馈) through
``cases.services``; the outcome is told to the citizen as a public note on the case. Refusals
raise ``WorkflowError`` with a stable code and a Chinese message.

The modules: ``starting`` (调解登记 and mediators), ``sessions`` (调解笔录), ``agreements``
(调解协议 and the visits it schedules), ``termination`` (终止调解, art. 26), ``visits`` (回访),
``confirmation`` (司法确认, art. 33), ``violence`` (the art. 25 hand-over to the case engine) and
``steps`` (who may act, the locks, the open-mediation check). Import from this package, not from
the modules. The case engine is reached as ``cases.services`` at call time, so a test that
patches a name there reaches these services.
"""

from fengqiao.mediation.services.agreements import (
    AgreementData,
    AgreementParty,
    record_agreement,
)
from fengqiao.mediation.services.confirmation import (
    record_confirmation_decision,
    record_judicial_confirmation,
)
from fengqiao.mediation.services.sessions import record_session
from fengqiao.mediation.services.starting import start_mediation
from fengqiao.mediation.services.steps import MEDIATABLE_CASE_STATUSES, may_act
from fengqiao.mediation.services.termination import ROUTES, record_failure
from fengqiao.mediation.services.violence import flag_may_turn_violent
from fengqiao.mediation.services.visits import record_visit

__all__ = [
    "MEDIATABLE_CASE_STATUSES",
    "ROUTES",
    "AgreementParty",
    "AgreementData",
    "may_act",
    "start_mediation",
    "record_session",
    "record_agreement",
    "record_failure",
    "record_visit",
    "record_judicial_confirmation",
    "record_confirmation_decision",
    "flag_may_turn_violent",
]
