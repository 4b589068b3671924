"""The clock sweep (时限巡检): yellow and red cards on late cases, follow-up visits falling due.

Runs every five minutes under Huey and by hand (``fengqiao cases sweep``). It is idempotent and
safe to run in several workers at once: candidates are read by an indexed range (status and
deadline), then each change is claimed with ONE conditional UPDATE
(``… WHERE pk = ? AND supervision < new``) that re-checks the deadline; only the worker whose
UPDATE changed the row writes the CARD timeline row, the points entry (unique per case, unit and
reason) and the notices. Claims run in batches, in ascending id order, one transaction per
batch, so concurrent workers wait on each other's rows instead of deadlocking.

Supervision only ever rises: a case carded yellow at acceptance is not carded yellow again when
its handling runs late (it can still go red).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from fengqiao.accounts.notifications import notify_unit
from fengqiao.cases import routing
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.models import Action, Case, PointEntry, Status, StatusChange, Supervision
from fengqiao.core import audit
from fengqiao.regions.models import Unit

BATCH_SIZE = 500
# A visit that fell due longer ago than this is not announced any more; the window keeps the
# visit scan to an index range of recent closures instead of every closed case ever.
VISIT_LOOKBACK = timedelta(days=7)
RUNNING = (Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS)


@dataclass
class SweepReport:
    accept_yellow: int = 0
    accept_red: int = 0
    handle_yellow: int = 0
    handle_red: int = 0
    visits_due: int = 0

    @property
    def cards(self) -> int:
        return self.accept_yellow + self.accept_red + self.handle_yellow + self.handle_red


@dataclass(frozen=True)
class _Stage:
    """One kind of card: which cases, which deadline column, which card."""

    name: str
    statuses: tuple[str, ...]
    due_field: str  # the indexed limit column; the candidate range is on it
    deadline_field: str  # the limit this card is about (due for yellow, red for red)
    card: int


STAGES = (
    _Stage("accept", (Status.REPORTED,), "accept_due_at", "accept_due_at", Supervision.YELLOW),
    _Stage("accept", (Status.REPORTED,), "accept_due_at", "accept_red_at", Supervision.RED),
    _Stage("handle", RUNNING, "handle_due_at", "handle_due_at", Supervision.YELLOW),
    _Stage("handle", RUNNING, "handle_due_at", "handle_red_at", Supervision.RED),
)


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _late(stage: _Stage, now: datetime) -> Q:
    # The due column carries the index; the red limit is never earlier than the due one.
    return Q(
        status__in=stage.statuses,
        **{f"{stage.due_field}__lt": now, f"{stage.deadline_field}__lt": now},
    )


def _candidates(stage: _Stage, now: datetime) -> list[int]:
    ids = Case.objects.unscoped_all().filter(_late(stage, now), supervision__lt=stage.card)
    return sorted(ids.order_by().values_list("pk", flat=True))


def _supervising_unit(case: Case, cache: dict[tuple[str, str], Unit | None]) -> Unit | None:
    """The triage unit one level above the case: it is told about cards (督办 from above)."""
    key = (case.region_code, case.level)
    if key not in cache:
        try:
            cache[key] = routing.escalation_target(case)
        except WorkflowError:
            cache[key] = None
    return cache[key]


def _claim_cards(stage: _Stage, ids: list[int], now: datetime, supervisors: dict) -> int:
    """Claim a batch: one conditional UPDATE per case; the claimer writes what follows."""
    with transaction.atomic():
        claimed = [
            pk
            for pk in ids
            if Case.objects.filter(_late(stage, now), pk=pk, supervision__lt=stage.card).update(
                supervision=stage.card, updated_at=now
            )
        ]
        if not claimed:
            return 0
        cases = list(
            Case.objects.filter(pk__in=claimed)
            .select_related("owner_unit", "handler_unit", "clock_policy")
            .order_by("pk")
        )
        reason = (
            PointEntry.Reason.YELLOW if stage.card == Supervision.YELLOW else PointEntry.Reason.RED
        )
        card_name = "yellow" if stage.card == Supervision.YELLOW else "red"
        changes, points = [], []
        for case in cases:
            # Before dispatch the owner answers for the delay, after it the handler.
            responsible = (
                case.handler_unit
                if stage.name == "handle" and case.handler_unit_id
                else case.owner_unit
            )
            changes.append(
                StatusChange(
                    case=case,
                    action=Action.CARD,
                    from_status=case.status,
                    to_status=case.status,
                    at=now,
                    actor_unit=None,
                    to_unit=responsible,
                    level=responsible.level,
                    region_code=case.region_code,
                    kind=case.kind,
                    is_public=False,
                    detail={"card": card_name, "stage": stage.name},
                )
            )
            points.append(
                PointEntry(
                    unit=responsible,
                    case=case,
                    reason=reason,
                    points=(
                        case.clock_policy.points_yellow
                        if stage.card == Supervision.YELLOW
                        else case.clock_policy.points_red
                    ),
                    at=now,
                    region_code=case.region_code,
                )
            )
            title = (
                _("Case %(code)s is overdue: yellow card")
                if stage.card == Supervision.YELLOW
                else _("Case %(code)s is seriously overdue: red card")
            ) % {"code": case.code}
            told = {responsible, case.owner_unit, _supervising_unit(case, supervisors)} - {None}
            for unit in sorted(told, key=lambda u: u.pk):
                notify_unit(
                    unit,
                    kind="case.card",
                    title=title,
                    dedupe_key=f"case-card:{case.pk}:{card_name}:{unit.pk}",
                )
        StatusChange.objects.bulk_create(changes)
        PointEntry.objects.bulk_create(points, ignore_conflicts=True)
        audit.record(
            "cases.sweep_cards",
            detail={"card": card_name, "stage": stage.name, "codes": [c.code for c in cases]},
        )
    return len(claimed)


def _visit_candidates(now: datetime) -> list[int]:
    ids = Case.objects.unscoped_all().filter(
        status=Status.CLOSED,
        visit_due_at__gte=now - VISIT_LOOKBACK,
        visit_due_at__lte=now,
        visited_at__isnull=True,
        visit_notified_at__isnull=True,
    )
    return sorted(ids.order_by().values_list("pk", flat=True))


def _claim_visits(ids: Iterable[int], now: datetime) -> int:
    with transaction.atomic():
        claimed = [
            pk
            for pk in ids
            if Case.objects.filter(
                pk=pk, status=Status.CLOSED, visit_notified_at__isnull=True, visited_at__isnull=True
            ).update(visit_notified_at=now)
        ]
        for case in Case.objects.filter(pk__in=claimed).select_related("owner_unit"):
            notify_unit(
                case.owner_unit,
                kind="case.visit_due",
                title=_("Case %(code)s: the follow-up visit is due") % {"code": case.code},
                dedupe_key=f"case-visit:{case.pk}:{int(case.visit_due_at.timestamp())}",
            )
    return len(claimed)


def run_sweep(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> SweepReport:
    """One pass of the clock sweep; returns how many of each change this worker claimed."""
    now = now or timezone.now()
    report = SweepReport()
    supervisors: dict[tuple[str, str], Unit | None] = {}
    for stage in STAGES:
        claimed = sum(
            _claim_cards(stage, batch, now, supervisors)
            for batch in _chunks(_candidates(stage, now), batch_size)
        )
        attr = f"{stage.name}_{'yellow' if stage.card == Supervision.YELLOW else 'red'}"
        setattr(report, attr, getattr(report, attr) + claimed)
    report.visits_due = sum(
        _claim_visits(batch, now) for batch in _chunks(_visit_candidates(now), batch_size)
    )
    return report


@db_periodic_task(crontab(minute="*/5"))
def sweep_clocks() -> dict[str, int]:
    """Every five minutes: raise cards on late cases and announce visits that fell due."""
    report = run_sweep()
    return {
        "accept_yellow": report.accept_yellow,
        "accept_red": report.accept_red,
        "handle_yellow": report.handle_yellow,
        "handle_red": report.handle_red,
        "visits_due": report.visits_due,
    }
