"""The login sequence: password, then TOTP or enrolment; lockout; logout (SECURITY 1–5, 11)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from accounts.flows import code_for_key, current_code, full_login, normalised, password_step
from fengqiao.accounts import session_keys
from fengqiao.accounts.authentication import PENDING_SECONDS, offered_enrol_key
from fengqiao.accounts.models import TOTPAuthenticator, User, UserSession
from fengqiao.core.models import AuditEvent
from personas import PASSWORD

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_password_and_totp_log_in_and_land_on_the_workbench(client, staff, staff_device, frozen):
    response = full_login(client, "wang.fang", staff_device)

    assert response.status_code == 302 and response.url == "/workbench/"
    page = client.get("/workbench/")
    assert page.status_code == 200
    assert "枫桥镇" in page.content.decode()
    session = client.session
    assert session[session_keys.LOGIN_AT] == int(T0.timestamp())
    assert session[session_keys.ACTIVE_MEMBERSHIP] == staff.memberships.get().pk
    assert session_keys.PENDING_USER not in session
    assert UserSession.objects.filter(user=staff, session_key=session.session_key).exists()
    assert "accounts.login" in actions()


def test_password_alone_never_makes_a_logged_in_session(client, staff, staff_device):
    response = password_step(client, "wang.fang")
    assert response.status_code == 302 and response.url == "/login/otp/"
    assert "_auth_user_id" not in client.session
    assert client.session[session_keys.PENDING_USER] == staff.pk

    for url in ("/", "/workbench/", "/tokens/", "/password/"):
        reached = client.get(url)
        assert reached.status_code == 302, url
        assert reached.url.startswith("/login/"), url


def test_session_key_changes_at_password_step_and_at_login(client, staff, staff_device, frozen):
    client.get("/login/")
    password_step(client, "wang.fang")
    pending_key = client.session.session_key
    client.post("/login/otp/", {"otp_token": current_code(staff_device)})
    assert client.session.session_key != pending_key


def test_pending_password_expires_after_a_few_minutes(client, staff, staff_device, frozen):
    password_step(client, "wang.fang")
    frozen.shift(timedelta(seconds=PENDING_SECONDS + 1))
    response = client.post("/login/otp/", {"otp_token": current_code(staff_device)})
    assert response.status_code == 302 and response.url == "/login/?reason=pending"
    assert "_auth_user_id" not in client.session


def test_wrong_code_is_refused_and_audited(client, staff, staff_device, frozen):
    password_step(client, "wang.fang")
    wrong = f"{(int(current_code(staff_device)) + 1) % 1000000:06d}"
    response = client.post("/login/otp/", {"otp_token": wrong})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "accounts.otp_failed" in actions()


def test_a_code_cannot_be_used_twice(staff, staff_device, frozen):
    first = Client()
    assert full_login(first, "wang.fang", staff_device).status_code == 302
    assert "_auth_user_id" in first.session

    replay = Client()
    password_step(replay, "wang.fang")
    response = replay.post("/login/otp/", {"otp_token": current_code(staff_device)})
    assert response.status_code == 200
    assert "_auth_user_id" not in replay.session
    staff_device.refresh_from_db()
    assert staff_device.last_t == int(T0.timestamp()) // 30


def test_next_code_works_after_the_used_one(client, staff, staff_device, frozen):
    full_login(client, "wang.fang", staff_device)
    client.post("/logout/")
    frozen.shift(timedelta(seconds=30))
    assert full_login(client, "wang.fang", staff_device).url == "/workbench/"


def test_first_login_enrols_an_authenticator_with_a_qr_code(client, staff, frozen):
    response = password_step(client, "wang.fang")
    assert response.url == "/login/enrol/"

    page = client.get("/login/enrol/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in html
    key = offered_enrol_key(client.session, staff)
    assert key and key not in client.session[session_keys.ENROL_KEY], "kept encrypted"
    assert not TOTPAuthenticator.objects.filter(user=staff).exists(), (
        "a GET must not write a device"
    )
    # The manual-entry secret is shown in groups of four base32 characters.
    assert re.search(r"[A-Z2-7]{4}( [A-Z2-7]{4}){7}", html)

    response = client.post("/login/enrol/", {"otp_token": code_for_key(key)})
    assert response.status_code == 302 and response.url == "/workbench/"
    device = TOTPAuthenticator.objects.get(user=staff)
    assert device.confirmed and device.key == key
    assert "accounts.totp_enrolled" in actions()
    assert client.get("/workbench/").status_code == 200


def test_enrolment_code_cannot_log_in_again(client, staff, frozen):
    password_step(client, "wang.fang")
    client.get("/login/enrol/")
    code = code_for_key(offered_enrol_key(client.session, staff))
    client.post("/login/enrol/", {"otp_token": code})
    client.post("/logout/")

    password_step(client, "wang.fang")
    response = client.post("/login/otp/", {"otp_token": code})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_wrong_enrolment_code_keeps_the_same_secret(client, staff, frozen):
    password_step(client, "wang.fang")
    client.get("/login/enrol/")
    key = offered_enrol_key(client.session, staff)
    wrong = f"{(int(code_for_key(key)) + 1) % 1000000:06d}"
    response = client.post("/login/enrol/", {"otp_token": wrong})
    assert response.status_code == 200
    assert offered_enrol_key(client.session, staff) == key
    assert not TOTPAuthenticator.objects.filter(user=staff).exists()


def test_enrolment_page_is_refused_to_a_user_with_a_device(client, staff, staff_device):
    password_step(client, "wang.fang")
    assert client.get("/login/enrol/").url == "/login/otp/"


def test_otp_and_enrol_pages_need_a_pending_password(client):
    assert client.get("/login/otp/").url == "/login/?reason=pending"
    assert client.get("/login/enrol/").url == "/login/?reason=pending"


def test_local_next_url_is_followed_and_foreign_one_ignored(client, staff, staff_device, frozen):
    password_step(client, "wang.fang", next="/tokens/")
    assert client.post("/login/otp/", {"otp_token": current_code(staff_device)}).url == "/tokens/"
    client.post("/logout/")
    frozen.shift(timedelta(seconds=30))
    password_step(client, "wang.fang", next="https://evil.example/")
    assert (
        client.post("/login/otp/", {"otp_token": current_code(staff_device)}).url == "/workbench/"
    )


def test_user_without_active_membership_is_not_logged_in(client, staff, staff_device, frozen):
    staff.memberships.update(is_active=False)
    password_step(client, "wang.fang")
    response = client.post("/login/otp/", {"otp_token": current_code(staff_device)})
    assert response.url == "/login/?reason=no_role"
    assert "_auth_user_id" not in client.session


def test_password_failure_is_audited_without_the_password(client, staff):
    password_step(client, "wang.fang", "not the right password")
    event = AuditEvent.objects.get(action="accounts.login_failed")
    assert event.outcome == "denied"
    assert event.actor_id == staff.pk
    assert "not the right password" not in str(event.detail)


def _fail(client, username: str, times: int):
    for _ in range(times):
        response = password_step(client, username, "definitely wrong pw")
    return response


def test_same_answer_for_unknown_user_wrong_password_and_lockout(client, staff, staff_device):
    unknown = password_step(client, "no.such.person", "whatever password 1")
    wrong = password_step(client, "wang.fang", "definitely wrong pw")
    assert unknown.status_code == wrong.status_code == 200
    assert normalised(unknown, "no.such.person") == normalised(wrong, "wang.fang")

    _fail(client, "wang.fang", 4)  # five failures in all: locked from now on
    locked = password_step(client, "wang.fang", PASSWORD)  # even the right password
    assert locked.status_code == 200
    assert normalised(locked, "wang.fang") == normalised(wrong, "wang.fang")
    assert "_auth_user_id" not in client.session
    assert session_keys.PENDING_USER not in client.session


def test_lockout_after_five_failures_lasts_fifteen_minutes(staff, staff_device):
    with time_machine.travel(T0, tick=False) as traveller:
        client = Client()
        _fail(client, "wang.fang", 4)
        assert password_step(client, "wang.fang").url == "/login/otp/"  # 4 failures: still fine

        client = Client()
        _fail(client, "wang.fang", 5)
        assert password_step(client, "wang.fang").status_code == 200
        assert "accounts.lockout" in actions()

        traveller.shift(timedelta(minutes=14))
        assert password_step(client, "wang.fang").status_code == 200
        traveller.shift(timedelta(minutes=16))
        assert password_step(client, "wang.fang").url == "/login/otp/"


def test_lockout_is_per_account_and_address(staff, staff_device):
    _fail(Client(REMOTE_ADDR="10.0.0.1"), "wang.fang", 5)
    assert password_step(Client(REMOTE_ADDR="10.0.0.1"), "wang.fang").status_code == 200
    assert password_step(Client(REMOTE_ADDR="10.0.0.2"), "wang.fang").url == "/login/otp/"


def test_disabled_user_gets_the_generic_failure(client, staff, staff_device):
    User.objects.filter(pk=staff.pk).update(is_active=False)
    response = password_step(client, "wang.fang")
    assert response.status_code == 200
    assert session_keys.PENDING_USER not in client.session


def test_logout_needs_post_and_csrf(town_operator_fengqiao):
    client = town_operator_fengqiao.client
    assert client.get("/logout/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    assert strict.post("/logout/").status_code == 403
    assert client.get("/workbench/").status_code == 200


def test_logout_kills_the_server_side_session(town_operator_fengqiao):
    client = town_operator_fengqiao.client
    key = client.session.session_key
    response = client.post("/logout/")
    assert response.url == "/login/?reason=logged_out"
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=key).exists()
    assert not UserSession.objects.filter(session_key=key).exists()
    assert "accounts.logout" in actions()
    # Replaying the old cookie gets nowhere.
    replay = Client()
    replay.cookies["sessionid"] = key
    assert replay.get("/workbench/").status_code == 302


def test_login_page_explains_why_a_session_ended(client):
    assert "15 分钟" in client.get("/login/?reason=idle").content.decode()
    assert "12 小时" in client.get("/login/?reason=absolute").content.decode()
    # Unknown reasons are not echoed: only fixed texts are ever shown.
    page = client.get("/login/?reason=%3Cb%3Ehello%3C/b%3E").content.decode()
    assert "<b>hello" not in page and 'role="status"' not in page
