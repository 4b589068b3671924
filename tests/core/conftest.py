"""Core test set-up: each test starts and ends with a cold working-day cache."""

from __future__ import annotations

import pytest

from fengqiao.core import workdays


@pytest.fixture(autouse=True)
def cold_calendar_cache():
    # Calendar writes roll back with the test, but a process cache would remember them.
    workdays.invalidate()
    yield
    workdays.invalidate()


@pytest.hookimpl(trylast=True)  # after -k / -m deselection
def pytest_collection_modifyitems(config, items) -> None:
    # pytest-django sets up the test database only for sessions with a django_db test; without
    # one, committed_db tests would have no database at all (see committed_db).
    if any(item.get_closest_marker("django_db") for item in items):
        return
    skip = pytest.mark.skip(reason="needs the test database: run with the django_db tests")
    for item in items:
        if "committed_db" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker):
    """Database access outside the per-test transaction, for tests that must really commit.

    pytest-django creates the test database only when some selected test is marked
    ``django_db``; alone, such a test would reach the development database, so it is skipped.
    The test cleans up after itself.
    """
    from django.conf import settings
    from django.db import connection

    with django_db_blocker.unblock():
        name = str(connection.settings_dict["NAME"])
        expected = settings.DATABASES["default"].get("TEST", {}).get("NAME")
        if not (name == expected or name.startswith("test_")):
            pytest.skip("needs the test database: run together with the django_db tests")
        yield
        connection.close()
