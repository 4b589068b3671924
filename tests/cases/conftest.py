"""Case-engine test set-up: a cold working-day cache, and categories made for the test."""

from __future__ import annotations

import pytest

from fengqiao.core import workdays
from fengqiao.regions.models import Level, UnitKind

from .factories import make_category, make_policy


@pytest.fixture(autouse=True)
def cold_calendar_cache():
    # Calendar rows roll back with each test, but the per-process cache would remember them.
    workdays.invalidate()
    yield
    workdays.invalidate()


@pytest.fixture
def policy(db):
    return make_policy()


@pytest.fixture
def dispute_category(policy):
    """A neighbour-style dispute: village mediation committee; severity ≥ 3 goes to the town."""
    return make_category(
        level=Level.VILLAGE,
        unit_kind=UnitKind.MEDIATION_COMMITTEE,
        escalate_severity=3,
        escalate_level=Level.TOWN,
        policy=policy,
    )


@pytest.fixture
def security_category(db):
    """A public-security matter for the town police station."""
    return make_category(kind="security", level=Level.TOWN, unit_kind=UnitKind.POLICE_STATION)
