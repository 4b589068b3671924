"""Personal API tokens: shown once, hashed at rest, scoped, revocable (SECURITY 1)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client, override_settings

from fengqiao.accounts import services
from fengqiao.accounts.models import ApiToken, Membership
from fengqiao.accounts.roles import Role
from fengqiao.accounts.tokens import authenticate_token, hash_token, token_matches
from fengqiao.core.models import AuditEvent
from fengqiao.regions.models import UnitKind
from personas import DIANKOU_TOWN, unit_of

pytestmark = pytest.mark.django_db

TOKEN_RE = re.compile(r"fq_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def issue(persona, days: int = 90):
    return services.create_token(
        user=persona.user, membership=persona.membership, name="对接系统", lifetime_days=days
    )


def test_token_is_shown_once_and_only_its_hash_is_stored(town_operator_fengqiao):
    client = town_operator_fengqiao.client
    response = client.post("/tokens/new/", {"name": "网格通", "lifetime_days": "90"})
    assert response.status_code == 200
    raw = TOKEN_RE.search(response.content.decode()).group(0)

    token = ApiToken.objects.get(user=town_operator_fengqiao.user)
    assert token.membership == town_operator_fengqiao.membership
    assert raw not in token.token_hash and raw.split("_")[2] not in token.token_hash
    assert token.token_hash.startswith("sm3$")
    # Nothing in the token table holds the secret part, whatever the column.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        dumped = repr(cursor.fetchall())
    assert raw.split("_", 2)[2] not in dumped
    # The list page never shows it again.
    assert raw not in client.get("/tokens/").content.decode()
    assert AuditEvent.objects.filter(action="accounts.token_created").exists()


def test_token_authenticates_as_its_membership(town_operator_fengqiao):
    token, raw = issue(town_operator_fengqiao)
    found = authenticate_token(raw)
    assert found == token
    assert found.membership == town_operator_fengqiao.membership


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw[:-1] + ("A" if raw[-1] != "A" else "B"),
        lambda raw: raw.replace("fq_", "fx_"),
        lambda raw: "",
        lambda raw: "fq_000000000000_" + "a" * 43,
        lambda raw: raw + "x",
    ],
)
def test_wrong_or_malformed_tokens_are_refused(town_operator_fengqiao, mangle):
    _token, raw = issue(town_operator_fengqiao)
    assert authenticate_token(mangle(raw)) is None


def test_revoked_token_stops_working(town_operator_fengqiao):
    token, raw = issue(town_operator_fengqiao)
    client = town_operator_fengqiao.client
    response = client.post(f"/tokens/{token.prefix}/revoke/")
    assert response.status_code == 302
    assert authenticate_token(raw) is None
    assert AuditEvent.objects.filter(action="accounts.token_revoked").exists()


def test_cannot_revoke_someone_elses_token(town_operator_fengqiao, town_operator_other_town):
    token, raw = issue(town_operator_other_town)
    response = town_operator_fengqiao.client.post(f"/tokens/{token.prefix}/revoke/")
    assert response.status_code == 404
    assert authenticate_token(raw) is not None


def test_expired_token_stops_working(town_operator_fengqiao):
    _token, raw = issue(town_operator_fengqiao, days=30)
    with time_machine.travel(datetime.now(tz=UTC) + timedelta(days=30, seconds=1)):
        assert authenticate_token(raw) is None


def test_inactive_user_or_membership_token_is_refused(town_operator_fengqiao):
    _token, raw = issue(town_operator_fengqiao)
    Membership.objects.filter(pk=town_operator_fengqiao.membership.pk).update(is_active=False)
    assert authenticate_token(raw) is None
    Membership.objects.filter(pk=town_operator_fengqiao.membership.pk).update(is_active=True)
    assert authenticate_token(raw) is not None
    type(town_operator_fengqiao.user).objects.filter(pk=town_operator_fengqiao.user.pk).update(
        is_active=False
    )
    assert authenticate_token(raw) is None


def test_role_change_and_disable_revoke_tokens(town_operator_fengqiao, system_admin):
    token, raw = issue(town_operator_fengqiao)
    services.change_membership_role(
        target=town_operator_fengqiao.membership,
        role=Role.GRID_WORKER,
        actor=system_admin.user,
        membership=system_admin.membership,
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert authenticate_token(raw) is None


def test_last_used_is_written_at_most_once_a_minute(town_operator_fengqiao):
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with time_machine.travel(t0, tick=False) as clock:
        token, raw = issue(town_operator_fengqiao)
        authenticate_token(raw)
        token.refresh_from_db()
        assert token.last_used_at == t0
        clock.shift(timedelta(seconds=59))
        authenticate_token(raw)
        token.refresh_from_db()
        assert token.last_used_at == t0
        clock.shift(timedelta(seconds=2))
        authenticate_token(raw)
        token.refresh_from_db()
        assert token.last_used_at == t0 + timedelta(seconds=61)


def test_token_creation_needs_a_verified_session(town_operator_fengqiao):
    # A session that passed the password but not the second factor gets nowhere near it.
    client = Client()
    client.post(
        "/login/",
        {
            "username": town_operator_fengqiao.user.username,
            "password": "correct horse battery staple 42",
        },
    )
    response = client.post("/tokens/new/", {"name": "x", "lifetime_days": "90"})
    assert response.status_code == 302 and response.url.startswith("/login/")
    assert not ApiToken.objects.exists()


def test_admin_roles_have_no_tokens(system_admin):
    response = system_admin.client.post("/tokens/new/", {"name": "x", "lifetime_days": "90"})
    assert response.status_code == 404


def test_token_form_validates_each_field(town_operator_fengqiao):
    response = town_operator_fengqiao.client.post(
        "/tokens/new/", {"name": "", "lifetime_days": "7"}
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"name", "lifetime_days"}
    assert "这个字段是必填项" in str(form.errors["name"]) or "必填" in str(form.errors["name"])


def test_tokens_are_bound_to_the_membership_they_were_made_in(town_operator_fengqiao):
    other = Membership.objects.create(
        user=town_operator_fengqiao.user,
        unit=(unit := unit_of(UnitKind.COMMAND_ROOM, DIANKOU_TOWN)),
        role=Role.TOWN_OPERATOR,
        region_code=unit.region_code,
    )
    client = town_operator_fengqiao.client
    client.post("/membership/switch/", {"membership": other.pk})
    response = client.post("/tokens/new/", {"name": "店口", "lifetime_days": "30"})
    raw = TOKEN_RE.search(response.content.decode()).group(0)
    assert authenticate_token(raw).membership == other


@override_settings(FENGQIAO_CRYPTO="aes")
def test_hash_algorithm_is_recorded_so_switching_crypto_keeps_old_tokens():
    raw = "fq_0123456789ab_" + "b" * 43
    stored = hash_token(raw)
    assert stored.startswith("sha256$")
    assert token_matches(raw, stored)
    with override_settings(FENGQIAO_CRYPTO="sm"):
        assert token_matches(raw, stored)
        assert hash_token(raw).startswith("sm3$")
