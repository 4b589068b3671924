"""Working days (工作日) under the Chinese holiday calendar, including make-up days (调休).

A date is a working day when it is a Monday–Friday that is not a public holiday, or a Saturday or
Sunday that the State Council made a make-up working day. The exceptions live in ``CalendarDay``;
a year without a ``CalendarYear`` row is "unknown": only weekends rest there, and administrators
are warned (``calendar_warning``).

Deadline sweeps call these functions for thousands of cases, so each process loads a year's
exceptions once into sets. Writers call ``invalidate()`` (services do it on commit); other
processes notice through a generation number in the shared cache, checked at most once a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.cache import cache
from django.utils import timezone

GENERATION_KEY = "fengqiao:calendar:generation"
GENERATION_CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class YearSchedule:
    """One year's exceptions to the Monday–Friday week."""

    year: int
    known: bool
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5


class _Store:
    """Per-process cache of year schedules, dropped when the calendar changes."""

    def __init__(self) -> None:
        self._years: dict[int, YearSchedule] = {}
        self._generation: object = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._years = {}
            self._checked_at = 0.0

    def _check_generation(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < GENERATION_CHECK_SECONDS and self._years:
            return
        generation = cache.get(GENERATION_KEY)
        with self._lock:
            if generation != self._generation:
                self._years = {}
                self._generation = generation
            self._checked_at = now

    def year(self, year: int) -> YearSchedule:
        self._check_generation()
        schedule = self._years.get(year)
        if schedule is None:
            schedule = _load_year(year)
            with self._lock:
                self._years[year] = schedule
        return schedule


def _load_year(year: int) -> YearSchedule:
    from fengqiao.core.models import CalendarDay, CalendarYear

    rows = CalendarDay.objects.in_year(year).values_list("date", "kind")
    holidays = frozenset(d for d, kind in rows if kind == CalendarDay.Kind.HOLIDAY)
    makeup = frozenset(d for d, kind in rows if kind == CalendarDay.Kind.MAKEUP_WORKDAY)
    known = CalendarYear.objects.filter(year=year).exists()
    return YearSchedule(year=year, known=known, holidays=holidays, makeup_workdays=makeup)


_store = _Store()


def invalidate() -> None:
    """Drop this process's cache and tell the others (call after a calendar write commits)."""
    _store.invalidate()
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 1, timeout=None)


def schedule(year: int) -> YearSchedule:
    return _store.year(year)


def is_working_day(day: date) -> bool:
    return _store.year(day.year).is_working_day(day)


def add_working_days(start: date, n: int) -> date:
    """The ``n``-th working day after ``start`` (before it when ``n`` is negative).

    The start day itself is not counted, as in statutory time limits; ``n == 0`` returns
    ``start`` unchanged.
    """
    step = 1 if n >= 0 else -1
    remaining = abs(n)
    day = start
    while remaining:
        day += timedelta(days=step)
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end``; negative when ``end`` is earlier.

    ``add_working_days(a, working_days_between(a, b)) == b`` whenever ``b`` is a working day.
    """
    if end < start:
        return -working_days_between(end, start)
    count = 0
    day = start + timedelta(days=1)
    while day <= end:
        year = _store.year(day.year)
        year_end = min(end, date(day.year, 12, 31))
        while day <= year_end:
            count += year.is_working_day(day)
            day += timedelta(days=1)
    return count


def next_working_day(day: date) -> date:
    """``day`` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def unknown_years(years: Iterable[int] | None = None) -> list[int]:
    """The years among ``years`` (default: this year and next) whose schedule is not entered."""
    if years is None:
        current = timezone.localdate().year
        years = (current, current + 1)
    return [year for year in sorted(set(years)) if not _store.year(year).known]


def calendar_warning(years: Iterable[int] | None = None) -> dict | None:
    """Template context for the "holiday schedule unknown" warning, or None when all is known.

    Pages for the system administrator include ``core/_calendar_warning.html`` with this as
    ``calendar_warning`` (or use the ``{% calendar_warning %}`` tag from ``core_calendar``).
    """
    missing = unknown_years(years)
    if not missing:
        return None
    return {"years": missing}


# --- the chinese-calendar package ------------------------------------------------------------


def package_schedule() -> tuple[list[tuple[date, str, str]], list[int]]:
    """Holidays and make-up working days known to the ``chinese-calendar`` package.

    Returns ``(days, years)``: ``(date, kind, Chinese name)`` triples and the years the package
    covers completely. Holidays falling on a weekend are kept, so the list reads like the
    published notice.
    """
    from chinese_calendar import constants

    chinese = {member.value: member.chinese for member in constants.Holiday}
    days: list[tuple[date, str, str]] = []
    for day, name in constants.holidays.items():
        days.append((day, "holiday", chinese.get(name, name)))
    for day, name in constants.workdays.items():
        days.append((day, "makeup_workday", chinese.get(name, name)))
    years = sorted({day.year for day, _, _ in days})
    return sorted(days), list(range(years[0], years[-1] + 1))
