"""``fengqiao cases sweep`` (the clock sweep once, by hand), ``fengqiao cases load-taxonomy`` and
``fengqiao cases import FILE --user NAME`` (Excel batch import)."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Case engine chores: run the clock sweep once, or load the shipped taxonomy."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("sweep", help="raise yellow/red cards and announce due follow-up visits")
        load = sub.add_parser(
            "load-taxonomy", help="load the shipped categories, rules and clock policies"
        )
        load.add_argument(
            "--only-missing", action="store_true", help="add missing rows, keep edited ones"
        )
        do_import = sub.add_parser("import", help="import cases from an .xlsx file (all or none)")
        do_import.add_argument("file", type=Path)
        do_import.add_argument("--user", required=True, help="user name of the importer")
        do_import.add_argument(
            "--membership", type=int, help="membership id, when the user holds several"
        )

    def handle(self, *args, subcommand: str, **options) -> None:
        if subcommand == "sweep":
            self.sweep()
        elif subcommand == "import":
            self.import_cases(options["file"], options["user"], options["membership"])
        else:
            self.load_taxonomy(only_missing=options["only_missing"])

    def sweep(self) -> None:
        from fengqiao.cases.jobs import run_sweep

        started = time.monotonic()
        report = run_sweep()
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"acceptance: {report.accept_yellow} yellow, {report.accept_red} red; "
            f"handling: {report.handle_yellow} yellow, {report.handle_red} red; "
            f"follow-up visits due: {report.visits_due} ({elapsed:.2f} s)"
        )

    def load_taxonomy(self, *, only_missing: bool) -> None:
        from fengqiao.cases import taxonomy

        report = taxonomy.load_shipped(only_missing=only_missing)
        self.stdout.write(f"taxonomy loaded: {report.as_detail()}")

    def import_cases(self, path: Path, username: str, membership_id: int | None) -> None:
        from fengqiao.accounts.models import Membership
        from fengqiao.accounts.roles import Cap
        from fengqiao.cases import imports

        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        memberships = [
            m
            for m in Membership.objects.filter(user__username=username, is_active=True)
            .select_related("user", "unit__region")
            .order_by("pk")
            if m.can(Cap.CASES_REPORT) and (membership_id is None or m.pk == membership_id)
        ]
        if not memberships:
            raise CommandError(f"用户 {username} 没有可以上报事件的有效任职")
        if len(memberships) > 1:
            listed = "；".join(f"{m.pk}: {m}" for m in memberships)
            raise CommandError(f"用户 {username} 有多个任职，请用 --membership 指定：{listed}")
        membership = memberships[0]
        try:
            result = imports.import_cases(
                data=path.read_bytes(), actor=membership.user, membership=membership
            )
        except imports.ImportRejected as rejected:
            for issue in rejected.issues:
                where = f"第 {issue.row} 行" if issue.row else "文件"
                column = f"「{issue.column}」" if issue.column else ""
                self.stderr.write(f"{path.name} {where}{column}：{issue.message}")
            raise CommandError(f"未导入：共 {len(rejected.issues)} 处错误") from rejected
        if result.replayed:
            self.stdout.write(f"该文件已导入过，未重复导入（当时新建 {len(result.created)} 件）")
        else:
            self.stdout.write(
                f"共 {result.rows} 行：新建 {len(result.created)} 件，"
                f"跳过已导入 {len(result.skipped)} 件"
            )
