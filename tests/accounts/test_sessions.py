"""Session policy: idle and absolute timeouts, ending sessions on account and role changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import override_settings

from fengqiao.accounts import services, session_keys
from fengqiao.accounts.models import Membership, User, UserSession
from fengqiao.accounts.roles import Role
from fengqiao.core.models import AuditEvent
from fengqiao.regions.models import UnitKind
from personas import DIANKOU_TOWN, FENGQIAO_TOWN, make_persona, unit_of

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def operator(clock):
    # Created inside the frozen clock, so the login time is T0.
    return make_persona("li.ming", Role.TOWN_OPERATOR, UnitKind.COMMAND_ROOM, FENGQIAO_TOWN)


def assert_sent_to_login(response, reason: str) -> None:
    assert response.status_code == 302
    assert response.url == f"/login/?reason={reason}"


def test_activity_within_fifteen_minutes_keeps_the_session(operator, clock):
    for _ in range(4):
        clock.shift(timedelta(minutes=14))
        assert operator.client.get("/workbench/").status_code == 200


def test_idle_session_ends_after_fifteen_minutes(operator, clock):
    clock.shift(timedelta(minutes=15, seconds=1))
    assert_sent_to_login(operator.client.get("/workbench/"), "ended")
    # And it stays ended: the next request is simply anonymous.
    response = operator.client.get("/workbench/")
    assert response.status_code == 302 and response.url.startswith("/login/")


@override_settings(SESSION_COOKIE_AGE=3600)
def test_idle_limit_is_enforced_even_when_the_store_keeps_the_session(operator, clock):
    clock.shift(timedelta(minutes=1))
    operator.client.get("/workbench/")  # activity recorded: saved with the longer lifetime
    clock.shift(timedelta(minutes=16))
    assert_sent_to_login(operator.client.get("/workbench/"), "idle")
    assert not UserSession.objects.filter(user=operator.user).exists()


def test_activity_is_recorded_once_a_minute_not_on_every_page(operator, clock):
    key = operator.client.session.session_key

    def expiry():
        return Session.objects.get(session_key=key).expire_date

    first = expiry()
    clock.shift(timedelta(seconds=30))
    assert operator.client.get("/workbench/").status_code == 200
    assert expiry() == first  # no write for a page view within the minute
    clock.shift(timedelta(seconds=31))
    assert operator.client.get("/workbench/").status_code == 200
    assert expiry() == first + timedelta(seconds=61)


def test_absolute_limit_ends_an_active_session_after_twelve_hours(operator, clock):
    for _ in range(12 * 6 + 1):
        clock.shift(timedelta(minutes=10))
        response = operator.client.get("/workbench/")
        if response.status_code != 200:
            break
    assert_sent_to_login(response, "absolute")
    assert datetime.now(tz=UTC) - T0 > timedelta(hours=12)
    assert datetime.now(tz=UTC) - T0 <= timedelta(hours=12, minutes=10)


def test_disabled_user_is_logged_out_on_the_next_request(operator, system_admin):
    key = operator.client.session.session_key
    services.disable_user(
        user=operator.user, actor=system_admin.user, membership=system_admin.membership
    )
    assert not Session.objects.filter(session_key=key).exists()
    assert_sent_to_login(operator.client.get("/workbench/"), "ended")


def test_removing_the_membership_ends_the_session(operator, system_admin):
    services.remove_membership(
        target=operator.membership, actor=system_admin.user, membership=system_admin.membership
    )
    assert_sent_to_login(operator.client.get("/workbench/"), "ended")
    assert not UserSession.objects.filter(user=operator.user).exists()


def test_changing_the_role_ends_the_session(operator, system_admin):
    services.change_membership_role(
        target=operator.membership,
        role=Role.GRID_WORKER,
        actor=system_admin.user,
        membership=system_admin.membership,
    )
    assert_sent_to_login(operator.client.get("/workbench/"), "ended")


def test_deactivated_membership_moves_the_person_to_another_one(operator):
    other = Membership.objects.create(
        user=operator.user,
        unit=(unit := unit_of(UnitKind.COMMAND_ROOM, DIANKOU_TOWN)),
        role=Role.TOWN_OPERATOR,
        region_code=unit.region_code,
    )
    # Written behind the services' back (e.g. a unit closed): the middleware still notices.
    Membership.objects.filter(pk=operator.membership.pk).update(is_active=False)
    response = operator.client.get("/workbench/")
    assert response.status_code == 200
    assert response.wsgi_request.membership == other
    assert operator.client.session[session_keys.ACTIVE_MEMBERSHIP] == other.pk


def test_no_active_membership_left_logs_out(operator):
    Membership.objects.filter(user=operator.user).update(is_active=False)
    assert_sent_to_login(operator.client.get("/workbench/"), "no_role")


def test_session_without_second_factor_is_logged_out(operator):
    session = operator.client.session
    del session["otp_device_id"]
    session.save()
    assert_sent_to_login(operator.client.get("/workbench/"), "ended")


def test_switching_membership_changes_scope_and_is_audited(operator):
    other = Membership.objects.create(
        user=operator.user,
        unit=(unit := unit_of(UnitKind.COMMAND_ROOM, DIANKOU_TOWN)),
        role=Role.TOWN_OPERATOR,
        region_code=unit.region_code,
    )
    response = operator.client.post("/membership/switch/", {"membership": other.pk})
    assert response.status_code == 302
    page = operator.client.get("/workbench/")
    assert page.wsgi_request.membership == other
    assert page.wsgi_request.user.active_membership == other
    event = AuditEvent.objects.get(action="accounts.membership_switched")
    assert event.region_code == DIANKOU_TOWN


def test_cannot_switch_to_someone_elses_membership(operator, town_operator_other_town):
    response = operator.client.post(
        "/membership/switch/", {"membership": town_operator_other_town.membership.pk}
    )
    assert response.status_code == 404
    assert operator.client.session[session_keys.ACTIVE_MEMBERSHIP] == operator.membership.pk


def test_switch_needs_post(operator):
    assert operator.client.get("/membership/switch/").status_code == 405


def test_membership_menu_lists_only_active_memberships(operator):
    Membership.objects.create(
        user=operator.user,
        unit=(unit := unit_of(UnitKind.COMMAND_ROOM, DIANKOU_TOWN)),
        role=Role.TOWN_OPERATOR,
        region_code=unit.region_code,
        is_active=False,
    )
    page = operator.client.get("/workbench/")
    assert list(page.context["memberships"]) == [operator.membership]
    assert page.context["active_membership"] == operator.membership


@override_settings(PASSWORD_EXPIRY_DAYS=90)
def test_expired_password_must_be_changed_first(operator, clock):
    User.objects.filter(pk=operator.user.pk).update(password_changed_at=T0 - timedelta(days=91))
    response = operator.client.get("/workbench/")
    assert response.status_code == 302 and response.url == "/password/"
    assert operator.client.get("/password/").status_code == 200

    response = operator.client.post(
        "/password/",
        {
            "old_password": "correct horse battery staple 42",
            "new_password1": "a new and long passphrase",
            "new_password2": "a new and long passphrase",
        },
    )
    assert response.status_code == 302
    assert operator.client.get("/workbench/").status_code == 200


def test_no_expiry_by_default(operator, clock):
    User.objects.filter(pk=operator.user.pk).update(password_changed_at=T0 - timedelta(days=900))
    assert operator.client.get("/workbench/").status_code == 200


def test_changing_password_keeps_this_session_and_ends_the_others(operator, clock):
    from personas import login_client

    other_client = login_client(operator.user, operator.membership, operator.device)
    response = operator.client.post(
        "/password/",
        {
            "old_password": "correct horse battery staple 42",
            "new_password1": "another long passphrase!",
            "new_password2": "another long passphrase!",
        },
    )
    assert response.status_code == 302
    assert operator.client.get("/workbench/").status_code == 200
    assert other_client.get("/workbench/").status_code == 302
    assert UserSession.objects.filter(user=operator.user).count() == 1
    assert UserSession.objects.get(user=operator.user).session_key == (
        operator.client.session.session_key
    )


def test_password_change_form_says_what_is_wrong(operator):
    response = operator.client.post(
        "/password/",
        {
            "old_password": "wrong",
            "new_password1": "short",
            "new_password2": "shorter",
        },
    )
    form = response.context["form"]
    assert "old_password" in form.errors
    assert "new_password2" in form.errors


def test_session_activity_is_recorded_at_most_once_a_minute(operator, clock):
    row = UserSession.objects.get(user=operator.user)
    clock.shift(timedelta(seconds=30))
    operator.client.get("/workbench/")
    row.refresh_from_db()
    assert row.last_seen_at == T0
    clock.shift(timedelta(seconds=31))
    operator.client.get("/workbench/")
    row.refresh_from_db()
    assert row.last_seen_at == T0 + timedelta(seconds=61)


def test_housekeeping_job_drops_records_of_expired_sessions(operator, clock):
    from fengqiao.accounts.jobs import purge_expired_sessions

    assert purge_expired_sessions.call_local() == 0
    clock.shift(timedelta(hours=1))
    assert purge_expired_sessions.call_local() == 1
    assert not UserSession.objects.exists()
