"""`fengqiao accounts …`: staff accounts from the command line.

The three administrator roles (system, security, audit) are granted and revoked only here, by
whoever runs the server (SECURITY 9); the web interface refuses them.

    fengqiao accounts create-user USERNAME --full-name NAME [--password-stdin]
    fengqiao accounts grant-admin USERNAME ROLE [--region CODE]
    fengqiao accounts revoke-admin USERNAME ROLE
    fengqiao accounts disable USERNAME
    fengqiao accounts enable USERNAME
"""

from __future__ import annotations

import secrets
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fengqiao.accounts import services
from fengqiao.accounts.models import Membership, User
from fengqiao.accounts.roles import ADMIN_ROLES
from fengqiao.regions.models import Unit, UnitKind


class Command(BaseCommand):
    help = "Create users, grant or revoke administrator roles, disable or enable accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=CommandParser)
        create = sub.add_parser("create-user", help="create a staff account")
        create.add_argument("username")
        create.add_argument("--full-name", required=True)
        create.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the initial password from standard input instead of generating one",
        )
        grant = sub.add_parser("grant-admin", help="grant an administrator role")
        grant.add_argument("username")
        grant.add_argument("role", choices=sorted(ADMIN_ROLES))
        grant.add_argument("--region", help="region code of the administration unit")
        revoke = sub.add_parser("revoke-admin", help="remove an administrator role")
        revoke.add_argument("username")
        revoke.add_argument("role", choices=sorted(ADMIN_ROLES))
        for name, text in (("disable", "disable an account"), ("enable", "enable an account")):
            sub.add_parser(name, help=text).add_argument("username")

    def handle(self, *args, action: str, **options) -> None:
        handler = {
            "create-user": self._create_user,
            "grant-admin": self._grant_admin,
            "revoke-admin": self._revoke_admin,
            "disable": self._disable,
            "enable": self._enable,
        }[action]
        handler(**options)

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no such user: {username}")
        return user

    def _create_user(self, *, username: str, full_name: str, password_stdin: bool, **_) -> None:
        generated = not password_stdin
        password = secrets.token_urlsafe(12) if generated else sys.stdin.readline().rstrip("\n")
        try:
            user = services.create_user(
                username=username,
                full_name=full_name,
                password=password,
                actor=None,
                membership=None,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        except services.AccountsError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"created {user.username}"))
        if generated:
            self.stdout.write(f"initial password: {password}")
        self.stdout.write("The user must change it and enrol TOTP at first login.")

    def _admin_unit(self, region: str | None) -> Unit:
        units = Unit.objects.active().of_kind(UnitKind.ADMINISTRATION).select_related("region")
        if region:
            units = units.filter(region__code=region)
        found = list(units[:10])
        if len(found) == 1:
            return found[0]
        if not found:
            raise CommandError(
                "no active administration unit" + (f" in {region}" if region else "")
            )
        codes = ", ".join(f"{unit.region.code} ({unit.name})" for unit in found)
        raise CommandError(f"several administration units; choose one with --region: {codes}")

    def _grant_admin(self, *, username: str, role: str, region: str | None, **_) -> None:
        user = self._user(username)
        try:
            membership = services.grant_admin_role(
                user=user, role=role, unit=self._admin_unit(region)
            )
        except services.AccountsError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"{user.username}: {membership.role} in {membership.unit.name}")
        )

    def _revoke_admin(self, *, username: str, role: str, **_) -> None:
        user = self._user(username)
        targets = list(Membership.objects.filter(user=user, role=role, is_active=True))
        if not targets:
            raise CommandError(f"{username} does not hold {role}")
        for target in targets:
            services.revoke_admin_role(target=target)
        self.stdout.write(self.style.SUCCESS(f"{user.username}: {role} revoked"))

    def _disable(self, *, username: str, **_) -> None:
        user = self._user(username)
        services.disable_user(user=user, actor=None, membership=None)
        self.stdout.write(self.style.SUCCESS(f"{user.username} disabled; sessions ended"))

    def _enable(self, *, username: str, **_) -> None:
        user = self._user(username)
        services.enable_user(user=user, actor=None, membership=None)
        self.stdout.write(self.style.SUCCESS(f"{user.username} enabled"))
