"""Security administrator pages: lockouts, sessions, authenticator reset."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client

from accounts.flows import password_step
from fengqiao.accounts.models import TOTPAuthenticator, UserSession
from fengqiao.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def lock_out(username: str) -> Client:
    client = Client()
    for _ in range(5):
        password_step(client, username, "definitely wrong pw")
    return client


def test_lockouts_are_listed_and_can_be_lifted(security_admin, town_operator_fengqiao):
    username = town_operator_fengqiao.user.username
    locked_client = lock_out(username)
    assert password_step(locked_client, username).status_code == 200  # locked

    page = security_admin.client.get("/security/lockouts/")
    rows = page.context["rows"]
    assert [(r["attempt"].username, r["locked"]) for r in rows] == [(username, True)]

    response = security_admin.client.post(
        "/security/lockouts/reset/", {"attempt": rows[0]["attempt"].pk}
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert password_step(locked_client, username).url == "/login/otp/"
    event = AuditEvent.objects.get(action="accounts.lockout_reset")
    assert event.actor_id == security_admin.user.pk


def test_sessions_are_listed_and_ended(security_admin, town_operator_fengqiao):
    subject = town_operator_fengqiao.user
    page = security_admin.client.get(f"/security/users/{subject.public_id}/")
    sessions = page.context["sessions"]
    assert len(sessions) == 1

    security_admin.client.post(
        f"/security/users/{subject.public_id}/sessions/end/", {"session": sessions[0].pk}
    )
    assert town_operator_fengqiao.client.get("/workbench/").status_code == 302
    assert not UserSession.objects.filter(user=subject).exists()
    assert AuditEvent.objects.filter(action="accounts.sessions_ended").exists()


def test_end_all_sessions(security_admin, town_operator_fengqiao):
    from personas import login_client

    subject = town_operator_fengqiao.user
    second = login_client(subject, town_operator_fengqiao.membership, town_operator_fengqiao.device)
    security_admin.client.post(f"/security/users/{subject.public_id}/sessions/end-all/")
    assert town_operator_fengqiao.client.get("/workbench/").status_code == 302
    assert second.get("/workbench/").status_code == 302


def test_authenticator_reset_forces_enrolment(security_admin, town_operator_fengqiao):
    subject = town_operator_fengqiao.user
    security_admin.client.post(f"/security/users/{subject.public_id}/totp/reset/")
    assert not TOTPAuthenticator.objects.filter(user=subject).exists()
    assert town_operator_fengqiao.client.get("/workbench/").status_code == 302
    client = Client()
    assert password_step(client, subject.username).url == "/login/enrol/"
    assert AuditEvent.objects.filter(action="accounts.second_factor_reset").exists()


def test_user_search(security_admin, town_operator_fengqiao, grid_worker_fengqiao):
    page = security_admin.client.get("/security/users/?q=grid_worker")
    assert [u.username for u in page.context["page"]] == ["grid_worker_fengqiao"]


def test_unknown_user_is_404(security_admin):
    assert (
        security_admin.client.get(
            "/security/users/00000000-0000-0000-0000-000000000001/"
        ).status_code
        == 404
    )
