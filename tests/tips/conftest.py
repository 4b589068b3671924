"""Tip-line test set-up: extra personas around 诸暨, a cold calendar cache, a clean rate limiter."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from fengqiao.accounts.roles import Role
from fengqiao.core import workdays
from fengqiao.regions.models import UnitKind
from personas import DIANKOU_TOWN, SHAOXING, YUECHENG, ZHUJI, make_persona


@pytest.fixture(autouse=True)
def cold_calendar_cache():
    # Calendar rows roll back with each test, but the per-process cache would remember them.
    workdays.invalidate()
    yield
    workdays.invalidate()


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    # Every test starts with empty buckets (the file cache outlives a test).
    cache.clear()
    yield


@pytest.fixture
def anti_gang_zhuji_2(db):
    """A second member of 诸暨市扫黑办: the second person of the two-person rule."""
    return make_persona(
        "anti_gang_zhuji_2", Role.ANTI_GANG_HANDLER, UnitKind.ANTI_GANG_OFFICE, ZHUJI
    )


@pytest.fixture
def police_zhuji_bureau(db):
    """A handler at 诸暨市公安局: same county as every 诸暨 tip, assigned to none by default."""
    return make_persona(
        "police_zhuji_bureau", Role.DEPARTMENT_HANDLER, UnitKind.PUBLIC_SECURITY_BUREAU, ZHUJI
    )


@pytest.fixture
def police_diankou(db):
    return make_persona(
        "police_diankou", Role.DEPARTMENT_HANDLER, UnitKind.POLICE_STATION, DIANKOU_TOWN
    )


@pytest.fixture
def anti_gang_yuecheng(db):
    return make_persona(
        "anti_gang_yuecheng", Role.ANTI_GANG_HANDLER, UnitKind.ANTI_GANG_OFFICE, YUECHENG
    )


@pytest.fixture
def anti_gang_shaoxing(db):
    return make_persona(
        "anti_gang_shaoxing", Role.ANTI_GANG_HANDLER, UnitKind.ANTI_GANG_OFFICE, SHAOXING
    )


@pytest.fixture
def discipline_shaoxing(db):
    return make_persona(
        "discipline_shaoxing",
        Role.DISCIPLINE_LIAISON,
        UnitKind.DISCIPLINE_COMMISSION,
        SHAOXING,
    )


@pytest.hookimpl(trylast=True)  # after -k / -m deselection
def pytest_collection_modifyitems(config, items) -> None:
    # pytest-django creates the test database only for sessions with a django_db test; alone,
    # a test that commits for real (the canaries' ``committed`` fixture) would have none.
    if any(item.get_closest_marker("django_db") for item in items):
        return
    skip = pytest.mark.skip(reason="needs the test database: run with the django_db tests")
    for item in items:
        if "committed" in getattr(item, "fixturenames", ()) and item.path.parent.name == "tips":
            item.add_marker(skip)
