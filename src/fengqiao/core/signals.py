"""Connection set-up that settings alone cannot express."""

from __future__ import annotations

from django.db.backends.signals import connection_created


def _sqlite_pragmas(sender, connection, **kwargs) -> None:
    # init_command already sets WAL and secure_delete; busy_timeout is repeated here because the
    # Python driver's own timeout does not cover every statement (e.g. checkpoints).
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout=20000")


connection_created.connect(_sqlite_pragmas)
