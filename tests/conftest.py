"""Shared test set-up: the Shaoxing spine is loaded once per test database; personas per test."""

from __future__ import annotations

import importlib

import pytest

from personas import *  # noqa: F403  (persona fixtures: grid_worker_fengqiao, …)

_blocker: list = []


def load_committed_data() -> None:
    """What every test may rely on: the spine, the holiday calendar and the shipped taxonomy.

    Migrations seed the calendar and the taxonomy; a transactional test's teardown flushes every
    table, so the same loaders run again after it (they are idempotent).
    """
    from fengqiao.core import services as core_services
    from fengqiao.regions import services

    services.load_shipped_divisions()
    services.build_demo_structure()
    core_services.seed_calendar_from_package()
    try:
        taxonomy = importlib.import_module("fengqiao.cases.taxonomy")
    except ImportError:
        return
    taxonomy.load_shipped()


def _is_transactional(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker is None:
        return "transactional_db" in getattr(item, "fixturenames", ())
    return bool(marker.kwargs.get("transaction") or (marker.args and marker.args[0]))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the shipped Shaoxing divisions, demo grids and units into the test database once.

    Every test sees the real spine (2,255 regions, their grids and units) without paying for it
    per test; tests roll back their own writes.
    """
    from fengqiao.regions import services

    with django_db_blocker.unblock():
        services.load_shipped_divisions()
        services.build_demo_structure()
    _blocker.append(django_db_blocker)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    # After pytest-django flushed every table of a transactional test: load the data again, so
    # the next test in this process sees what the session set-up gave it.
    if _blocker and _is_transactional(item) and nextitem is not None:
        with _blocker[0].unblock():
            load_committed_data()
