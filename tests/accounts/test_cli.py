"""`fengqiao accounts …`: the only way to make administrators (SECURITY 9)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from fengqiao.accounts.models import Membership, User
from fengqiao.accounts.roles import Role
from fengqiao.core.models import AuditEvent
from fengqiao.regions.models import UnitKind

pytestmark = pytest.mark.django_db


def run(*args: str, stdin: str | None = None, monkeypatch=None) -> str:
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command("accounts", *args, stdout=out)
    return out.getvalue()


def test_create_user_prints_a_generated_initial_password():
    output = run("create-user", "sun.li", "--full-name", "孙丽")
    password = output.split("initial password: ")[1].split()[0]
    user = User.objects.get(username="sun.li")
    assert user.check_password(password) and user.password_must_change
    assert len(password) >= 12
    assert AuditEvent.objects.filter(action="accounts.user_created", actor__isnull=True).exists()


def test_create_user_reads_a_password_from_stdin(monkeypatch):
    output = run(
        "create-user",
        "sun.li",
        "--full-name",
        "孙丽",
        "--password-stdin",
        stdin="a passphrase from stdin\n",
        monkeypatch=monkeypatch,
    )
    assert "initial password" not in output
    assert User.objects.get(username="sun.li").check_password("a passphrase from stdin")


def test_create_user_refuses_a_weak_password(monkeypatch):
    with pytest.raises(CommandError):
        run(
            "create-user",
            "sun.li",
            "--full-name",
            "孙丽",
            "--password-stdin",
            stdin="short\n",
            monkeypatch=monkeypatch,
        )
    assert not User.objects.filter(username="sun.li").exists()


def test_grant_and_revoke_admin_role():
    run("create-user", "sun.li", "--full-name", "孙丽")
    run("grant-admin", "sun.li", Role.AUDIT_ADMIN, "--region", "330600")
    membership = Membership.objects.get(user__username="sun.li", role=Role.AUDIT_ADMIN)
    assert membership.unit.kind == UnitKind.ADMINISTRATION and membership.is_active
    event = AuditEvent.objects.get(action="accounts.admin_role_granted")
    assert event.detail["via"] == "cli"

    run("revoke-admin", "sun.li", Role.AUDIT_ADMIN)
    membership.refresh_from_db()
    assert not membership.is_active


def test_grant_admin_refuses_ordinary_roles_and_unknown_users():
    run("create-user", "sun.li", "--full-name", "孙丽")
    with pytest.raises(CommandError):
        run("grant-admin", "sun.li", Role.TOWN_OPERATOR)
    with pytest.raises(CommandError):
        run("grant-admin", "nobody", Role.AUDIT_ADMIN)


def test_disable_and_enable(town_operator_fengqiao):
    run("disable", "town_operator_fengqiao")
    assert town_operator_fengqiao.client.get("/workbench/").status_code == 302
    assert not User.objects.get(username="town_operator_fengqiao").is_active
    run("enable", "town_operator_fengqiao")
    assert User.objects.get(username="town_operator_fengqiao").is_active


def test_cli_can_disable_an_administrator(security_admin):
    run("disable", "security_admin")
    assert not User.objects.get(username="security_admin").is_active
