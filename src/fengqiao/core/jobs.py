"""Periodic jobs of the core app.

The huey consumer must import each app's ``jobs`` module (``autodiscover_modules("jobs")``);
huey's own ``run_huey`` only discovers modules named ``tasks``.
"""

from __future__ import annotations

from django.db import connection
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from fengqiao.core import outbox, services
from fengqiao.core.sqlite import wal


@db_periodic_task(crontab(hour="3", minute="17"))
def purge_expired_audit_events() -> int:
    """Daily: drop audit events past AUDIT_RETENTION_DAYS (idempotent; a no-op most days)."""
    return services.purge_audit_events().deleted


@db_periodic_task(crontab(minute="*"))
def run_outbox() -> int:
    """Every minute: run the outbox jobs still owed — the guarantee behind the immediate run,
    which a process killed between commit and enqueue never asks for."""
    return outbox.run_pending().done


@db_task()
def run_outbox_now() -> int:
    """Queued after a commit that owed a job, so the job runs in seconds rather than a minute."""
    return outbox.run_pending().done


@db_periodic_task(crontab(minute="*"))
def truncate_sqlite_log() -> bool:
    """Every minute, on SQLite: empty the write-ahead log, trying up to 20 times over a second
    for a moment when no other connection is using it, so old page images (deleted rows
    included) do not stay in the ``-wal`` file; False when it found none, and elsewhere."""
    return wal.truncate_log(connection, attempts=20, pause=0.05)
