"""Case clocks (时限): deadlines from a ``ClockPolicy`` on the holiday calendar.

Rules (DOMAIN §2; every number comes from the policy):

- **Acceptance** runs from intake (and again from an escalation, which hands the case to a new
  unit that must accept it): the yellow-card limit ``accept_days``, the red ``accept_red_days``.
- **Handling** runs from acceptance (受理后计时), the usual practice in Zhejiang's grid systems:
  assignment and signing do not restart it, so a slow dispatch counts against the deadline
  the citizen was given. A reopened case starts a fresh handling clock.
- **Working days** count on ``core.workdays`` (holidays and make-up days, 调休); the start day
  is not counted and the deadline is the END of the last working day, Asia/Shanghai time.
  **Natural days** are N × 24 hours from the start.
- **Urgent** cases get ``urgent_handle_days`` natural days (red card after twice that);
  ordinary ones are capped at ``max_handle_days`` natural days whatever the basis.
- **Suspension** (挂起) pauses the handling clock: on resume both handling deadlines move later
  by the time spent suspended.
- **Extensions** (延期) approved by the owner unit move both handling deadlines by the granted
  days, counted on the policy's basis from the current deadline.
- **Follow-up visit** (回访) falls due at the start of the local day ``visit_after_days`` after
  closure ("the day after closure" by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from fengqiao.core import workdays

if TYPE_CHECKING:
    from fengqiao.cases.models import ClockPolicy

WORKING = "working"
URGENT = "urgent"


@dataclass(frozen=True)
class Deadlines:
    """A limit (yellow card when passed) and the later red-card limit."""

    due: datetime
    red: datetime


def local_date(moment: datetime) -> date:
    """The calendar date of ``moment`` in the deployment's time zone (not the request's)."""
    return timezone.localdate(moment, timezone.get_default_timezone())


def end_of_day(day: date) -> datetime:
    """The last instant of ``day`` in the deployment's time zone."""
    return timezone.make_aware(datetime.combine(day, time.max), timezone.get_default_timezone())


def start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def add_days(basis: str, start: datetime, days: int) -> datetime:
    """``days`` on ``basis`` after ``start``: the end of the n-th working day after its date,
    or n × 24 hours later."""
    if basis == WORKING:
        return end_of_day(workdays.add_working_days(local_date(start), days))
    return start + timedelta(days=days)


def accept_deadlines(policy: ClockPolicy, start: datetime) -> Deadlines:
    return Deadlines(
        due=add_days(policy.basis, start, policy.accept_days),
        red=add_days(policy.basis, start, policy.accept_red_days),
    )


def handle_deadlines(policy: ClockPolicy, start: datetime, urgency: str) -> Deadlines:
    if urgency == URGENT:
        days = policy.urgent_handle_days
        return Deadlines(due=start + timedelta(days=days), red=start + timedelta(days=2 * days))
    cap = start + timedelta(days=policy.max_handle_days)
    return Deadlines(
        due=min(add_days(policy.basis, start, policy.handle_days), cap),
        red=min(add_days(policy.basis, start, policy.handle_red_days), cap),
    )


def extended(policy: ClockPolicy, deadlines: Deadlines, days: int) -> Deadlines:
    """Both handling limits moved ``days`` later on the policy's basis."""
    return Deadlines(
        due=add_days(policy.basis, deadlines.due, days),
        red=add_days(policy.basis, deadlines.red, days),
    )


def resumed(deadlines: Deadlines, paused_for: timedelta) -> Deadlines:
    """Both limits moved later by the time the case spent suspended."""
    return Deadlines(due=deadlines.due + paused_for, red=deadlines.red + paused_for)


def visit_due(policy: ClockPolicy, closed_at: datetime) -> datetime:
    return start_of_day(local_date(closed_at) + timedelta(days=policy.visit_after_days))


def on_time(at: datetime, due: datetime | None) -> bool | None:
    """Whether a clocked step at ``at`` met ``due``; None when there was no clock."""
    if due is None:
        return None
    return at <= due


def due_soon_window(policy: ClockPolicy) -> timedelta:
    return timedelta(hours=policy.due_soon_hours)
