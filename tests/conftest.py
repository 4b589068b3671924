"""Shared test set-up: the Shaoxing spine is loaded once per test database; personas per test."""

from __future__ import annotations

import pytest

from personas import *  # noqa: F403  (persona fixtures: grid_worker_fengqiao, …)


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
    yield
