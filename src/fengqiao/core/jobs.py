"""Periodic jobs of the core app.

The huey consumer must import each app's ``jobs`` module (``autodiscover_modules("jobs")``);
huey's own ``run_huey`` only discovers modules named ``tasks``.
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from fengqiao.core import services


@db_periodic_task(crontab(hour="3", minute="17"))
def purge_expired_audit_events() -> int:
    """Daily: drop audit events past AUDIT_RETENTION_DAYS (idempotent; a no-op most days)."""
    return services.purge_audit_events().deleted
