"""Chainable, intent-named queries over regions and units, and the subtree counts built on them.

Counts below a region never recurse: every descendant's code starts with the region's scope
prefix, so "how many villages under each town of 诸暨市" is one range scan grouped by the first
nine characters of the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

from django.db.models import Count
from django.db.models.functions import Substr

from fengqiao.core.scoping import RegionScopedQuerySet

if TYPE_CHECKING:
    from fengqiao.regions.models import Region


class RegionQuerySet(RegionScopedQuerySet):
    region_code_field = "code"

    def at_level(self, level: str) -> Self:
        return self.filter(level=level)

    def children_of(self, region: Region) -> Self:
        return self.filter(parent=region)

    def below(self, region: Region) -> Self:
        """The region's whole subtree, without the region itself."""
        return self.within(region.scope_prefix).exclude(pk=region.pk)

    def level_counts(self) -> dict[str, int]:
        """How many regions of each level are in this queryset: {"town": 18, "village": 500}."""
        rows = self.order_by().values("level").annotate(n=Count("id"))
        return {row["level"]: row["n"] for row in rows}

    def level_counts_by_prefix(self, length: int) -> dict[str, dict[str, int]]:
        """Counts per level, grouped by the first ``length`` characters of the code.

        With ``length`` the children's prefix length this gives every child's subtree counts in
        one query: {"330681109": {"village": 27, "grid": 140}, …}.
        """
        rows = (
            self.order_by()
            .annotate(prefix=Substr("code", 1, length))
            .values("prefix", "level")
            .annotate(n=Count("id"))
        )
        counts: dict[str, dict[str, int]] = {}
        for row in rows:
            counts.setdefault(row["prefix"], {})[row["level"]] = row["n"]
        return counts


class UnitQuerySet(RegionScopedQuerySet):
    def active(self) -> Self:
        return self.filter(is_active=True)

    def of_kind(self, kind: str) -> Self:
        return self.filter(kind=kind)

    def in_region(self, region: Region) -> Self:
        """Units seated in exactly this region (not below it)."""
        return self.filter(region_code=region.code)

    def counts_by_prefix(self, length: int) -> dict[str, int]:
        """Unit counts grouped by the first ``length`` characters of their region code."""
        rows = (
            self.order_by()
            .annotate(prefix=Substr("region_code", 1, length))
            .values("prefix")
            .annotate(n=Count("id"))
        )
        return {row["prefix"]: row["n"] for row in rows}


def subtree_counts(region: Region, *, scope: Any) -> dict[str, int]:
    """Regions per level strictly below ``region`` and active units at or below it, as seen by
    ``scope`` (two queries): {"town": 18, "village": 500, "grid": 2710, "units": 3300}."""
    from fengqiao.regions.models import Region, Unit

    counts = Region.objects.visible_to(scope).below(region).level_counts()
    counts["units"] = Unit.objects.visible_to(scope).active().within(region.scope_prefix).count()
    return counts


@dataclass
class RegionSummary:
    """A region with the counts of what lies below it, for the browser and the API."""

    region: Region
    counts: dict[str, int] = field(default_factory=dict)


def children_with_counts(region: Region, *, scope: Any) -> list[RegionSummary]:
    """The region's children as seen by ``scope``, each with its subtree counts.

    Three queries whatever the number of children: the children, regions per level grouped by
    the children's prefix, and units grouped the same way (no query per child).
    """
    from fengqiao.regions.models import LEVEL_ORDER, Region, Unit

    children = list(Region.objects.visible_to(scope).children_of(region).order_by("code"))
    if not children:
        return []
    length = len(children[0].scope_prefix)
    below_children = LEVEL_ORDER[LEVEL_ORDER.index(children[0].level) + 1 :]
    region_counts = (
        Region.objects.visible_to(scope)
        .within(region.scope_prefix)
        .filter(level__in=below_children)
        .level_counts_by_prefix(length)
    )
    unit_counts = (
        Unit.objects.visible_to(scope).active().within(region.scope_prefix).counts_by_prefix(length)
    )
    summaries = []
    for child in children:
        # Prefix grouping is exact only when every child's prefix has the same length, which
        # holds for statistical codes: all children of one region sit at the same level.
        counts = {
            level: region_counts.get(child.scope_prefix, {}).get(level, 0)
            for level in below_children
        }
        counts["units"] = unit_counts.get(child.scope_prefix, 0)
        summaries.append(RegionSummary(region=child, counts=counts))
    return summaries
