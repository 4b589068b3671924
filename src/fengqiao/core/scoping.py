"""Region scoping: the one place that turns a person into the region prefixes they may see.

A region code's scope prefix covers exactly its subtree (ARCHITECTURE §5), so every scoped query
is ``region_code LIKE 'prefix%'`` on an indexed, denormalised column. Querysets in every app mix in
``RegionScopedQuerySet`` and call ``visible_to(user)``; views never filter by hand.
"""

from __future__ import annotations

from typing import Any, Protocol, Self

from django.db import models


class ScopeHolder(Protocol):
    """Anything with a region scope: a Membership, or a user carrying ``active_membership``."""

    scope_prefix: str


def scope_prefix_for(code: str, level: str) -> str:
    """The code prefix that covers a region's subtree: 330600 (city) → 3306, 330000 → 33."""
    if level == "province":
        return code[:2]
    if level == "city":
        return code[:4]
    return code


def principal_prefix(principal: Any) -> str | None:
    """The scope prefix of a user's active membership (or of a membership itself).

    Returns None when the principal has no scope at all (anonymous, no membership): callers get
    an empty queryset, never an unscoped one.
    """
    if principal is None:
        return None
    prefix = getattr(principal, "scope_prefix", None)
    if isinstance(prefix, str) and prefix:
        return prefix
    membership = getattr(principal, "active_membership", None)
    if membership is not None:
        return principal_prefix(membership)
    return None


def prefix_range(field: str, prefix: str) -> dict[str, str]:
    """Lookups for "field starts with prefix" written as a half-open range.

    ``code >= '3306' AND code < '3307'`` is a plain B-tree range scan on SQLite and on PostgreSQL
    under any collation (codes are digits only), where LIKE would need NOCASE indexes on SQLite
    and pattern operator classes on PostgreSQL. A non-digit prefix falls back to startswith.
    """
    if not prefix.isdigit():
        return {f"{field}__startswith": prefix}
    upper = str(int(prefix) + 1).zfill(len(prefix))
    if len(upper) != len(prefix):  # "999…" has no upper bound of the same length
        return {f"{field}__gte": prefix}
    return {f"{field}__gte": prefix, f"{field}__lt": upper}


class RegionScopedQuerySet(models.QuerySet):
    """Base queryset for rows that carry a denormalised ``region_code``."""

    region_code_field = "region_code"

    def within(self, prefix: str) -> Self:
        return self.filter(**prefix_range(self.region_code_field, prefix))

    def visible_to(self, principal: Any) -> Self:
        prefix = principal_prefix(principal)
        if prefix is None:
            return self.none()
        return self.within(prefix)

    def unscoped_all(self) -> Self:
        """Every row, for jobs and commands that act for the system, never for a person."""
        return self.all()
