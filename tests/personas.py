"""Personas by role and region (STYLE 13): each is a user, a membership and a logged-in client.

Every persona has passed password + TOTP (a confirmed TOTP device, marked verified in the session)
and acts in one membership. Regions are the real Shaoxing codes loaded by conftest:
诸暨市 330681, 枫桥镇 330681109, 枫源村 330681109290, 店口镇 330681104, 越城区 330602.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from fengqiao.accounts import services, session_keys
from fengqiao.accounts.models import Membership, TOTPAuthenticator, User
from fengqiao.accounts.roles import Role
from fengqiao.regions.models import Unit, UnitKind

FENGQIAO_TOWN = "330681109"
FENGYUAN_VILLAGE = "330681109290"
FENGYUAN_GRID_1 = "330681109290001"
DIANKOU_TOWN = "330681104"
ZHUJI = "330681"
YUECHENG = "330602"
SHAOXING = "330600"

PASSWORD = "correct horse battery staple 42"


@dataclass
class Persona:
    user: User
    membership: Membership
    client: Client
    device: TOTPAuthenticator

    @property
    def unit(self) -> Unit:
        return self.membership.unit


def unit_of(kind: str, region_code: str) -> Unit:
    return Unit.objects.get(kind=kind, region__code=region_code)


def make_persona(
    username: str, role: str, kind: str, region_code: str, *, password: str | None = PASSWORD
) -> Persona:
    """``password=None`` skips the (slow, Argon2) hash for tests that never type it."""
    user = User.objects.create_user(username=username, password=password, full_name=username)
    membership = Membership.objects.create(
        user=user,
        unit=(unit := unit_of(kind, region_code)),
        role=role,
        region_code=unit.region_code,
    )
    device = TOTPAuthenticator.objects.create(user=user, name="test", confirmed=True)
    return Persona(
        user=user,
        membership=membership,
        client=login_client(user, membership, device),
        device=device,
    )


def login_client(user: User, membership: Membership, device: TOTPAuthenticator) -> Client:
    """A client whose session passed password and TOTP and acts in ``membership``."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[session_keys.ACTIVE_MEMBERSHIP] = membership.pk
    now = int(time.time())
    session[session_keys.LOGIN_AT] = now
    session[session_keys.LAST_SEEN] = now
    session[session_keys.SESSION_TOUCHED] = now
    session.save()
    # As a real login does, so disabling the user or changing a membership ends this session.
    services.register_session(user=user, session_key=session.session_key)
    return client


_PERSONAS = {
    "grid_worker_fengqiao": (Role.GRID_WORKER, UnitKind.GRID_STATION, FENGYUAN_GRID_1),
    "village_mediator_fengyuan": (
        Role.VILLAGE_MEDIATOR,
        UnitKind.MEDIATION_COMMITTEE,
        FENGYUAN_VILLAGE,
    ),
    "town_operator_fengqiao": (Role.TOWN_OPERATOR, UnitKind.COMMAND_ROOM, FENGQIAO_TOWN),
    "town_operator_other_town": (Role.TOWN_OPERATOR, UnitKind.COMMAND_ROOM, DIANKOU_TOWN),
    "police_fengqiao": (Role.DEPARTMENT_HANDLER, UnitKind.POLICE_STATION, FENGQIAO_TOWN),
    "county_centre_zhuji": (Role.CENTRE_STAFF, UnitKind.GOVERNANCE_CENTRE, ZHUJI),
    "county_centre_yuecheng": (Role.CENTRE_STAFF, UnitKind.GOVERNANCE_CENTRE, YUECHENG),
    "anti_gang_zhuji": (Role.ANTI_GANG_HANDLER, UnitKind.ANTI_GANG_OFFICE, ZHUJI),
    "discipline_zhuji": (Role.DISCIPLINE_LIAISON, UnitKind.DISCIPLINE_COMMISSION, ZHUJI),
    "city_leader": (Role.LEADER, UnitKind.GOVERNANCE_CENTRE, SHAOXING),
    "city_inspector": (Role.INSPECTOR, UnitKind.POLITICAL_LEGAL_COMMITTEE, SHAOXING),
    "system_admin": (Role.SYSTEM_ADMIN, UnitKind.ADMINISTRATION, SHAOXING),
    "security_admin": (Role.SECURITY_ADMIN, UnitKind.ADMINISTRATION, SHAOXING),
    "audit_admin": (Role.AUDIT_ADMIN, UnitKind.ADMINISTRATION, SHAOXING),
}

PERSONA_NAMES = tuple(_PERSONAS)


def make_named_persona(name: str, *, password: str | None = PASSWORD) -> Persona:
    """One of the standard personas by name, outside a fixture (module-scoped set-ups)."""
    return make_persona(name, *_PERSONAS[name], password=password)


def _fixture(name: str):
    role, kind, code = _PERSONAS[name]

    @pytest.fixture(name=name)
    def fixture(db) -> Persona:
        return make_persona(name, role, kind, code)

    return fixture


for _name in _PERSONAS:
    globals()[_name] = _fixture(_name)


@pytest.fixture
def persona(request, db) -> Persona:
    """Parametrise with ``@pytest.mark.parametrize("persona", PERSONA_NAMES, indirect=True)``."""
    role, kind, code = _PERSONAS[request.param]
    return make_persona(request.param, role, kind, code)


__all__ = [
    "Persona",
    "PERSONA_NAMES",
    "make_persona",
    "make_named_persona",
    "login_client",
    "persona",
    *_PERSONAS,
]
