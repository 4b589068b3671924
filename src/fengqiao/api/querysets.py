"""Queries over Open311 client keys, scoped like every other region-bound row."""

from __future__ import annotations

from typing import Self

from fengqiao.core.scoping import RegionScopedQuerySet


class Open311ClientQuerySet(RegionScopedQuerySet):
    def active(self) -> Self:
        return self.filter(revoked_at__isnull=True)
