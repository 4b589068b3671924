"""``fengqiao crypto rotate|status|check``: field keys from the command line."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from fengqiao.core import crypto, services


class Command(BaseCommand):
    help = "Rotate encrypted fields to the active key, show key usage, or test the keys."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        rotate = sub.add_parser("rotate", help="re-encrypt every encrypted field to FIELD_KEY_ID")
        rotate.add_argument("--batch-size", type=int, default=500)
        rotate.add_argument("--no-progress", action="store_true", help="hide the progress bar")
        sub.add_parser("status", help="how many stored values each key id protects")
        check = sub.add_parser("check", help="decrypt the key-check rows with today's keys")
        check.add_argument(
            "--create",
            action="store_true",
            help="first seal a new key-check row with the active key",
        )

    def handle(self, *args, subcommand: str, **options) -> None:
        getattr(self, f"run_{subcommand}")(**options)

    def run_rotate(self, *, batch_size: int, no_progress: bool, **options) -> None:
        with tqdm(
            total=services.count_encrypted_rows(),
            unit="row",
            disable=no_progress,
            file=self.stderr._out,
        ) as bar:
            result = services.rotate_field_keys(progress=bar.update, batch_size=batch_size)
        self.stdout.write(
            f"rotated {result.rotated} and re-indexed {result.reindexed} of {result.rows} rows "
            f"to key {crypto.provider().active_key_id}"
        )
        if result.failed:
            raise CommandError(f"{result.failed} rows could not be decrypted with any known key")

    def run_status(self, **options) -> None:
        provider = crypto.provider()
        self.stdout.write(f"suite: {provider.alg}, active key id: {provider.active_key_id}")
        for key_id, count in sorted(services.key_usage().items()):
            self.stdout.write(f"  {key_id}: {count} values")

    def run_check(self, *, create: bool, **options) -> None:
        if create:
            services.create_key_check()
        results = services.verify_key_checks()
        if not results:
            raise CommandError("no key-check rows yet: run `fengqiao crypto check --create`")
        for public_id, key_id, ok in results:
            self.stdout.write(f"  {public_id} key {key_id}: {'OK' if ok else 'FAILED'}")
        if not all(ok for _, _, ok in results):
            raise CommandError("some stored values cannot be decrypted with the configured keys")
