"""`fengqiao open311 …`: Open311 client keys from the command line.

fengqiao open311 create-key --name NAME [--region CODE]   prints the key once
fengqiao open311 revoke-key PREFIX
fengqiao open311 list-keys
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fengqiao.api import services
from fengqiao.api.models import Open311Client
from fengqiao.regions.models import Region


class Command(BaseCommand):
    help = "Issue, revoke and list the keys of Open311 GeoReport v2 clients."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=CommandParser)
        create = sub.add_parser("create-key", help="issue a key and print it once")
        create.add_argument("--name", required=True, help="who the client is, e.g. 12345 平台")
        create.add_argument(
            "--region",
            help="region code whose operators may manage the key (default: the top region)",
        )
        revoke = sub.add_parser("revoke-key", help="revoke a key by its prefix")
        revoke.add_argument("prefix")
        sub.add_parser("list-keys", help="list keys (prefix, name, region, state)")

    def handle(self, *args, action: str, **options) -> None:
        {
            "create-key": self._create,
            "revoke-key": self._revoke,
            "list-keys": self._list,
        }[action](**options)

    def _region_code(self, code: str | None) -> str:
        if code:
            region = Region.objects.filter(code=code).first()
            if region is None:
                raise CommandError(f"no such region: {code}")
            return region.code
        top = Region.objects.filter(parent__isnull=True).order_by("code").first()
        if top is None:
            raise CommandError("no regions loaded; run `fengqiao regions load-shipped` first")
        return top.code

    def _create(self, *, name: str, region: str | None, **_) -> None:
        if not name.strip():
            raise CommandError("--name must not be empty")
        client, raw = services.create_client(
            name=name, region_code=self._region_code(region), actor=None, membership=None
        )
        self.stdout.write(self.style.SUCCESS(f"created Open311 key {client.prefix} for {name}"))
        self.stdout.write(raw)
        self.stdout.write("Copy it now: it is not stored and cannot be shown again.")

    def _revoke(self, *, prefix: str, **_) -> None:
        client = Open311Client.objects.filter(prefix=prefix.strip()).first()
        if client is None:
            raise CommandError(f"no such key: {prefix}")
        if client.revoked_at is not None:
            raise CommandError(f"key {prefix} was already revoked")
        services.revoke_client(client=client, actor=None, membership=None)
        self.stdout.write(self.style.SUCCESS(f"revoked Open311 key {prefix}"))

    def _list(self, **_) -> None:
        clients = Open311Client.objects.unscoped_all().order_by("created_at", "id")
        for client in clients:
            state = "revoked" if client.revoked_at else "active"
            used = client.last_used_at.isoformat(timespec="seconds") if client.last_used_at else "-"
            self.stdout.write(
                f"{client.prefix}\t{state}\t{client.region_code}\t{used}\t{client.name}"
            )
