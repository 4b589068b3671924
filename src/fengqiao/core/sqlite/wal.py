"""Emptying SQLite's write-ahead log (the ``-wal`` file) outside requests.

Checkpoints copy the log's pages into the database file; the file itself is only reused from
its start, never shrunk, while the database is busy (``journal_size_limit`` caps what is kept,
see settings). Until they are overwritten, its pages can hold old images of rows, deleted ones
included. ``truncate_log`` empties the file when no other connection is writing, checkpointing
or reading from the log at that moment; the ``truncate_sqlite_log`` job tries it every minute,
several times over a second (SECURITY 18).
"""

from __future__ import annotations

import time

from fengqiao.core.sqlite.base import without_busy_handler


def truncate_log(connection, *, attempts: int = 1, pause: float = 0.05) -> bool:
    """Checkpoint the whole log and truncate the file to zero bytes; True when that was done.

    Each attempt answers at once: another connection writing, checkpointing or reading from
    the log makes it fail (after ``pause`` seconds the next attempt runs), where SQLite's
    TRUNCATE mode would block new writers while it waited for them. A successful attempt still
    holds the write lock while it copies what is left and truncates (about 1 ms per MB).
    False, with nothing done, on other databases, on SQLite without a log, and on a connection
    with a transaction open (a checkpoint cannot run inside one).
    """
    if connection.vendor != "sqlite":
        return False
    connection.ensure_connection()
    raw = connection.connection
    if not connection.get_autocommit() or raw.in_transaction:
        return False
    with without_busy_handler(raw):
        for attempt in range(attempts):
            if attempt:
                time.sleep(pause)
            # PASSIVE first, without the write lock: it copies what it can and syncs the file
            # while writers carry on, so TRUNCATE, which holds the lock, has little left to copy.
            raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            busy, log, _copied = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            # (0, 0, 0) when emptied; a database without a log answers (0, -1, -1).
            if busy == 0:
                return log == 0
    return False
