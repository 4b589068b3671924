"""Case metrics per region and period, computed only from ``StatusChange`` rows (and points from
``PointEntry``), never from the mutable case fields (ARCHITECTURE §6).

For a region prefix and a half-open period [start, end) — a row counts when its ``at`` falls in
the period and its ``region_code`` (the case's region when the step happened) is in the subtree:

- 受理及时率 accept on time: ACCEPT rows with ``on_time`` / ACCEPT rows.
- 按期办结率 closed on time: closing rows (VERIFY_PASS, CLOSE) with ``on_time`` / closing rows.
- 化解率 resolution: closing rows whose detail says ``resolved`` / closing rows.
- 满意率 satisfaction: EVALUATE rows with satisfaction ≥ 4 (of 5) / EVALUATE rows.
- 回退率 return rate: RETURN rows / ASSIGN rows (returns per dispatch in the period).
- 越级上报率 skip-level escalation: ESCALATE_SKIP rows / (ESCALATE + ESCALATE_SKIP) rows — the
  share of escalations that went past a level.
- 小事不出村: dispute closing rows whose level (the handler's) is village or grid / dispute
  closing rows; 大事不出镇 / 矛盾不上交: the same at town level or below.

One aggregate query for the timeline figures, one for the points. A rate is None when its
denominator is 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q, Sum

from fengqiao.cases.models import Action, CaseKind, PointEntry, StatusChange
from fengqiao.core.scoping import prefix_range
from fengqiao.regions.models import Level

CLOSING = (Action.VERIFY_PASS, Action.CLOSE)
SATISFIED_FROM = 4
VILLAGE_LEVELS = (Level.VILLAGE, Level.GRID)
TOWN_OR_BELOW = (Level.TOWN, Level.VILLAGE, Level.GRID)


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class CaseMetrics:
    region_prefix: str
    start: datetime
    end: datetime
    accepted_on_time: Ratio  # 受理及时率
    closed_on_time: Ratio  # 按期办结率
    resolved: Ratio  # 化解率
    satisfied: Ratio  # 满意率
    returned: Ratio  # 回退率
    skipped_level: Ratio  # 越级上报率
    disputes_at_village: Ratio  # 小事不出村
    disputes_at_or_below_town: Ratio  # 大事不出镇
    points_total: int = 0
    points_by_unit: dict[int, int] = field(default_factory=dict)


def case_metrics(region_prefix: str, start: datetime, end: datetime) -> CaseMetrics:
    """The metrics of one region subtree over [start, end)."""
    rows = (
        StatusChange.objects.within(region_prefix)
        .between(start, end)
        .filter(
            action__in=(
                Action.ACCEPT,
                *CLOSING,
                Action.EVALUATE,
                Action.RETURN,
                Action.ASSIGN,
                Action.ESCALATE,
                Action.ESCALATE_SKIP,
            )
        )
        .order_by()
    )
    closing = Q(action__in=CLOSING)
    dispute_closing = closing & Q(kind=CaseKind.DISPUTE)
    counts = rows.aggregate(
        accepts=Count("id", filter=Q(action=Action.ACCEPT)),
        accepts_on_time=Count("id", filter=Q(action=Action.ACCEPT, on_time=True)),
        closes=Count("id", filter=closing),
        closes_on_time=Count("id", filter=closing & Q(on_time=True)),
        closes_resolved=Count("id", filter=closing & Q(detail__resolved=True)),
        evaluations=Count("id", filter=Q(action=Action.EVALUATE)),
        satisfied=Count(
            "id", filter=Q(action=Action.EVALUATE, detail__satisfaction__gte=SATISFIED_FROM)
        ),
        returns=Count("id", filter=Q(action=Action.RETURN)),
        assigns=Count("id", filter=Q(action=Action.ASSIGN)),
        escalations=Count("id", filter=Q(action__in=(Action.ESCALATE, Action.ESCALATE_SKIP))),
        skips=Count("id", filter=Q(action=Action.ESCALATE_SKIP)),
        dispute_closes=Count("id", filter=dispute_closing),
        dispute_village=Count("id", filter=dispute_closing & Q(level__in=VILLAGE_LEVELS)),
        dispute_town=Count("id", filter=dispute_closing & Q(level__in=TOWN_OR_BELOW)),
    )
    points = (
        PointEntry.objects.filter(at__gte=start, at__lt=end)
        .filter(**prefix_range("region_code", region_prefix))
        .order_by()
        .values("unit_id")
        .annotate(total=Sum("points"))
    )
    by_unit = {row["unit_id"]: row["total"] for row in points}
    return CaseMetrics(
        region_prefix=region_prefix,
        start=start,
        end=end,
        accepted_on_time=Ratio(counts["accepts_on_time"], counts["accepts"]),
        closed_on_time=Ratio(counts["closes_on_time"], counts["closes"]),
        resolved=Ratio(counts["closes_resolved"], counts["closes"]),
        satisfied=Ratio(counts["satisfied"], counts["evaluations"]),
        returned=Ratio(counts["returns"], counts["assigns"]),
        skipped_level=Ratio(counts["skips"], counts["escalations"]),
        disputes_at_village=Ratio(counts["dispute_village"], counts["dispute_closes"]),
        disputes_at_or_below_town=Ratio(counts["dispute_town"], counts["dispute_closes"]),
        points_total=sum(by_unit.values()),
        points_by_unit=by_unit,
    )
