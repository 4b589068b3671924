"""Chainable queries over users, memberships, sessions and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models import Q

from fengqiao.core.scoping import RegionScopedQuerySet, prefix_range

if TYPE_CHECKING:
    from fengqiao.accounts.models import Membership


class UserQuerySet(models.QuerySet):
    def manageable_by(self, membership: Membership | None) -> Self:
        """Users an administrator may see: anyone holding a membership inside the
        administrator's region, and accounts not yet given any membership."""
        if membership is None:
            return self.none()
        in_scope = Q(
            **{
                f"memberships__{key}": value
                for key, value in prefix_range("region_code", membership.scope_prefix).items()
            }
        )
        return self.filter(in_scope | Q(memberships__isnull=True)).distinct()

    def search(self, text: str) -> Self:
        text = text.strip()
        if not text:
            return self
        return self.filter(Q(username__icontains=text) | Q(full_name__icontains=text))


class MembershipQuerySet(RegionScopedQuerySet):
    def active(self) -> Self:
        return self.filter(is_active=True, user__is_active=True, unit__is_active=True)

    def of_user(self, user: Any) -> Self:
        return self.filter(user=user)

    def with_unit(self) -> Self:
        return self.select_related("unit", "unit__region")


class UserSessionQuerySet(models.QuerySet):
    def of_user(self, user: Any) -> Self:
        return self.filter(user=user)


class ApiTokenQuerySet(models.QuerySet):
    def of_user(self, user: Any) -> Self:
        return self.filter(user=user)

    def usable(self, now: datetime) -> Self:
        return self.filter(revoked_at__isnull=True, expires_at__gt=now)


class UserManager(DjangoUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    """Django's user manager (create_user …) with the queries above."""
