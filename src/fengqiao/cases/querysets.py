"""Chainable, intent-named queries over cases and their timeline (STYLE 5).

Every query that serves a person starts from ``visible_to(membership)``: a range scan on the
denormalised ``region_code``. The workbench queues then narrow to the membership's own unit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from django.db import models
from django.db.models import Q
from django.utils import timezone

from fengqiao.core.scoping import RegionScopedQuerySet, prefix_range, principal_prefix

if TYPE_CHECKING:
    from fengqiao.regions.models import Unit

# Imported lazily by value to avoid a models ↔ querysets import cycle.
_OPEN = ("reported", "accepted", "assigned", "in_progress", "suspended", "pending_verify")
_RUNNING = ("assigned", "in_progress")
DUE_SOON_WINDOW = timedelta(hours=24)


class CategoryQuerySet(models.QuerySet):
    def active(self) -> Self:
        return self.filter(is_active=True)

    def reportable(self) -> Self:
        return self.active().filter(is_reportable=True)

    def of_taxonomy(self, taxonomy: str) -> Self:
        return self.filter(taxonomy=taxonomy)


# The columns ``for_table()`` reads: what cases/case_list.html and the status badges show.
TABLE_COLUMNS = (
    "code",
    "title",
    "status",
    "supervision",
    "urgency",
    "reported_at",
    "accept_due_at",
    "handle_due_at",
    "category",
    "category__name",
    "region",
    "region__name",
    "region__place_name",
    "owner_unit",
    "owner_unit__name",
    "handler_unit",
    "handler_unit__name",
)


class CaseQuerySet(RegionScopedQuerySet):
    def visible_to(self, principal: Any) -> Self:
        """Cases in the principal's region subtree, and the cases its unit handles: a town case
        assigned to a village committee is that committee's work although the village does not
        cover the town."""
        prefix = principal_prefix(principal)
        if prefix is None:
            return self.none()
        membership = principal if hasattr(principal, "unit_id") else None
        membership = membership or getattr(principal, "active_membership", None)
        unit_id = getattr(membership, "unit_id", None)
        scope = Q(**prefix_range(self.region_code_field, prefix))
        if unit_id is not None:
            scope |= Q(handler_unit_id=unit_id)
        return self.filter(scope)

    def open(self) -> Self:
        return self.filter(status__in=_OPEN)

    def closed(self) -> Self:
        return self.filter(status__in=("closed", "evaluated", "archived"))

    def of_unit(self, unit: Unit | int) -> Self:
        """Cases the unit owns or handles."""
        return self.filter(Q(owner_unit=unit) | Q(handler_unit=unit))

    # Workbench queues (accounts.workbench) for one unit -------------------------------------

    def to_accept(self, unit: Unit | int) -> Self:
        return self.filter(owner_unit=unit, status="reported")

    def to_assign(self, unit: Unit | int) -> Self:
        return self.filter(owner_unit=unit, status="accepted")

    def to_sign(self, unit: Unit | int) -> Self:
        return self.filter(handler_unit=unit, status="assigned")

    def in_progress(self, unit: Unit | int) -> Self:
        return self.filter(handler_unit=unit, status__in=("in_progress", "suspended"))

    def to_verify(self, unit: Unit | int) -> Self:
        return self.filter(owner_unit=unit, status="pending_verify")

    def to_visit(self, unit: Unit | int, now: datetime | None = None) -> Self:
        now = now or timezone.now()
        return self.filter(
            owner_unit=unit, status="closed", visited_at__isnull=True, visit_due_at__lte=now
        )

    def overdue(self, now: datetime | None = None) -> Self:
        """Open cases past their acceptance or handling limit (suspended cases are paused)."""
        now = now or timezone.now()
        return self.filter(
            Q(status="reported", accept_due_at__lt=now)
            | Q(status__in=("accepted", *_RUNNING), handle_due_at__lt=now)
        )

    def due_soon(self, now: datetime | None = None, window: timedelta = DUE_SOON_WINDOW) -> Self:
        """Open cases whose limit falls within the window and has not passed yet."""
        now = now or timezone.now()
        return self.filter(
            Q(status="reported", accept_due_at__gte=now, accept_due_at__lt=now + window)
            | Q(
                status__in=("accepted", *_RUNNING),
                handle_due_at__gte=now,
                handle_due_at__lt=now + window,
            )
        )

    # Per-unit clocks for the workbench: who answers for a late case depends on its stage (the
    # owner before dispatch, the handler after), so each branch is one unit-queue index range.

    def overdue_for(self, unit: Unit | int, now: datetime | None = None) -> Self:
        """Open cases past their limit that ``unit`` answers for."""
        now = now or timezone.now()
        return self.filter(
            Q(owner_unit=unit, status="reported", accept_due_at__lt=now)
            | Q(owner_unit=unit, status="accepted", handle_due_at__lt=now)
            | Q(handler_unit=unit, status__in=_RUNNING, handle_due_at__lt=now)
        )

    def due_soon_for(
        self, unit: Unit | int, now: datetime | None = None, window: timedelta = DUE_SOON_WINDOW
    ) -> Self:
        """Open cases ``unit`` answers for whose limit falls within the window."""
        now = now or timezone.now()
        soon = now + window
        return self.filter(
            Q(owner_unit=unit, status="reported", accept_due_at__gte=now, accept_due_at__lt=soon)
            | Q(owner_unit=unit, status="accepted", handle_due_at__gte=now, handle_due_at__lt=soon)
            | Q(
                handler_unit=unit,
                status__in=_RUNNING,
                handle_due_at__gte=now,
                handle_due_at__lt=soon,
            )
        )

    def supervised(self) -> Self:
        return self.filter(supervision__gt=0)

    def for_list(self) -> Self:
        """What list pages and exports show, fetched in the same query."""
        return self.select_related("category", "owner_unit", "handler_unit", "region")

    def for_table(self) -> Self:
        """``for_list()`` narrowed to the columns of the HTML case tables (queues, the case list,
        same-party matches): whole rows of a case and its four relations were most of the cost
        of a 50-row queue page."""
        return self.for_list().only(*TABLE_COLUMNS)

    def apply_filters(self, **filters: Any) -> Self:
        """Filters shared by the workbench, the API list and the Excel export.

        Keys: status, kind, category (code), region (code prefix), since/until (dates of
        report), overdue (bool), supervision (int, at least). Unknown keys are ignored by the
        caller's form or schema before they reach here.
        """
        qs = self
        if filters.get("status"):
            qs = qs.filter(status=filters["status"])
        if filters.get("kind"):
            qs = qs.filter(kind=filters["kind"])
        if filters.get("category"):
            qs = qs.filter(category__code=filters["category"])
        if filters.get("region"):
            qs = qs.within(filters["region"])
        if filters.get("since"):
            qs = qs.filter(reported_at__date__gte=filters["since"])
        if filters.get("until"):
            qs = qs.filter(reported_at__date__lte=filters["until"])
        if filters.get("overdue"):
            qs = qs.overdue()
        if filters.get("supervision"):
            qs = qs.filter(supervision__gte=filters["supervision"])
        return qs


class PartyQuerySet(models.QuerySet):
    def in_open_cases(self) -> Self:
        return self.filter(case__status__in=_OPEN)


class StatusChangeQuerySet(RegionScopedQuerySet):
    def of_action(self, *actions: str) -> Self:
        return self.filter(action__in=actions)

    def between(self, start: datetime, end: datetime) -> Self:
        """Changes in the half-open period [start, end)."""
        return self.filter(at__gte=start, at__lt=end)

    def public(self) -> Self:
        return self.filter(is_public=True)
