"""SQLite whose write transactions start without the busy handler's long sleeps.

SQLite admits one writer at a time. A connection that finds the write lock taken waits in the
busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms between tries and does
not learn that the lock came free in between. Two gunicorn workers taking API intakes (a write
transaction of a few milliseconds each) kept missing each other's commit by those sleeps: the
waiter slept on with the lock free and the CPU idle. Here ``BEGIN IMMEDIATE`` is tried with
the busy handler off and retried after pauses of at most a millisecond, until the connection's
busy timeout has passed; then it fails as SQLite would ("database is locked"). Statements
outside a transaction keep the busy handler.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from django.db.backends.sqlite3 import base

# The retry pauses, in seconds: short first (most write transactions last a few milliseconds),
# never longer than one, so a freed lock is noticed within a millisecond.
FIRST_PAUSE = 0.0001
LONGEST_PAUSE = 0.001


def _is_busy(error: Exception) -> bool:
    # By result code, not message: the primary code (low byte) of an extended one counts too.
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (
        base.Database.SQLITE_BUSY,
        base.Database.SQLITE_LOCKED,
    )


@contextlib.contextmanager
def without_busy_handler(raw) -> Iterator[int]:
    """Run statements on the sqlite3 connection ``raw`` with busy timeout 0 (a taken lock
    answers "busy" at once); yields the busy timeout in milliseconds, restored on exit."""
    (busy_ms,) = raw.execute("PRAGMA busy_timeout").fetchone()
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        yield busy_ms
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")


class DatabaseWrapper(base.DatabaseWrapper):
    def _start_transaction_under_autocommit(self):
        if self.transaction_mode is None:
            # DEFERRED transactions take the write lock at their first write, where the busy
            # handler is the only way to wait.
            super()._start_transaction_under_autocommit()
            return
        statement = f"BEGIN {self.transaction_mode}"
        raw = self.connection
        with without_busy_handler(raw) as busy_ms:
            # The connection's own busy timeout bounds the wait, as it would have.
            deadline = time.monotonic() + busy_ms / 1000
            pause = FIRST_PAUSE
            while True:
                try:
                    raw.execute(statement)
                    return
                except base.Database.OperationalError as error:
                    if not _is_busy(error) or time.monotonic() >= deadline:
                        raise
                time.sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE)
