"""A dispute that may turn violent (人民调解法 art. 25): handed over to the case engine."""

from __future__ import annotations

from django.utils.translation import gettext as _

from fengqiao.accounts.models import Membership, User
from fengqiao.cases import services as case_services
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.models import Case
from fengqiao.mediation.models import Mediation
from fengqiao.mediation.services.steps import _check_actor


def flag_may_turn_violent(
    mediation: Mediation, *, actor: User, membership: Membership, reason: str
) -> Case:
    """A dispute that may turn into a public-order or criminal case (人民调解法 art. 25).

    The case engine marks the case and tells the police station and the town command room; this
    only checks that the person works the mediation and hands over.
    """
    case = mediation.case
    _check_actor(case, membership)
    if not reason.strip():
        raise WorkflowError(
            "reason_required", _("Say why the dispute may turn violent."), field="reason"
        )
    return case_services.mark_may_turn_violent(
        case, actor=actor, membership=membership, reason=reason.strip()
    )
