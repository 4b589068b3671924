"""`fengqiao demo`: the whole demo platform on SQLite — data, accounts, server and worker.

`fengqiao demo --no-serve` loads the same data without starting anything; `fengqiao demo code
USERNAME` prints a demo account's current TOTP code.
"""

from __future__ import annotations

from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from fengqiao.accounts import demo
from fengqiao.accounts.models import User
from fengqiao.regions import services as regions


class Command(BaseCommand):
    help = "Load the Shaoxing demo (regions, grids, units, demo accounts) and serve it."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", nargs="?", choices=["code"], help="code: print a TOTP code")
        parser.add_argument("username", nargs="?")
        parser.add_argument("--no-serve", action="store_true", help="load data, start nothing")
        parser.add_argument("--bind", default="127.0.0.1:8000")

    def handle(self, *args, action, username, no_serve: bool, bind: str, **options) -> None:
        if action == "code":
            self._print_code(username)
            return
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("正在加载绍兴行政区划 Loading Shaoxing divisions …")
        regions.load_shipped_divisions()
        self.stdout.write("正在生成网格与单位 Building grids and units …")
        regions.build_demo_structure()
        call_command("calendar", "seed", verbosity=0)
        accounts = demo.ensure_demo_accounts()
        self._load_app_demos()
        self._print_summary(accounts, bind)
        if not no_serve:
            call_command("serve", bind=bind)

    def _load_app_demos(self) -> None:
        """Domain apps below in the stack bring their own demo data in ``<app>.demo.load_demo``;
        looking them up here keeps accounts from importing the apps that depend on it."""
        for config in apps.get_app_configs():
            if not config.name.startswith("fengqiao.") or config.label == "accounts":
                continue
            try:
                module = import_module(f"{config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.demo":
                    raise
                continue
            if callable(getattr(module, "load_demo", None)):
                self.stdout.write(module.load_demo())

    def _print_code(self, username: str | None) -> None:
        if not username:
            raise CommandError("usage: fengqiao demo code USERNAME")
        try:
            self.stdout.write(demo.current_code(username))
        except User.DoesNotExist as exc:
            raise CommandError(f"no such user: {username}") from exc
        except (PermissionError, LookupError) as exc:
            raise CommandError(f"{username}: {exc}") from exc

    def _print_summary(self, accounts, bind: str) -> None:
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"枫桥 Fengqiao demo: http://{bind}/"))
        self.stdout.write(f"数据库 Database: {settings.DATABASES['default']['NAME']}")
        self.stdout.write("演示账号 Demo accounts (password · role):")
        for account, password in accounts:
            self.stdout.write(f"  {account.username:<17} {password}  {account.full_name}")
        self.stdout.write("二次验证码 TOTP code: fengqiao demo code USERNAME")
        self.stdout.write("")
