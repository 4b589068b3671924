"""Emptying SQLite's write-ahead log (the ``-wal`` file) outside requests.

Checkpoints copy the log's pages into the database file; the log itself is only reused from
its start, never shrunk, while it is busy (``journal_size_limit`` caps what is kept, see
settings). Its unused tail can hold old page images, deleted rows included, until they are
overwritten; ``truncate_log`` empties the file whenever no transaction is using the log, and the
``truncate_sqlite_log`` job runs it every minute (SECURITY 18).
"""

from __future__ import annotations

from fengqiao.core.sqlite.base import without_busy_handler


def truncate_log(connection) -> bool:
    """Checkpoint the whole log and truncate the file to zero bytes; True when done.

    Never waits: a transaction that is using the log makes it answer False (try again later)
    instead of holding up writers, as SQLite's TRUNCATE mode would while it waits for readers.
    False, and nothing done, on other databases or inside a transaction.
    """
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return False
    connection.ensure_connection()
    raw = connection.connection
    with without_busy_handler(raw):
        # PASSIVE first, without the write lock: it copies what it can and syncs the file while
        # writers carry on, so TRUNCATE, which holds the write lock, has little left to copy.
        raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        busy, _log, _copied = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return busy == 0
