"""Demo accounts (演示账号): one per role, only when demo mode is asked for explicitly.

``fengqiao demo`` calls ``ensure_demo_accounts``; nothing else creates them. Passwords are random
per installation and kept in ``var/demo_credentials.json`` (mode 0600) so a second run can print
them again; TOTP devices are enrolled so ``fengqiao demo code USERNAME`` can print the current code
for a tester without a phone. ``demo code`` refuses any account that is not a demo account.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django_otp.oath import TOTP

from fengqiao.accounts.models import Membership, TOTPAuthenticator, User
from fengqiao.accounts.roles import Role
from fengqiao.core import audit
from fengqiao.regions.models import Unit, UnitKind


@dataclass(frozen=True)
class DemoAccount:
    username: str
    full_name: str
    role: str
    unit_kind: str
    region_code: str


DEMO_ACCOUNTS = (
    DemoAccount(
        "demo.grid",
        "陈晓燕（枫源村网格员）",
        Role.GRID_WORKER,
        UnitKind.GRID_STATION,
        "330681109290001",
    ),
    DemoAccount(
        "demo.mediator",
        "杨国庆（枫源村调解员）",
        Role.VILLAGE_MEDIATOR,
        UnitKind.MEDIATION_COMMITTEE,
        "330681109290",
    ),
    DemoAccount(
        "demo.town",
        "骆文斌（枫桥镇指挥室）",
        Role.TOWN_OPERATOR,
        UnitKind.COMMAND_ROOM,
        "330681109",
    ),
    DemoAccount(
        "demo.police",
        "周建华（枫桥派出所）",
        Role.DEPARTMENT_HANDLER,
        UnitKind.POLICE_STATION,
        "330681109",
    ),
    DemoAccount(
        "demo.justice",
        "何丽萍（枫桥司法所）",
        Role.DEPARTMENT_HANDLER,
        UnitKind.JUSTICE_OFFICE,
        "330681109",
    ),
    DemoAccount(
        "demo.county",
        "宣立新（诸暨市社会治理中心）",
        Role.CENTRE_STAFF,
        UnitKind.GOVERNANCE_CENTRE,
        "330681",
    ),
    DemoAccount(
        "demo.antigang",
        "金卫东（诸暨市扫黑办）",
        Role.ANTI_GANG_HANDLER,
        UnitKind.ANTI_GANG_OFFICE,
        "330681",
    ),
    DemoAccount(
        "demo.discipline",
        "楼敏（诸暨市纪委监委）",
        Role.DISCIPLINE_LIAISON,
        UnitKind.DISCIPLINE_COMMISSION,
        "330681",
    ),
    DemoAccount(
        "demo.city",
        "王志强（绍兴市社会治理中心）",
        Role.CENTRE_STAFF,
        UnitKind.GOVERNANCE_CENTRE,
        "330600",
    ),
    DemoAccount(
        "demo.inspector",
        "钱晓东（市委政法委督查）",
        Role.INSPECTOR,
        UnitKind.POLITICAL_LEGAL_COMMITTEE,
        "330600",
    ),
    DemoAccount(
        "demo.leader", "孙明（市领导）", Role.LEADER, UnitKind.POLITICAL_LEGAL_COMMITTEE, "330600"
    ),
    DemoAccount(
        "demo.sysadmin", "系统管理员", Role.SYSTEM_ADMIN, UnitKind.ADMINISTRATION, "330600"
    ),
    DemoAccount(
        "demo.secadmin", "安全管理员", Role.SECURITY_ADMIN, UnitKind.ADMINISTRATION, "330600"
    ),
    DemoAccount(
        "demo.auditadmin", "审计管理员", Role.AUDIT_ADMIN, UnitKind.ADMINISTRATION, "330600"
    ),
)


def _credentials_path() -> Path:
    return Path(settings.VAR_DIR) / "demo_credentials.json"


def _load_credentials() -> dict[str, str]:
    path = _credentials_path()
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return {}


def _save_credentials(credentials: dict[str, str]) -> None:
    path = _credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(credentials, ensure_ascii=False, indent=1), encoding="utf-8")
    path.chmod(0o600)


@transaction.atomic
def ensure_demo_accounts() -> list[tuple[DemoAccount, str]]:
    """Create any missing demo account with its membership and enrolled TOTP device.

    Idempotent: existing accounts keep their password and device. Returns (account, password).
    """
    credentials = _load_credentials()
    result = []
    for account in DEMO_ACCOUNTS:
        user = User.objects.filter(username=account.username).first()
        password = credentials.get(account.username)
        if user is None or password is None:
            password = "demo-" + secrets.token_urlsafe(12)
            if user is None:
                user = User(username=account.username, full_name=account.full_name, is_demo=True)
            user.set_password(password)
            user.save()
            credentials[account.username] = password
            audit.record("accounts.demo_account_created", obj=user, detail={"role": account.role})
        unit = Unit.objects.get(kind=account.unit_kind, region__code=account.region_code)
        Membership.objects.get_or_create(
            user=user, unit=unit, role=account.role, defaults={"region_code": unit.region_code}
        )
        if not TOTPAuthenticator.objects.filter(user=user, confirmed=True).exists():
            TOTPAuthenticator.objects.create(user=user, name="demo", confirmed=True)
        result.append((account, password))
    _save_credentials(credentials)
    return result


def current_code(username: str) -> str:
    """The TOTP code a demo account's authenticator would show now."""
    user = User.objects.get(username=username)
    if not user.is_demo:
        raise PermissionError("not a demo account")
    device = TOTPAuthenticator.objects.filter(user=user, confirmed=True).first()
    if device is None:
        raise LookupError("no enrolled device")
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"
