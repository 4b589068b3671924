"""The workbench (工作台): a registry of work queues that the domain apps fill.

The accounts app owns the page but not the work. Each domain app registers its queues at start-up
(in its ``AppConfig.ready``)::

    from fengqiao.accounts import workbench

    workbench.register_queue(
        workbench.TO_ACCEPT,
        count=lambda membership: Case.objects.to_accept(membership.unit_id),
        url_name="cases:queue",
        url_kwargs={"queue": "to-accept"},
    )

A queue counts what one membership has to do; the page shows only queues that were registered,
never invented numbers. ``count`` gives the queue's rows as a QuerySet (or a number): the page
counts all queues' rows in one statement, whatever their number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fengqiao.accounts.roles import Cap

if TYPE_CHECKING:
    from fengqiao.accounts.models import Membership

# The standard queues of the workbench, in display order (ARCHITECTURE §10).
TO_ACCEPT = "to_accept"
TO_SIGN = "to_sign"
IN_PROGRESS = "in_progress"
DUE_SOON = "due_soon"
OVERDUE = "overdue"
TO_VERIFY = "to_verify"
TO_VISIT = "to_visit"

STANDARD_QUEUES: dict[str, tuple[int, Promise]] = {
    TO_ACCEPT: (10, _("To accept")),
    TO_SIGN: (20, _("To sign")),
    IN_PROGRESS: (30, _("In progress")),
    DUE_SOON: (40, _("Due soon")),
    OVERDUE: (50, _("Overdue")),
    TO_VERIFY: (60, _("To verify")),
    TO_VISIT: (70, _("Follow-up visits")),
}


@dataclass(frozen=True)
class Queue:
    """A registered queue: how to count it for a membership and where its list lives."""

    key: str
    label: Promise | str
    count: Callable[[Membership], QuerySet | int]  # the queue's rows, or their number
    order: int
    url_name: str | None = None
    url_kwargs: dict[str, str] = field(default_factory=dict)
    capability: str = Cap.WORKBENCH
    # A queue shown as a warning (overdue) is highlighted on the page.
    warning: bool = False


@dataclass(frozen=True)
class QueueItem:
    """A queue as one membership sees it on the page."""

    key: str
    label: str
    count: int
    url: str | None
    warning: bool


_REGISTRY: dict[str, Queue] = {}


def register_queue(
    key: str,
    *,
    count: Callable[[Membership], QuerySet | int],
    label: Promise | str | None = None,
    order: int | None = None,
    url_name: str | None = None,
    url_kwargs: dict[str, str] | None = None,
    capability: str = Cap.WORKBENCH,
) -> Queue:
    """Add (or replace) a queue. Standard keys bring their own label and position."""
    standard_order, standard_label = STANDARD_QUEUES.get(key, (1000, None))
    if label is None and standard_label is None:
        raise ValueError(f"queue {key!r} is not a standard queue and needs a label")
    queue = Queue(
        key=key,
        label=label if label is not None else standard_label,
        count=count,
        order=order if order is not None else standard_order,
        url_name=url_name,
        url_kwargs=url_kwargs or {},
        capability=capability,
        warning=key == OVERDUE,
    )
    _REGISTRY[key] = queue
    return queue


def unregister_queue(key: str) -> None:
    _REGISTRY.pop(key, None)


def registered_queues() -> list[Queue]:
    return sorted(_REGISTRY.values(), key=lambda queue: (queue.order, queue.key))


def queues_for(membership: Membership) -> list[QueueItem]:
    """The registered queues this membership may see, counted for it (one statement for all
    that give their rows)."""
    visible = [queue for queue in registered_queues() if membership.can(queue.capability)]
    counts = {queue.key: queue.count(membership) for queue in visible}
    for key, value in counts.items():
        if not isinstance(value, QuerySet | int):
            raise TypeError(f"queue {key!r} counted {type(value).__name__}, not rows or a number")
    counts.update(count_together({k: v for k, v in counts.items() if isinstance(v, QuerySet)}))
    items = []
    for queue in visible:
        try:
            url = reverse(queue.url_name, kwargs=queue.url_kwargs) if queue.url_name else None
        except NoReverseMatch:
            url = None
        items.append(
            QueueItem(
                key=queue.key,
                label=str(queue.label),
                count=counts[queue.key],
                url=url,
                warning=queue.warning,
            )
        )
    return items


def count_together(querysets: dict[str, QuerySet]) -> dict[str, int]:
    """The number of rows of each QuerySet: one statement per database for all of them, a
    scalar COUNT subquery per QuerySet, each planned on its own indexes as its own ``count()``
    would be. A QuerySet that can match nothing counts 0 without a query; a sliced one is
    counted on its own."""
    counts: dict[str, int] = {}
    together: dict[str, list[tuple[str, str, list]]] = {}
    for key, queryset in querysets.items():
        if queryset.query.is_sliced:
            counts[key] = queryset.count()
            continue
        rows = queryset.order_by().values("pk")
        try:
            sql, params = rows.query.get_compiler(using=rows.db).as_sql()
        except EmptyResultSet:  # .none(), an empty IN list: nothing to ask the database
            counts[key] = 0
            continue
        together.setdefault(rows.db, []).append((key, sql, list(params)))
    for using, parts in together.items():
        counts_sql = ", ".join(
            f"(SELECT COUNT(*) FROM ({sql}) AS q{n})"  # noqa: S608 - ORM-compiled
            for n, (_key, sql, _params) in enumerate(parts)
        )
        with connections[using].cursor() as cursor:
            cursor.execute(f"SELECT {counts_sql}", [p for *_, params in parts for p in params])  # noqa: S608 - as above
            row = cursor.fetchone()
        counts.update(zip((key for key, *_ in parts), row, strict=True))
    return counts
