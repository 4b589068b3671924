"""The SQLite backend's write transactions wait for the lock without the busy handler: they
queue behind another connection's transaction, fail as SQLite would once the timeout has passed,
and leave the connection's busy timeout as it was. Runs on any test backend: the databases
here are files of their own."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from fengqiao.core.sqlite.base import DatabaseWrapper


def open_wrapper(path, busy_ms: int = 20_000) -> DatabaseWrapper:
    settings_dict = {
        **connection.settings_dict,
        "ENGINE": "fengqiao.core.sqlite",
        "NAME": str(path),
        "OPTIONS": {"transaction_mode": "IMMEDIATE"},
        "TEST": {},
        "CONN_MAX_AGE": 0,
    }
    wrapper = DatabaseWrapper(settings_dict, alias=f"writers-{path.name}-{id(settings_dict)}")
    wrapper.ensure_connection()
    wrapper.connection.execute(f"PRAGMA busy_timeout = {busy_ms}")
    return wrapper


@pytest.fixture
def unblocked(django_db_blocker):
    # Connections to the test's own files, not to the test database.
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def database(tmp_path, unblocked):
    path = tmp_path / "writers.sqlite3"
    first = open_wrapper(path)
    first.connection.execute("PRAGMA journal_mode=WAL")
    first.connection.execute("CREATE TABLE t (n INTEGER)")
    yield path, first
    first.close()


def busy_timeout(wrapper: DatabaseWrapper) -> int:
    return wrapper.connection.execute("PRAGMA busy_timeout").fetchone()[0]


def test_a_writer_waits_for_the_lock_and_goes_on_when_it_is_released(database):
    path, first = database
    second = open_wrapper(path)
    first._start_transaction_under_autocommit()
    first.connection.execute("INSERT INTO t VALUES (1)")
    began, failed = threading.Event(), []

    def write() -> None:
        try:
            second._start_transaction_under_autocommit()
            began.set()
            second.connection.execute("INSERT INTO t VALUES (2)")
            second.commit()
        except Exception as error:  # reported to the test below
            failed.append(error)
            began.set()

    # The thread uses the connection it was given (Django wrappers refuse sharing by default).
    second.inc_thread_sharing()
    worker = threading.Thread(target=write)
    worker.start()
    assert not began.wait(0.3), "the second writer began while the first held the lock"
    first.commit()
    worker.join(timeout=10)
    assert not worker.is_alive() and not failed
    assert sorted(n for (n,) in first.connection.execute("SELECT n FROM t")) == [1, 2]
    assert busy_timeout(second) == 20_000
    second.dec_thread_sharing()
    second.close()


def test_a_writer_that_waits_past_its_timeout_fails_as_sqlite_does(database):
    path, first = database
    impatient = open_wrapper(path, busy_ms=200)
    first._start_transaction_under_autocommit()
    with pytest.raises(DatabaseWrapper.Database.OperationalError, match="database is locked"):
        impatient._start_transaction_under_autocommit()
    assert not impatient.connection.in_transaction
    # The busy handler is back for statements outside transactions.
    assert busy_timeout(impatient) == 200
    first.commit()
    impatient._start_transaction_under_autocommit()
    impatient.connection.execute("INSERT INTO t VALUES (3)")
    impatient.commit()
    impatient.close()


def test_deferred_transactions_keep_sqlites_own_begin(tmp_path, unblocked):
    wrapper = open_wrapper(tmp_path / "deferred.sqlite3", busy_ms=1000)
    wrapper.transaction_mode = None
    wrapper._start_transaction_under_autocommit()
    assert wrapper.connection.in_transaction
    assert busy_timeout(wrapper) == 1000
    wrapper.rollback()
    wrapper.close()
