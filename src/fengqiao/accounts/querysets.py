"""Chainable queries over memberships."""

from __future__ import annotations

from typing import Self

from fengqiao.core.scoping import RegionScopedQuerySet


class MembershipQuerySet(RegionScopedQuerySet):
    def active(self) -> Self:
        return self.filter(is_active=True, user__is_active=True)

    def of_user(self, user) -> Self:
        return self.filter(user=user)
