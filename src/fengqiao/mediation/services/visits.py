"""Follow-up visits (回访): whether the agreement was performed."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.accounts.models import Membership, User
from fengqiao.cases.errors import WorkflowError
from fengqiao.core import audit
from fengqiao.mediation.models import FollowUpVisit, Performance
from fengqiao.mediation.services.steps import _check_actor, _lock


@transaction.atomic
def record_visit(
    visit: FollowUpVisit, *, actor: User, membership: Membership, performed: str, notes: str = ""
) -> FollowUpVisit:
    """Record a follow-up visit (回访): whether the agreement was performed."""
    mediation = _lock(visit.mediation)
    visit = FollowUpVisit.objects.select_for_update().get(pk=visit.pk)
    visit.mediation = mediation
    _check_actor(mediation.case, membership)
    if visit.done_at is not None:
        raise WorkflowError("visit_done", _("This visit has already been recorded."))
    if performed not in Performance.values:
        raise WorkflowError(
            "invalid_performance", _("Say whether the agreement was performed."), field="performed"
        )
    if performed != Performance.YES and not notes.strip():
        raise WorkflowError(
            "notes_required",
            _("Describe what remains unperformed and what was done about it."),
            field="notes",
        )
    visit.done_at = timezone.now()
    visit.performed = performed
    visit.notes = notes.strip()
    visit.visited_by = actor
    visit.save(update_fields=["done_at", "performed", "notes", "visited_by", "updated_at"])
    audit.record(
        "mediation.visit_recorded",
        actor=actor,
        membership=membership,
        obj=visit,
        detail={"case": mediation.case.code, "performed": performed},
    )
    return visit
