"""Clocks on the real 2026 calendar: 国庆 (1–7 October, make-up Saturday 10 October), 春节
(15–23 February, make-up Saturday 14 February), natural days, urgency, the cap, suspension and
extensions."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import time_machine

from fengqiao.cases import clocks, services
from fengqiao.cases.models import DayBasis, Urgency
from fengqiao.core import workdays

from .factories import at, make_category, make_policy, report

pytestmark = pytest.mark.django_db


def end_of(day: str):
    return clocks.end_of_day(at(f"{day} 00:00").date())


def test_calendar_facts_this_file_relies_on():
    assert not any(workdays.is_working_day(at(f"2026-10-0{d} 12:00").date()) for d in range(1, 8))
    assert workdays.is_working_day(at("2026-10-10 12:00").date())  # make-up Saturday
    assert workdays.is_working_day(at("2026-02-14 12:00").date())  # make-up Saturday
    assert not workdays.is_working_day(at("2026-02-23 12:00").date())


def test_deadline_is_the_end_of_the_working_day_in_shanghai():
    deadline = end_of("2026-10-08")
    local = deadline.astimezone(clocks.timezone.get_default_timezone())
    assert (local.date().isoformat(), local.time()) == ("2026-10-08", time.max)


def test_acceptance_across_national_day(policy):
    deadlines = clocks.accept_deadlines(policy, at("2026-09-30 10:00"))
    assert deadlines.due == end_of("2026-10-08")
    assert deadlines.red == end_of("2026-10-09")


def test_handling_counts_the_make_up_saturday(policy):
    deadlines = clocks.handle_deadlines(policy, at("2026-09-30 10:00"), Urgency.NORMAL)
    # 8, 9, 10 (Saturday, make-up), 12, 13 October; red: 14, 15, 16, 19, 20.
    assert deadlines.due == end_of("2026-10-13")
    assert deadlines.red == end_of("2026-10-20")


def test_acceptance_across_spring_festival_uses_the_make_up_saturday(policy):
    deadlines = clocks.accept_deadlines(policy, at("2026-02-13 16:00"))
    assert deadlines.due == end_of("2026-02-14")
    assert deadlines.red == end_of("2026-02-24")
    handling = clocks.handle_deadlines(policy, at("2026-02-13 16:00"), Urgency.NORMAL)
    assert handling.due == end_of("2026-02-27")


def test_a_report_on_a_holiday_counts_from_the_next_working_day(policy):
    deadlines = clocks.accept_deadlines(policy, at("2026-10-03 09:00"))
    assert deadlines.due == end_of("2026-10-08")


def test_natural_days_are_24_hours_each(db):
    policy = make_policy(basis=DayBasis.NATURAL, accept_days=1, accept_red_days=2)
    start = at("2026-09-30 10:00")
    deadlines = clocks.accept_deadlines(policy, start)
    assert (deadlines.due, deadlines.red) == (start + timedelta(days=1), start + timedelta(days=2))
    handling = clocks.handle_deadlines(policy, start, Urgency.NORMAL)
    assert handling.due == start + timedelta(days=5)


def test_urgent_cases_get_natural_days(policy):
    start = at("2026-09-30 10:00")
    deadlines = clocks.handle_deadlines(policy, start, Urgency.URGENT)
    assert deadlines.due == start + timedelta(days=1)
    assert deadlines.red == start + timedelta(days=2)


def test_ordinary_handling_is_capped_in_natural_days(db):
    policy = make_policy(handle_days=25, handle_red_days=40, max_handle_days=30)
    start = at("2026-09-30 10:00")
    deadlines = clocks.handle_deadlines(policy, start, Urgency.NORMAL)
    assert deadlines.due == start + timedelta(days=30)
    assert deadlines.red == start + timedelta(days=30)


def test_visit_falls_due_at_the_start_of_the_next_day(policy):
    due = clocks.visit_due(policy, at("2026-09-30 22:00"))
    assert due == at("2026-10-01 00:00")


# --- clocks through the services ---------------------------------------------------------------


@pytest.fixture
def running_case(dispute_category, village_mediator_fengyuan):
    """Reported and accepted on 30 September 10:00, signed by the village committee itself."""
    persona = village_mediator_fengyuan
    with time_machine.travel(at("2026-09-30 10:00"), tick=False):
        case = report(dispute_category, persona=persona, region_code="330681109290")
        case = services.accept_case(case, actor=persona.user, membership=persona.membership)
        case = services.sign_case(case, actor=persona.user, membership=persona.membership)
    return case


def test_intake_sets_the_acceptance_clock_and_acceptance_the_handling_clock(running_case):
    assert running_case.accept_due_at == end_of("2026-10-08")
    assert running_case.accept_red_at == end_of("2026-10-09")
    assert running_case.handle_due_at == end_of("2026-10-13")
    assert running_case.handle_red_at == end_of("2026-10-20")


def test_acceptance_on_time_and_late(dispute_category, village_mediator_fengyuan):
    persona = village_mediator_fengyuan
    with time_machine.travel(at("2026-09-30 10:00"), tick=False):
        early = report(dispute_category, persona=persona, region_code="330681109290")
        late = report(dispute_category, persona=persona, region_code="330681109290")
    with time_machine.travel(at("2026-10-08 23:59"), tick=False):
        services.accept_case(early, actor=persona.user, membership=persona.membership)
    with time_machine.travel(at("2026-10-09 00:00:01"), tick=False):
        services.accept_case(late, actor=persona.user, membership=persona.membership)
    assert early.changes.get(action="accept").on_time is True
    assert late.changes.get(action="accept").on_time is False


def test_suspension_pauses_the_handling_clock(running_case, village_mediator_fengyuan):
    persona = village_mediator_fengyuan
    with time_machine.travel(at("2026-10-08 09:00"), tick=False):
        case = services.suspend_case(
            running_case, actor=persona.user, membership=persona.membership, reason="等待鉴定"
        )
    assert case.paused_at == at("2026-10-08 09:00")
    with time_machine.travel(at("2026-10-09 15:00"), tick=False):
        case = services.resume_case(case, actor=persona.user, membership=persona.membership)
    paused = timedelta(hours=30)
    assert case.handle_due_at == end_of("2026-10-13") + paused
    assert case.handle_red_at == end_of("2026-10-20") + paused
    assert case.paused_seconds == paused.total_seconds()
    assert case.paused_at is None and case.status == "in_progress"


def test_approved_extension_moves_both_limits_in_working_days(
    running_case, village_mediator_fengyuan
):
    persona = village_mediator_fengyuan
    case = services.request_extension(
        running_case, actor=persona.user, membership=persona.membership, days=3, reason="当事人外出"
    )
    case = services.decide_extension(
        case, actor=persona.user, membership=persona.membership, approve=True
    )
    assert case.handle_due_at == end_of("2026-10-16")
    assert case.handle_red_at == end_of("2026-10-23")
    assert case.extension_days_requested is None


def test_urgent_intake_gets_one_natural_day_from_acceptance(
    dispute_category, village_mediator_fengyuan
):
    persona = village_mediator_fengyuan
    with time_machine.travel(at("2026-09-30 10:00"), tick=False):
        case = report(
            dispute_category, persona=persona, region_code="330681109290", urgency=Urgency.URGENT
        )
        case = services.accept_case(case, actor=persona.user, membership=persona.membership)
    assert case.handle_due_at == at("2026-10-01 10:00")


def test_case_without_a_rule_uses_the_default_policy(db, town_operator_fengqiao):
    category = make_category(level=None)
    with time_machine.travel(at("2026-09-30 10:00"), tick=False):
        case = report(category, persona=town_operator_fengqiao, region_code="330681109")
    assert case.clock_policy.code == "default"
    assert case.accept_due_at == end_of("2026-10-08")
