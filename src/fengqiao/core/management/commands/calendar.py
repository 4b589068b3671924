"""``fengqiao calendar seed|import|show``: the working-day calendar from the command line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from fengqiao.core import services, workdays
from fengqiao.core.models import CalendarDay


class Command(BaseCommand):
    help = "Seed holidays from the chinese-calendar package, import a CSV, or show a year."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        seed = sub.add_parser("seed", help="add the years the chinese-calendar package knows")
        seed.add_argument("years", nargs="*", type=int, help="only these years")
        imp = sub.add_parser("import", help="import date,kind,name rows (all or nothing)")
        imp.add_argument("path", type=Path)
        imp.add_argument(
            "--incomplete", action="store_true", help="do not mark the file's years as complete"
        )
        show = sub.add_parser("show", help="list a year's holidays and make-up working days")
        show.add_argument("year", nargs="?", type=int)

    def handle(self, *args, subcommand: str, **options) -> None:
        if subcommand == "seed":
            result = services.seed_calendar_from_package(years=options["years"] or None)
            years = ", ".join(map(str, result.years)) or "none"
            if options["verbosity"] > 0:
                self.stdout.write(f"added {result.created} days; years newly known: {years}")
        elif subcommand == "import":
            try:
                result = services.import_calendar_csv(
                    data=options["path"].read_bytes(), mark_complete=not options["incomplete"]
                )
            except services.CalendarImportError as exc:
                raise CommandError("\n".join(exc.errors)) from exc
            self.stdout.write(
                f"created {result.created}, updated {result.updated} days "
                f"in {', '.join(map(str, result.years))}"
            )
        else:
            self.show(options["year"] or timezone.localdate().year)

    def show(self, year: int) -> None:
        schedule = workdays.schedule(year)
        state = "known" if schedule.known else "UNKNOWN (weekends only)"
        self.stdout.write(f"{year}: schedule {state}")
        for entry in CalendarDay.objects.filter(date__year=year):
            weekday = entry.date.strftime("%a")
            self.stdout.write(f"  {entry.date} {weekday} {entry.kind:<15} {entry.name}")
        working = workdays.working_days_between(date(year - 1, 12, 31), date(year, 12, 31))
        self.stdout.write(f"  {working} working days")
