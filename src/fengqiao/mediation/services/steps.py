"""What every mediation step shares: who may act, the row locks and the open-mediation check."""

from __future__ import annotations

from django.utils.translation import gettext as _

from fengqiao.accounts.models import Membership
from fengqiao.accounts.roles import Cap
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.models import Case
from fengqiao.mediation.models import Mediation, MediationStatus

# Mediation runs while the case is being handled; not before acceptance, not after feedback.
MEDIATABLE_CASE_STATUSES = ("accepted", "assigned", "in_progress")


def may_act(case: Case, membership: Membership | None) -> bool:
    """Members of the case's owner or handler unit (the committee it was assigned to) record
    its mediation; a committee the case has since left no longer does."""
    return (
        membership is not None
        and membership.is_active
        and membership.can(Cap.CASES_HANDLE)
        and membership.unit_id in {case.owner_unit_id, case.handler_unit_id}
    )


def _check_actor(case: Case, membership: Membership | None) -> None:
    if not may_act(case, membership):
        raise WorkflowError(
            "not_your_unit", _("Only the units handling this case may record its mediation.")
        )


def _lock(mediation: Mediation) -> Mediation:
    # Case first, then the mediation: the order start_mediation and the case services use.
    case = Case.objects.select_for_update().get(pk=mediation.case_id)
    locked = (
        Mediation.objects.select_for_update(of=("self",))
        .select_related("committee")
        .get(pk=mediation.pk)
    )
    locked.case = case
    return locked


def _require_open(mediation: Mediation) -> None:
    if mediation.status != MediationStatus.IN_PROGRESS:
        raise WorkflowError("mediation_ended", _("This mediation has already ended."))
    if mediation.case.status not in MEDIATABLE_CASE_STATUSES:
        raise WorkflowError(
            "case_not_in_handling", _("The case is not being handled, so it cannot be mediated.")
        )
