"""Seed the working-day calendar from the chinese-calendar package (2004 to its last known year).

Later years are added by ``fengqiao calendar seed`` after a package upgrade, by CSV import, or by
hand in the calendar admin page.
"""

from django.db import migrations


def seed(apps, schema_editor):
    from fengqiao.core.workdays import package_schedule

    CalendarDay = apps.get_model("core", "CalendarDay")
    CalendarYear = apps.get_model("core", "CalendarYear")
    days, years = package_schedule()
    existing = set(CalendarDay.objects.values_list("date", flat=True))
    CalendarDay.objects.bulk_create(
        [CalendarDay(date=d, kind=kind, name=name) for d, kind, name in days if d not in existing]
    )
    known = set(CalendarYear.objects.values_list("year", flat=True))
    CalendarYear.objects.bulk_create(
        [CalendarYear(year=y, source="package") for y in years if y not in known]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_calendar_keycheck"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
