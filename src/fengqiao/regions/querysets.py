"""Chainable, intent-named queries over regions and units."""

from __future__ import annotations

from typing import Self

from fengqiao.core.scoping import RegionScopedQuerySet


class RegionQuerySet(RegionScopedQuerySet):
    region_code_field = "code"

    def at_level(self, level: str) -> Self:
        return self.filter(level=level)

    def children_of(self, region) -> Self:
        return self.filter(parent=region)


class UnitQuerySet(RegionScopedQuerySet):
    def active(self) -> Self:
        return self.filter(is_active=True)

    def of_kind(self, kind: str) -> Self:
        return self.filter(kind=kind)
