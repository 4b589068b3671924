"""Periodic jobs of the accounts app (imported by core's ``autodiscover_modules("jobs")``)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from fengqiao.accounts import services


@db_periodic_task(crontab(minute="*/15"))
def purge_expired_sessions() -> int:
    """Every 15 minutes: drop expired sessions and their records (idempotent)."""
    return services.purge_expired_sessions()
