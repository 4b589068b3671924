"""Template context for every page: the person's memberships, the active one, the menu."""

from __future__ import annotations

from django.http import HttpRequest

from fengqiao.accounts.models import Membership
from fengqiao.accounts.navigation import nav_items_for


def memberships(request: HttpRequest) -> dict[str, object]:
    membership = getattr(request, "membership", None)
    user = getattr(request, "user", None)
    if membership is None or user is None or not user.is_authenticated:
        return {"memberships": [], "active_membership": None, "nav_items": []}
    listed = getattr(request, "active_memberships", None)
    if listed is None:
        listed = Membership.objects.active().of_user(user).with_unit().order_by("region_code", "pk")
    return {
        "memberships": listed,
        "active_membership": membership,
        "nav_items": nav_items_for(membership, request.path),
    }
