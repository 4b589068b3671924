"""``fengqiao audit verify`` and ``fengqiao audit purge``: the audit chain from the command line."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from fengqiao.core import audit, services

REASONS = {
    "missing": "an earlier event is missing before this row",
    "link": "prev_hash does not match the previous event",
    "content": "the row was changed after it was written",
    "tail": "events after the last remaining row were removed",
}


class Command(BaseCommand):
    help = "Verify the audit hash chain, or purge events past the retention period."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser("verify", help="check every link of the chain")
        verify.add_argument("--no-progress", action="store_true", help="hide the progress bar")
        sub.add_parser("purge", help="delete events older than AUDIT_RETENTION_DAYS")

    def handle(self, *args, subcommand: str, **options) -> None:
        if subcommand == "verify":
            self.verify(show_progress=not options.get("no_progress"))
        else:
            self.purge()

    def verify(self, *, show_progress: bool) -> None:
        with tqdm(
            total=audit.event_count(),
            unit="event",
            disable=not show_progress,
            file=self.stderr._out,
        ) as bar:
            report = services.verify_audit_chain(progress=bar.update)
        if report.ok:
            self.stdout.write(f"audit chain OK: {report.checked} events verified")
            return
        raise CommandError(
            f"audit chain BROKEN at row {report.first_broken_id}: "
            f"{REASONS.get(report.reason, report.reason)} ({report.checked} rows checked)"
        )

    def purge(self) -> None:
        result = services.purge_audit_events()
        self.stdout.write(
            f"purged {result.deleted} audit events older than {result.cutoff:%Y-%m-%d %H:%M} UTC"
        )
