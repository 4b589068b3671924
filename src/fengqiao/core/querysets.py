"""Querysets of the core tables, named by intent."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Self

from django.db import models
from django.utils import timezone


def local_midnight(day: date) -> datetime:
    """The start of ``day`` in the platform's time zone (Asia/Shanghai), as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, time.min))


class AuditEventQuerySet(models.QuerySet):
    """Audit events. Read-only by construction: the database refuses UPDATE and DELETE."""

    def newest_first(self) -> Self:
        return self.order_by("-id")

    def action_prefix(self, prefix: str) -> Self:
        return self.filter(action__startswith=prefix)

    def by_username(self, username: str) -> Self:
        return self.filter(actor_username=username)

    def on_or_after(self, day: date) -> Self:
        return self.filter(occurred_at__gte=local_midnight(day))

    def on_or_before(self, day: date) -> Self:
        return self.filter(occurred_at__lt=local_midnight(day + timedelta(days=1)))


class CalendarDayQuerySet(models.QuerySet):
    """Holidays and make-up working days."""

    def in_year(self, year: int) -> Self:
        return self.filter(date__gte=date(year, 1, 1), date__lte=date(year, 12, 31))
