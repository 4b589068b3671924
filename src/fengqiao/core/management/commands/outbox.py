"""``fengqiao outbox run`` and ``fengqiao outbox status``: the job backlog from the command line."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from fengqiao.core import outbox


class Command(BaseCommand):
    help = "Run the outbox jobs still owed, or show the backlog."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        run = sub.add_parser("run", help="run due jobs once (what the periodic job does)")
        run.add_argument("--limit", type=int, default=10_000, help="at most this many jobs")
        sub.add_parser("status", help="pending, running, done and given-up jobs")

    def handle(self, *args, subcommand: str, **options) -> None:
        if subcommand == "run":
            result = outbox.run_pending(limit=options["limit"])
            self.stdout.write(
                f"outbox: {result.done} done, {result.retried} to retry, {result.failed} given up"
            )
            return
        counts = outbox.backlog()
        self.stdout.write(" ".join(f"{name}={count}" for name, count in counts.items()))
