"""Working days under the real 2025 and 2026 holiday schedules, and the calendar writers."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import chinese_calendar
import pytest
import time_machine
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from fengqiao.core import services, workdays
from fengqiao.core.models import AuditEvent, CalendarDay, CalendarYear

pytestmark = pytest.mark.django_db
D = date


def days_of(year: int):
    day = D(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


# --- the real schedules -----------------------------------------------------------------------


def test_2025_spring_festival_is_eight_days_off():
    assert [workdays.is_working_day(D(2025, 1, 27) + timedelta(days=i)) for i in range(10)] == [
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
    ]


def test_2025_make_up_sunday_and_saturday_around_spring_festival_are_working_days():
    assert D(2025, 1, 26).weekday() == 6 and workdays.is_working_day(D(2025, 1, 26))
    assert D(2025, 2, 8).weekday() == 5 and workdays.is_working_day(D(2025, 2, 8))
    assert not workdays.is_working_day(D(2025, 2, 9))  # an ordinary Sunday


def test_2025_national_day_with_its_make_up_days():
    assert not any(workdays.is_working_day(D(2025, 10, d)) for d in range(1, 9))
    assert workdays.is_working_day(D(2025, 9, 28))  # Sunday
    assert workdays.is_working_day(D(2025, 10, 11))  # Saturday
    assert workdays.is_working_day(D(2025, 10, 9))


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_day_agrees_with_the_chinese_calendar_package(year):
    mismatches = [
        d for d in days_of(year) if workdays.is_working_day(d) != chinese_calendar.is_workday(d)
    ]
    assert mismatches == []


def test_2026_make_up_days_from_the_package_are_working_days():
    makeup = sorted(
        d for d in chinese_calendar.get_workdays(D(2026, 1, 1), D(2026, 12, 31)) if d.weekday() >= 5
    )
    assert makeup  # the State Council published weekend working days for 2026
    assert all(workdays.is_working_day(d) for d in makeup)
    assert CalendarDay.objects.filter(kind="makeup_workday", date__year=2026).count() == len(makeup)


def test_add_working_days_across_spring_festival_2025():
    assert workdays.add_working_days(D(2025, 1, 27), 1) == D(2025, 2, 5)
    assert workdays.add_working_days(D(2025, 1, 27), 5) == D(2025, 2, 10)
    assert workdays.add_working_days(D(2025, 1, 24), 1) == D(2025, 1, 26)  # make-up Sunday
    assert workdays.add_working_days(D(2025, 2, 5), -1) == D(2025, 1, 27)
    assert workdays.add_working_days(D(2025, 1, 28), 0) == D(2025, 1, 28)


def test_working_days_between_counts_after_start_up_to_end():
    assert workdays.working_days_between(D(2025, 1, 24), D(2025, 2, 10)) == 7
    assert workdays.working_days_between(D(2025, 2, 10), D(2025, 1, 24)) == -7
    assert workdays.working_days_between(D(2025, 3, 3), D(2025, 3, 3)) == 0
    expected = sum(chinese_calendar.is_workday(d) for d in days_of(2025))
    assert workdays.working_days_between(D(2024, 12, 31), D(2025, 12, 31)) == expected


def test_working_days_between_inverts_add_working_days_across_a_year_end():
    start = D(2025, 12, 20)
    end = workdays.add_working_days(start, 30)
    assert end.year == 2026
    assert workdays.working_days_between(start, end) == 30


# --- unknown years --------------------------------------------------------------------------


def test_an_unknown_year_rests_only_on_weekends_and_is_reported():
    assert not CalendarYear.objects.filter(year=2027).exists()
    assert workdays.is_working_day(D(2027, 1, 1))  # would be New Year's Day once published
    assert not workdays.is_working_day(D(2027, 1, 2))  # Saturday
    assert workdays.add_working_days(D(2027, 1, 1), 1) == D(2027, 1, 4)
    assert workdays.unknown_years([2025, 2026, 2027]) == [2027]


def test_administrators_are_warned_about_next_year_when_it_is_unknown():
    with time_machine.travel(D(2026, 6, 1)):
        assert workdays.unknown_years() == [2027]
        assert workdays.calendar_warning() == {"years": [2027]}
    with time_machine.travel(D(2025, 6, 1)):
        assert workdays.calendar_warning() is None


def test_marking_a_year_known_clears_the_warning():
    services.set_year_known(year=2027, known=True)
    assert workdays.unknown_years([2027]) == []
    assert AuditEvent.objects.filter(action="calendar.year_marked").exists()


# --- cache --------------------------------------------------------------------------------------


def test_a_calendar_edit_is_seen_at_once_in_this_process():
    assert workdays.is_working_day(D(2030, 5, 6))
    services.save_calendar_day(day=D(2030, 5, 6), kind="holiday", name="劳动节")
    assert not workdays.is_working_day(D(2030, 5, 6))


def test_another_process_edit_is_seen_after_the_generation_changes(monkeypatch):
    monkeypatch.setattr(workdays, "GENERATION_CHECK_SECONDS", 0.0)
    # A key of its own: the cache is shared with the other test processes, whose calendar
    # edits bump the real generation key at any moment.
    monkeypatch.setattr(workdays, "GENERATION_KEY", f"test-generation-{uuid.uuid4().hex}")
    assert workdays.is_working_day(D(2030, 5, 7))
    CalendarDay.objects.create(date=D(2030, 5, 7), kind="holiday", name="劳动节")  # elsewhere
    assert workdays.is_working_day(D(2030, 5, 7))  # still the cached year
    try:
        cache.incr(workdays.GENERATION_KEY)
    except ValueError:
        cache.set(workdays.GENERATION_KEY, 1)
    assert not workdays.is_working_day(D(2030, 5, 7))


def test_a_year_is_loaded_with_two_queries_however_many_days_are_asked(
    django_assert_num_queries,
):
    with django_assert_num_queries(2):
        assert workdays.working_days_between(D(2024, 12, 31), D(2025, 12, 31)) > 240
        assert workdays.is_working_day(D(2025, 1, 26))


# --- writers ------------------------------------------------------------------------------------


def test_a_make_up_working_day_must_fall_on_a_weekend():
    with pytest.raises(ValidationError):
        services.save_calendar_day(day=D(2030, 1, 2), kind="makeup_workday")


def test_a_date_can_be_entered_only_once():
    with pytest.raises(ValidationError):
        services.save_calendar_day(day=D(2025, 1, 28), kind="holiday")


def test_edits_and_deletes_are_audited():
    entry = services.save_calendar_day(day=D(2030, 10, 1), kind="holiday", name="国庆")
    entry = services.save_calendar_day(
        day=D(2030, 10, 1), kind="holiday", name="国庆节", original=entry
    )
    services.delete_calendar_day(entry=entry)
    actions = list(
        AuditEvent.objects.filter(object_id="2030-10-01").values_list("action", flat=True)
    )
    assert actions == ["calendar.day_added", "calendar.day_changed", "calendar.day_deleted"]
    assert workdays.is_working_day(D(2030, 10, 1))


def test_csv_import_adds_days_and_marks_its_years_complete():
    data = "\ufeffdate,kind,name\n2027-01-01,节假日,元旦\n2027-02-06,调休上班,春节\n".encode()
    result = services.import_calendar_csv(data=data)
    assert (result.created, result.updated, result.years) == (2, 0, [2027])
    assert not workdays.is_working_day(D(2027, 1, 1))
    assert workdays.is_working_day(D(2027, 2, 6))
    assert workdays.unknown_years([2027]) == []
    assert AuditEvent.objects.filter(action="calendar.imported").exists()


def test_csv_import_accepts_gb18030_from_excel():
    result = services.import_calendar_csv(
        data="2027/10/01,holiday,国庆节\n".encode("gb18030"), mark_complete=False
    )
    assert result.created == 1
    assert CalendarDay.objects.get(date=D(2027, 10, 1)).name == "国庆节"
    assert workdays.unknown_years([2027]) == [2027]


def test_csv_import_is_all_or_nothing_with_line_numbered_chinese_errors():
    data = (
        "date,kind,name\n"
        "2027-01-01,holiday,元旦\n"
        "2027-13-01,holiday,坏日期\n"
        "2027-01-05,makeup_workday,星期二\n"
        "2027-01-01,holiday,重复\n"
        "2027-03-01,vacation\n"
    )
    with translation.override("zh-hans"), pytest.raises(services.CalendarImportError) as exc:
        services.import_calendar_csv(data=data)
    errors = exc.value.errors
    assert [e.split("：")[0] for e in errors] == ["第 3 行", "第 4 行", "第 5 行", "第 6 行"]
    assert "周六或周日" in errors[1]
    assert "第 2 行" in errors[2]
    assert not CalendarDay.objects.filter(date__year=2027).exists()


def test_seed_restores_a_year_from_the_package():
    CalendarDay.objects.filter(date__year=2026).delete()
    CalendarYear.objects.filter(year=2026).delete()
    result = services.seed_calendar_from_package(years=[2026])
    assert result.years == [2026] and result.created > 20
    assert all(workdays.is_working_day(d) == chinese_calendar.is_workday(d) for d in days_of(2026))


def test_calendar_commands_seed_show_and_import(tmp_path, capsys):
    CalendarYear.objects.filter(year=2026).delete()
    call_command("calendar", "seed", "2026")
    assert "2026" in capsys.readouterr().out
    call_command("calendar", "show", "2025")
    out = capsys.readouterr().out
    assert "2025-01-26" in out and "makeup_workday" in out and "schedule known" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("2027-01-04,makeup_workday,周一\n", encoding="utf-8")
    with pytest.raises(CommandError, match="1"):
        call_command("calendar", "import", str(bad))
    good = tmp_path / "good.csv"
    good.write_text("2027-01-01,holiday,元旦\n", encoding="utf-8")
    call_command("calendar", "import", str(good))
    assert CalendarDay.objects.filter(date=D(2027, 1, 1)).exists()
