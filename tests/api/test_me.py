"""GET /api/v1/me: who is calling, by verified browser session or by personal API token."""

from __future__ import annotations

import pytest
from django.test import Client

from fengqiao.accounts import services
from fengqiao.accounts.models import Membership
from fengqiao.accounts.roles import Role, capabilities_of
from fengqiao.regions.models import Unit, UnitKind
from personas import DIANKOU_TOWN

pytestmark = pytest.mark.django_db


def _bearer(raw: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def _token(persona, membership: Membership | None = None) -> str:
    _token_row, raw = services.create_token(
        user=persona.user,
        membership=membership or persona.membership,
        name="报表脚本",
        lifetime_days=services.TOKEN_LIFETIMES_DAYS[0],
    )
    return raw


def _second_membership(persona) -> Membership:
    unit = Unit.objects.get(kind=UnitKind.COMMAND_ROOM, region__code=DIANKOU_TOWN)
    return Membership.objects.create(
        user=persona.user, unit=unit, role=Role.TOWN_OPERATOR, region_code=unit.region_code
    )


def test_me_by_verified_session_shows_the_active_membership(town_operator_fengqiao):
    response = town_operator_fengqiao.client.get("/api/v1/me")

    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "town_operator_fengqiao"
    active = body["active_membership"]
    assert active["id"] == town_operator_fengqiao.membership.pk
    assert active["active"] is True
    assert active["region_code"] == "330681109"
    assert active["unit_id"] == str(town_operator_fengqiao.unit.public_id)
    assert body["capabilities"] == sorted(capabilities_of(Role.TOWN_OPERATOR))


def test_me_by_personal_token_answers_without_a_session(town_operator_fengqiao):
    response = _bearer(_token(town_operator_fengqiao)).get("/api/v1/me")

    assert response.status_code == 200
    assert response.json()["active_membership"]["id"] == town_operator_fengqiao.membership.pk


def test_token_acts_in_the_membership_it_was_issued_for(town_operator_fengqiao):
    other = _second_membership(town_operator_fengqiao)
    raw = _token(town_operator_fengqiao, membership=other)

    body = _bearer(raw).get("/api/v1/me").json()

    assert body["active_membership"]["id"] == other.pk
    assert body["active_membership"]["region_code"] == DIANKOU_TOWN
    flags = {m["id"]: m["active"] for m in body["memberships"]}
    assert flags == {other.pk: True, town_operator_fengqiao.membership.pk: False}
    # The session keeps acting in its own membership meanwhile.
    session_body = town_operator_fengqiao.client.get("/api/v1/me").json()
    assert session_body["active_membership"]["id"] == town_operator_fengqiao.membership.pk


def test_token_scopes_reads_to_its_membership(town_operator_fengqiao):
    other = _second_membership(town_operator_fengqiao)
    api = _bearer(_token(town_operator_fengqiao, membership=other))

    assert api.get(f"/api/v1/regions/{DIANKOU_TOWN}").status_code == 200
    assert (
        api.get(f"/api/v1/regions/{town_operator_fengqiao.membership.region_code}").json()["code"]
        == "not_found"
    )


def test_revoked_token_is_refused_with_401(town_operator_fengqiao):
    token_row, raw = services.create_token(
        user=town_operator_fengqiao.user,
        membership=town_operator_fengqiao.membership,
        name="临时",
        lifetime_days=services.TOKEN_LIFETIMES_DAYS[0],
    )
    api = _bearer(raw)
    assert api.get("/api/v1/me").status_code == 200

    services.revoke_token(api_token=token_row, actor=town_operator_fengqiao.user)
    response = api.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json() == {"code": "unauthenticated", "message": "未登录或凭证无效"}


def test_token_of_a_removed_membership_is_refused(town_operator_fengqiao):
    other = _second_membership(town_operator_fengqiao)
    api = _bearer(_token(town_operator_fengqiao, membership=other))
    Membership.objects.filter(pk=other.pk).update(is_active=False)

    assert api.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Bearer fq_000000000000_" + "A" * 43,
        "Bearer not-a-token",
        "Token whatever",
    ],
)
def test_unknown_or_malformed_credentials_get_401(header):
    response = Client(HTTP_AUTHORIZATION=header).get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_session_without_second_factor_gets_401(town_operator_fengqiao):
    client = Client()
    client.force_login(town_operator_fengqiao.user)

    response = client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
