"""``fengqiao restore FILE [--force]`` and ``fengqiao restore --drill FILE``."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fengqiao.core import backup
from fengqiao.core.management.commands.backup import KEYS_HELP, drill_and_report, report_lines


class Command(BaseCommand):
    # Backups and restores are needed most when something else is broken: no system checks.
    requires_system_checks: list[str] = []
    help = (
        "Restore a backup made by `fengqiao backup` into the configured database and "
        "MEDIA_ROOT (stop the server first), or with --drill into a throw-away database, "
        "comparing per-table row digests with the backup's manifest. The whole file is "
        "authenticated before anything is written: a tampered, truncated or foreign file is "
        "refused. " + KEYS_HELP
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("source", type=Path, help="a .fqbackup file")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--force",
            action="store_true",
            help="replace a database that already has tables, and the files in MEDIA_ROOT",
        )
        mode.add_argument(
            "--drill",
            action="store_true",
            help="restore into a throw-away database only and compare; nothing else changes",
        )

    def handle(self, *args, source: Path, force: bool, drill: bool, **options) -> None:
        if drill:
            drill_and_report(self, source)
            return
        try:
            result = backup.restore_backup(source, force=force)
        except backup.BackupError as exc:
            raise CommandError(f"restore refused: {exc}") from exc
        for line in report_lines(result.manifest, result.verification):
            self.stdout.write(line)
        for name in result.unknown_migrations:
            self.stderr.write(f"warning: the backup has migration {name}, unknown to this release")
        if result.pending_migrations:
            self.stdout.write(
                f"{len(result.pending_migrations)} migrations of this release are not in the "
                "backup: run `fengqiao migrate` before starting the server"
            )
        if not result.verification.ok:
            raise CommandError(
                "restored, but the database differs from the backup's manifest: "
                f"{len(result.verification.mismatched)} tables, "
                f"{len(result.verification.missing_media)} missing files"
            )
        self.stdout.write(
            f"restore OK: {len(result.verification.tables)} tables, "
            f"{result.verification.rows} rows, {result.verification.media_files} files"
        )
