"""Intent-named queries over mediations, scoped through their case's region (STYLE 5)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Self

from django.db.models import Q
from django.utils import timezone

from fengqiao.core.scoping import RegionScopedQuerySet

if TYPE_CHECKING:
    from fengqiao.regions.models import Unit


class MediationQuerySet(RegionScopedQuerySet):
    # A mediation is seen by whoever may see its case: the case's denormalised region code.
    region_code_field = "case__region_code"

    def in_progress(self) -> Self:
        return self.filter(status="in_progress")

    def of_committee(self, unit: Unit | int) -> Self:
        return self.filter(committee=unit)

    def confirmable(self, today: date | None = None) -> Self:
        """Written agreements whose judicial-confirmation window is still open, not yet applied."""
        today = today or timezone.localdate()
        return self.filter(
            status="agreement_written",
            confirmation_applied_on__isnull=True,
            confirmation_deadline__gte=today,
        )


class FollowUpVisitQuerySet(RegionScopedQuerySet):
    region_code_field = "mediation__case__region_code"

    def pending(self) -> Self:
        return self.filter(done_at__isnull=True)

    def due(self, today: date | None = None) -> Self:
        today = today or timezone.localdate()
        return self.pending().filter(due_on__lte=today)

    def for_unit(self, unit: Unit | int) -> Self:
        """Visits on cases the unit owns or handles: the unit's own follow-up work."""
        return self.filter(
            Q(mediation__case__owner_unit=unit) | Q(mediation__case__handler_unit=unit)
        )
