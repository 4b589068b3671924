"""The write-ahead log is emptied outside requests: ``wal.truncate_log`` checkpoints the whole
log and truncates the ``-wal`` file, never waits for a transaction that is using the log, and
the minute job runs it. Runs on any test backend: the database here is a file of its own."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime
from pathlib import Path

import pytest
from django.db import connection

from fengqiao.core import jobs
from fengqiao.core.sqlite import wal

from .test_sqlite_writers import busy_timeout, open_wrapper

CANARY = "已删除的当事人-7f3a"


@pytest.fixture
def database(tmp_path, django_db_blocker):
    with django_db_blocker.unblock():
        path = tmp_path / "log.sqlite3"
        wrapper = open_wrapper(path)
        raw = wrapper.connection
        # As the settings set them: the log is kept up to 64 MiB and checkpointed at 10000 pages,
        # so nothing here empties it but truncate_log.
        for pragma in (
            "journal_mode=WAL",
            "journal_size_limit=67108864",
            "wal_autocheckpoint=10000",
        ):
            raw.execute(f"PRAGMA {pragma}")
        raw.execute("CREATE TABLE party (name TEXT)")
        raw.executemany("INSERT INTO party VALUES (?)", [(f"{CANARY}-{n}",) for n in range(200)])
        raw.execute("DELETE FROM party")
        yield path, wrapper
        wrapper.close()


def wal_file(path: Path) -> Path:
    return Path(f"{path}-wal")


def test_truncate_log_empties_the_file_and_keeps_the_data(database):
    path, wrapper = database
    wrapper.connection.execute("INSERT INTO party VALUES ('kept')")
    assert CANARY.encode() in wal_file(path).read_bytes()

    assert wal.truncate_log(wrapper) is True

    assert wal_file(path).stat().st_size == 0
    assert CANARY.encode() not in path.read_bytes() + wal_file(path).read_bytes()
    assert wrapper.connection.execute("SELECT name FROM party").fetchall() == [("kept",)]
    assert busy_timeout(wrapper) == 20_000


def test_a_reader_using_the_log_makes_it_answer_false_at_once(database):
    path, wrapper = database
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM party").fetchone()  # a snapshot that reads the log
        wrapper.connection.execute("INSERT INTO party VALUES ('later')")
        started = time.monotonic()
        assert wal.truncate_log(wrapper) is False
        # Returned instead of waiting on the busy handler for the connection's 20 s.
        assert time.monotonic() - started < 5
        assert wal_file(path).stat().st_size > 0
        assert busy_timeout(wrapper) == 20_000
        reader.execute("COMMIT")
    finally:
        reader.close()
    assert wal.truncate_log(wrapper) is True
    assert wal_file(path).stat().st_size == 0


def test_truncate_log_does_nothing_inside_a_transaction(database):
    path, wrapper = database
    wrapper.set_autocommit(False)  # as atomic() opens its block
    wrapper.in_atomic_block = True
    try:
        assert wal.truncate_log(wrapper) is False
    finally:
        wrapper.in_atomic_block = False
        wrapper.set_autocommit(True)
    assert wal_file(path).stat().st_size > 0


@pytest.mark.django_db(transaction=True)
def test_the_minute_job_empties_the_log_on_sqlite_only():
    from huey.contrib.djhuey import HUEY

    task = jobs.truncate_sqlite_log.task_class
    assert task in HUEY._registry._periodic_tasks
    assert task().validate_datetime(datetime(2026, 11, 29, 4, 37))  # every minute
    done = jobs.truncate_sqlite_log.call_local()
    if connection.vendor != "sqlite":
        assert done is False
        return
    assert done is True
    assert wal_file(Path(connection.settings_dict["NAME"])).stat().st_size == 0
