"""Supervision: the overdue sweep with its cards and notices, and the suppressed statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.accounts import notifications
from fengqiao.accounts.roles import Cap
from fengqiao.core import audit
from fengqiao.regions.models import Region, Unit
from fengqiao.tips import policy, statistics
from fengqiao.tips.errors import TipNotFound
from fengqiao.tips.models import (
    TRIAGE_CLOCK_STATUSES,
    VERIFY_CLOCK_STATUSES,
    Action,
    Card,
    Tip,
    TipEvent,
    TipTransfer,
)
from fengqiao.tips.querysets import bypassed_prefixes

if TYPE_CHECKING:
    from fengqiao.accounts.models import Membership


@dataclass
class SweepResult:
    checked: int = 0
    yellow: int = 0
    red: int = 0


def _deadlines(tip: Tip, pending: dict[int, date]) -> list[tuple[str, date]]:
    clocks = []
    if tip.status in TRIAGE_CLOCK_STATUSES:
        clocks.append(("forward", tip.triage_by))
    if tip.status in VERIFY_CLOCK_STATUSES:
        clocks.append(("verify", tip.verify_by))
    if tip.pk in pending:
        clocks.append(("take_up", pending[tip.pk]))
    return clocks


def sweep_overdue(*, today: date | None = None) -> SweepResult:
    """Raise yellow and red cards on tips whose clocks ran out; notify the supervising 扫黑办.

    Idempotent: each card is claimed with a conditional UPDATE (only from a lower card), so a
    second run, or a second worker, raises and notifies nothing twice.
    """
    today = today or timezone.localdate()
    result = SweepResult()
    # The earliest overdue hand-over of each tip (values_list into a dict keeps the last).
    pending = dict(
        TipTransfer.objects.overdue(today).order_by("-due_by").values_list("tip_id", "due_by")
    )
    overdue = (
        Q(status__in=TRIAGE_CLOCK_STATUSES, triage_by__lt=today)
        | Q(status__in=VERIFY_CLOCK_STATUSES, verify_by__lt=today)
        | Q(pk__in=list(pending))
    )
    candidates = (
        Tip.objects.unscoped_all()
        .filter(overdue, status__in=VERIFY_CLOCK_STATUSES)
        .exclude(card=Card.RED)
        .only("pk", "status", "triage_by", "verify_by", "card")
        .order_by("pk")
    )
    for tip in candidates.iterator(chunk_size=500):
        result.checked += 1
        overdue = [(clock, due) for clock, due in _deadlines(tip, pending) if due < today]
        if not overdue:
            continue
        clock, due = min(overdue, key=lambda item: item[1])
        card = Card.RED if today > policy.red_card_after(due) else Card.YELLOW
        if _raise_card(tip, card, clock=clock, due=due):
            if card == Card.RED:
                result.red += 1
            else:
                result.yellow += 1
    return result


@transaction.atomic
def _raise_card(tip: Tip, card: str, *, clock: str, due: date) -> bool:
    lower = [Card.NONE] if card == Card.YELLOW else [Card.NONE, Card.YELLOW]
    now = timezone.now()
    claimed = Tip.objects.filter(pk=tip.pk, card__in=lower).update(
        card=card, card_at=now, updated_at=now
    )
    if not claimed:
        return False
    tip = Tip.objects.select_related("routed_unit").get(pk=tip.pk)
    detail = {"card": card, "clock": clock, "due": due.isoformat()}
    TipEvent.objects.create(
        tip=tip,
        action=Action.CARD,
        from_status=tip.status,
        to_status=tip.status,
        at=now,
        detail=detail,
    )
    if tip.routed_unit is not None:
        notifications.notify_unit(
            tip.routed_unit,
            kind="tip_card",
            title=_("Tip %(reference)s: %(card)s")
            % {"reference": tip.reference, "card": Card(card).label},
            dedupe_key=f"tips:card:{tip.pk}:{card}",
        )
        TipEvent.objects.create(
            tip=tip,
            action=Action.NOTICE,
            from_status=tip.status,
            to_status=tip.status,
            at=now,
            unit=tip.routed_unit,
            detail={"card": card},
        )
    audit.record("tips.card_raised", obj=tip, detail=detail)
    return True


def _statistics_region(membership: Membership, region_code: str) -> Region:
    if membership is None or not membership.can(Cap.TIPS_STATS):
        raise TipNotFound
    region = Region.objects.visible_to(membership).filter(code=region_code).first()
    if region is None:
        raise TipNotFound
    return region


def tip_statistics(
    *, membership: Membership, region_code: str, start: date, end: date
) -> statistics.Table:
    """Suppressed statistics of a region in the membership's scope (``tips.statistics``)."""
    if end < start:
        raise ValidationError({"end": [_("The end date is before the start date.")]})
    region = _statistics_region(membership, region_code)
    return statistics.build_table(
        region=region, viewer_region_code=membership.unit.region_code, start=start, end=end
    )


def export_statistics(*, membership: Membership, region_code: str, start: date, end: date) -> bytes:
    """The statistics as an Excel workbook (figures only). Audited as an export."""
    table = tip_statistics(membership=membership, region_code=region_code, start=start, end=end)
    audit.record(
        "tips.statistics_exported",
        actor=membership.user,
        membership=membership,
        obj=("regions.region", region_code),
        detail={"start": start.isoformat(), "end": end.isoformat()},
    )
    return statistics.to_xlsx(table)


def bypass_blocks(unit: Unit, tip: Tip) -> bool:
    """Whether the bypass rule keeps ``unit`` away from ``tip`` (for tests and pages)."""
    return bool(tip.bypass_prefix) and tip.bypass_prefix in bypassed_prefixes(unit.region_code)
