"""The write-ahead log is emptied outside requests: ``wal.truncate_log`` checkpoints the whole
log and truncates the ``-wal`` file, answers at once when another connection is using the log,
and the minute job runs it. The first tests use a database file of their own (any test
backend); the job's test uses the test database."""

from __future__ import annotations

import sqlite3
import threading
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
        # As the settings set them: deleted content overwritten, the log kept up to 64 MiB and
        # checkpointed at 10000 pages, so nothing here empties it but truncate_log.
        for pragma in (
            "journal_mode=WAL",
            "secure_delete=ON",
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


def test_a_reader_using_the_log_makes_each_attempt_fail_at_once(database):
    path, wrapper = database
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM party").fetchone()  # a snapshot that reads the log
    wrapper.connection.execute("INSERT INTO party VALUES ('later')")
    # The reader lets go in a few seconds. A truncate_log that waited for it (on the busy
    # handler, with the connection's 20 s) would then empty the log and answer True; three
    # attempts that fail at once answer False long before.
    finish = threading.Timer(5, lambda: reader.execute("COMMIT"))
    finish.start()
    try:
        assert wal.truncate_log(wrapper, attempts=3, pause=0.01) is False
        assert wal_file(path).stat().st_size > 0
        assert busy_timeout(wrapper) == 20_000
    finally:
        finish.cancel()
        finish.join()
        reader.close()
    assert wal.truncate_log(wrapper) is True
    assert wal_file(path).stat().st_size == 0


def test_a_later_attempt_succeeds_once_the_reader_is_done(database):
    path, wrapper = database
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM party").fetchone()
    wrapper.connection.execute("INSERT INTO party VALUES ('later')")
    finish = threading.Timer(0.2, lambda: reader.execute("COMMIT"))
    finish.start()
    try:
        assert wal.truncate_log(wrapper, attempts=200, pause=0.01) is True
    finally:
        finish.join()
        reader.close()
    assert wal_file(path).stat().st_size == 0


def test_truncate_log_does_nothing_inside_a_transaction(database):
    path, wrapper = database
    wrapper.set_autocommit(False)
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("INSERT INTO party VALUES ('pending')")  # opens the transaction
        assert wal.truncate_log(wrapper) is False
    finally:
        wrapper.rollback()
        wrapper.set_autocommit(True)
    assert wal_file(path).stat().st_size > 0


def test_a_database_without_a_log_is_not_reported_emptied(tmp_path, django_db_blocker):
    with django_db_blocker.unblock():
        wrapper = open_wrapper(tmp_path / "journal.sqlite3")
        try:
            wrapper.connection.execute("CREATE TABLE t (n INTEGER)")  # rollback journal
            assert wal.truncate_log(wrapper) is False
        finally:
            wrapper.close()


@pytest.mark.django_db(transaction=True)
def test_the_minute_job_empties_the_log_on_sqlite_only():
    from huey.contrib.djhuey import HUEY

    task = jobs.truncate_sqlite_log.task_class
    assert task in HUEY._registry._periodic_tasks
    for moment in (datetime(2026, 11, 29, 4, 37), datetime(2026, 11, 30, 17, 2)):
        assert task().validate_datetime(moment)  # every minute of every hour
    if connection.vendor != "sqlite":
        assert jobs.truncate_sqlite_log.call_local() is False
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA user_version = 7")  # a write: one page in the log
    log = wal_file(Path(connection.settings_dict["NAME"]))
    assert log.stat().st_size > 0
    try:
        assert jobs.truncate_sqlite_log.call_local() is True
        assert log.stat().st_size == 0
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA user_version = 0")


@pytest.mark.django_db
def test_statement_journals_stay_in_memory():
    """An intake's case INSERT saves more page images than SQLite keeps in memory by default
    (64 KiB): with the default temp_store they spilled into a file under /var/tmp, personal data
    included, outside the database that secure_delete overwrites. temp_store=MEMORY (2) keeps
    them in memory."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's temporary files")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA temp_store")
        assert cursor.fetchone()[0] == 2
