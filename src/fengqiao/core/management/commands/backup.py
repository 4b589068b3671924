"""``fengqiao backup DESTINATION [--drill]``: a sealed backup of the database and media files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from fengqiao.core import backup

KEYS_HELP = (
    "The file is encrypted and authenticated chunk by chunk (SM4-GCM, or AES-256-GCM under "
    "FENGQIAO_CRYPTO=aes) with a key derived from FENGQIAO_BLIND_INDEX_KEY, the platform secret "
    "that is never rotated (so old backups stay readable), and a random salt. "
    "To restore, keep FENGQIAO_BLIND_INDEX_KEY, FENGQIAO_FIELD_KEYS (every key id in use), "
    "FENGQIAO_TIP_PEPPER and the FENGQIAO_CRYPTO suite, stored apart from the backups."
)


class Command(BaseCommand):
    # Backups and restores are needed most when something else is broken: no system checks.
    requires_system_checks: list[str] = []
    help = (
        "Back up the database (SQLite online backup API, or pg_dump) and MEDIA_ROOT into one "
        "sealed file, with per-table row digests for the restore drill. " + KEYS_HELP
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "destination",
            type=Path,
            help="the file to create, or a directory for fengqiao-<UTC time>.fqbackup",
        )
        parser.add_argument(
            "--drill",
            action="store_true",
            help="then restore the file into a throw-away database and compare row digests",
        )

    def handle(self, *args, destination: Path, drill: bool, **options) -> None:
        try:
            result = backup.create_backup(destination)
        except backup.BackupError as exc:
            raise CommandError(f"backup failed: {exc}") from exc
        manifest = result.manifest
        rows = sum(entry["rows"] for entry in manifest["tables"].values())
        self.stdout.write(
            f"backup written: {result.path} ({result.size / 1_048_576:.1f} MiB, "
            f"{manifest['backend']}, {len(manifest['tables'])} tables, {rows} rows, "
            f"{len(manifest['media'])} media files)"
        )
        if drill:
            drill_and_report(self, result.path)


def drill_and_report(command: BaseCommand, path: Path) -> None:
    """Run the drill on ``path``, print the per-table table, fail on any difference."""
    try:
        result = backup.drill_backup(path)
    except backup.BackupError as exc:
        raise CommandError(f"drill refused the backup: {exc}") from exc
    for line in report_lines(result.manifest, result.verification):
        command.stdout.write(line)
    verification = result.verification
    if not verification.ok:
        raise CommandError(
            f"drill FAILED: {len(verification.mismatched)} tables differ from the manifest, "
            f"{len(verification.missing_media)} referenced files are missing"
        )
    command.stdout.write(
        f"drill OK: {len(verification.tables)} tables, {verification.rows} rows and "
        f"{verification.media_files} files match the manifest"
    )


def report_lines(manifest: dict[str, Any], verification: backup.Verification) -> list[str]:
    """One line per table (rows in the backup, rows restored, digest, result), then the files."""
    width = max([len("table"), *(len(check.name) for check in verification.tables)])
    lines = [
        f"backup {manifest['backup_id']} made {manifest['created_at']} ({manifest['backend']})",
        f"{'table':<{width}}  {'rows (backup)':>13}  {'rows (restored)':>15}  digest        result",
    ]
    for check in verification.tables:
        expected = str(check.expected.rows) if check.expected else "-"
        actual = str(check.actual.rows) if check.actual else "-"
        digest = (check.actual or check.expected).digest[:12]  # type: ignore[union-attr]
        if check.ok:
            result = "OK"
        elif check.expected is None:
            result = "EXTRA TABLE"
        elif check.actual is None:
            result = "MISSING TABLE"
        else:
            result = "MISMATCH"
        lines.append(f"{check.name:<{width}}  {expected:>13}  {actual:>15}  {digest}  {result}")
    lines.append(
        f"media: {verification.media_files} files (SHA-256 checked), "
        f"{len(verification.missing_media)} referenced files missing"
    )
    lines.extend(f"  missing: {name}" for name in verification.missing_media[:20])
    return lines
