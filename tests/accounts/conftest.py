"""Fixtures for the accounts tests: a fresh staff member with and without an authenticator."""

from __future__ import annotations

import pytest

from fengqiao.accounts.models import Membership, TOTPAuthenticator, User
from fengqiao.accounts.roles import Role
from fengqiao.regions.models import UnitKind
from personas import FENGQIAO_TOWN, PASSWORD, unit_of


@pytest.fixture
def staff(db) -> User:
    """A town operator with a password and a membership, no authenticator yet."""
    user = User.objects.create_user(username="wang.fang", password=PASSWORD, full_name="王芳")
    unit = unit_of(UnitKind.COMMAND_ROOM, FENGQIAO_TOWN)
    Membership.objects.create(
        user=user, unit=unit, role=Role.TOWN_OPERATOR, region_code=unit.region_code
    )
    return user


@pytest.fixture
def staff_device(staff) -> TOTPAuthenticator:
    return TOTPAuthenticator.objects.create(user=staff, name="phone", confirmed=True)
