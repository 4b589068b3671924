"""``fengqiao regions import|show|load-shipped|build-demo``: the region spine from the command line."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fengqiao.regions import services
from fengqiao.regions.divisions import DivisionFileRejected
from fengqiao.regions.models import LEVEL_ORDER, Level, Region, Unit
from fengqiao.regions.querysets import subtree_counts

# Enough to fix a file by; the rest are summarised in one line.
MAX_ISSUES_SHOWN = 200


class Command(BaseCommand):
    help = "Import statistical divisions, show a region, load the shipped 绍兴市 divisions."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        do_import = sub.add_parser("import", help="import a division CSV (all or nothing)")
        do_import.add_argument("file", type=Path)
        do_import.add_argument("--no-progress", action="store_true", help="hide the progress bar")
        show = sub.add_parser("show", help="show a region, its counts and its units")
        show.add_argument("code")
        sub.add_parser("load-shipped", help="import the shipped 绍兴市 2021 divisions")
        demo = sub.add_parser("build-demo", help="build demo grids and units for every region")
        demo.add_argument("--seed", type=int, default=services.DEFAULT_DEMO_SEED)
        demo.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args, subcommand: str, **options) -> None:
        if subcommand == "import":
            self.do_import(options["file"], progress=not options["no_progress"])
        elif subcommand == "show":
            self.show(options["code"])
        elif subcommand == "load-shipped":
            self.report(services.load_shipped_divisions())
        else:
            built = services.build_demo_structure(
                seed=options["seed"], progress=not options["no_progress"]
            )
            self.stdout.write(f"网格 {built.grids} 个、单位 {built.units_total} 个已创建")

    def do_import(self, path: Path, *, progress: bool) -> None:
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        try:
            report = services.import_regions(path, progress=progress)
        except DivisionFileRejected as rejected:
            for issue in rejected.issues[:MAX_ISSUES_SHOWN]:
                self.stderr.write(f"{path.name}: {issue}")
            hidden = len(rejected.issues) - MAX_ISSUES_SHOWN
            if hidden > 0:
                self.stderr.write(f"……另有 {hidden} 处错误未列出")
            raise CommandError(str(rejected)) from rejected
        self.report(report)

    def report(self, report: services.ImportReport) -> None:
        def per_level(counts: dict[str, int]) -> str:
            parts = [
                f"{Level(level).label} {counts[level]}" for level in LEVEL_ORDER if level in counts
            ]
            return "，".join(parts) or "0"

        self.stdout.write(
            f"共 {report.rows} 行：新建 {per_level(report.created)}；"
            f"更新 {per_level(report.updated)}；未变 {report.unchanged}；"
            f"用时 {report.seconds:.1f} 秒"
        )

    def show(self, code: str) -> None:
        region = Region.objects.filter(code=code).select_related("parent").first()
        if region is None:
            raise CommandError(f"没有代码为 {code} 的区划")
        write = self.stdout.write
        write(f"{region.code}  {region.name} · {region.get_level_display()}")
        write(f"  地名：{region.place_name}    全称：{region.full_name}")
        write(f"  上级：{region.parent.code + ' ' + region.parent.name if region.parent else '—'}")
        # Seen from the region itself: its whole subtree and nothing else.
        counts = subtree_counts(region, scope=region)
        below = [
            f"{Level(level).label} {counts[level]}" for level in LEVEL_ORDER if level in counts
        ]
        write(f"  下辖：{'，'.join(below) or '—'}；单位 {counts['units']}")
        for unit in Unit.objects.in_region(region).order_by("kind", "name"):
            write(f"  - {unit.name} · {unit.get_kind_display()}")
