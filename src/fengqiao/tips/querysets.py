"""Queries over tips, named by intent. Visibility is need-to-know, not jurisdiction.

``Tip.objects.visible_to(membership)`` is the only way a person's query starts. A membership sees
a tip when its unit is the tip's assigned unit, its supervising 扫黑办 (``routed_unit``) or the
纪委监委 routed beside it — or when the tip was merged into such a tip. Being in the tip's region
gives nothing; holding no tip capability gives nothing (the system administrator sees none); and
a unit seated inside the named officials' region never sees the tip, whatever a column says.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Self

from django.db import models
from django.db.models import Q

from fengqiao.accounts.roles import Cap
from fengqiao.core.scoping import prefix_range

if TYPE_CHECKING:
    from fengqiao.regions.models import Unit

# Region code prefixes a scope prefix can have: province, city, county, town, village, grid.
_PREFIX_LENGTHS = (2, 4, 6, 9, 12, 15)


def bypassed_prefixes(region_code: str) -> list[str]:
    """Every scope prefix that covers ``region_code``: a tip whose ``bypass_prefix`` is one of
    them names officials at or above this unit's seat, so the unit must not see it."""
    return [region_code[:n] for n in _PREFIX_LENGTHS if n <= len(region_code)]


def _unit_columns(unit_id: int, prefix: str = "") -> Q:
    return (
        Q(**{f"{prefix}assigned_unit_id": unit_id})
        | Q(**{f"{prefix}routed_unit_id": unit_id})
        | Q(**{f"{prefix}discipline_unit_id": unit_id})
    )


class TipQuerySet(models.QuerySet):
    def visible_to(self, membership: Any) -> Self:
        """Tips this membership may read (see the module docstring)."""
        if membership is None or not membership.can(Cap.TIPS_HANDLE):
            return self.none()
        unit = membership.unit
        return self.filter(
            _unit_columns(unit.pk)
            | Q(merged_into__isnull=False) & _unit_columns(unit.pk, "merged_into__")
        ).exclude(bypass_prefix__in=bypassed_prefixes(unit.region_code))

    def unscoped_all(self) -> Self:
        """Every tip, for jobs and the statistics (which never show a tip), never for a person."""
        return self.all()

    def open(self) -> Self:
        from fengqiao.tips.models import OPEN_STATUSES

        return self.filter(status__in=OPEN_STATUSES)

    def to_triage_by(self, unit: Unit) -> Self:
        """Tips waiting for this unit's triage or assignment decision."""
        from fengqiao.tips.models import TRIAGE_CLOCK_STATUSES

        return self.filter(
            Q(routed_unit=unit) | Q(discipline_unit=unit), status__in=TRIAGE_CLOCK_STATUSES
        )

    def handled_by(self, unit: Unit) -> Self:
        """Tips assigned to this unit for verification and disposal, still open."""
        from fengqiao.tips.models import Status

        return self.filter(
            assigned_unit=unit,
            status__in=(Status.ASSIGNED, Status.VERIFYING, Status.VERIFIED, Status.DISPOSED),
        )

    def carded(self) -> Self:
        return self.exclude(card="none")

    def verify_overdue(self, today: date) -> Self:
        from fengqiao.tips.models import VERIFY_CLOCK_STATUSES

        return self.filter(status__in=VERIFY_CLOCK_STATUSES, verify_by__lt=today)

    def triage_overdue(self, today: date) -> Self:
        from fengqiao.tips.models import TRIAGE_CLOCK_STATUSES

        return self.filter(status__in=TRIAGE_CLOCK_STATUSES, triage_by__lt=today)

    def within(self, prefix: str) -> Self:
        """Tips about places in a region's subtree (statistics only; never visibility)."""
        return self.filter(**prefix_range("region_code", prefix))

    def not_bypassing(self, region_code: str) -> Self:
        """Without the tips that name officials at or above ``region_code`` (statistics)."""
        return self.exclude(bypass_prefix__in=bypassed_prefixes(region_code))


class TipTransferQuerySet(models.QuerySet):
    def pending(self) -> Self:
        return self.filter(settled_at__isnull=True)

    def overdue(self, today: date) -> Self:
        return self.pending().filter(due_by__lt=today)


class TipEventQuerySet(models.QuerySet):
    def timeline(self) -> Self:
        return self.order_by("at", "id")

    def notices_for(self, unit: Unit) -> Self:
        """Supervision notices sent to this unit by the overdue sweep."""
        return self.filter(unit=unit, action="notice").order_by("-at", "-id")


class RevealRequestQuerySet(models.QuerySet):
    def pending(self) -> Self:
        return self.filter(status="pending")
