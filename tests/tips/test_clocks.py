"""Clocks: 30 natural days to verify, 5 working days to forward or take up (2026 holidays),
and the overdue sweep's cards and notices."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from fengqiao.accounts.models import Notification
from fengqiao.core.models import AuditEvent
from fengqiao.regions.models import Unit, UnitKind
from fengqiao.tips import jobs, services
from fengqiao.tips.models import Action, Card, Status, Tip
from personas import FENGQIAO_TOWN, ZHUJI

from .factories import file_tip

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: datetime.date, hour: int = 10):
    return time_machine.travel(
        datetime.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI), tick=False
    )


def police_station() -> Unit:
    return Unit.objects.get(kind=UnitKind.POLICE_STATION, region__code=FENGQIAO_TOWN)


def test_verification_is_due_30_natural_days_after_intake():
    with at(datetime.date(2026, 9, 30)):
        tip = file_tip().tip
    # National Day (1–7 October) counts: natural days.
    assert tip.verify_by == datetime.date(2026, 10, 30)


def test_forwarding_takes_5_working_days_across_national_day():
    # 30 Sep (Wed) → 1–7 Oct holiday → 8 Thu, 9 Fri, 10 Sat (make-up day), 12 Mon, 13 Tue.
    with at(datetime.date(2026, 9, 30)):
        tip = file_tip().tip
    assert tip.triage_by == datetime.date(2026, 10, 13)


def test_a_hand_over_over_spring_festival_counts_the_make_up_saturday(
    anti_gang_zhuji, police_fengqiao
):
    with at(datetime.date(2026, 2, 10)):
        tip = file_tip().tip
        services.accept_tip(tip, membership=anti_gang_zhuji.membership)
    # 13 Feb (Fri) → 14 Sat (make-up) → 15–23 holiday → 24, 25, 26, 27.
    with at(datetime.date(2026, 2, 13)):
        services.assign_tip(tip, membership=anti_gang_zhuji.membership, unit=police_station())
    transfer = tip.transfers.get()
    assert transfer.due_by == datetime.date(2026, 2, 27)
    with at(datetime.date(2026, 2, 27)):
        services.start_verifying(tip, membership=police_fengqiao.membership)
    event = tip.events.get(action=Action.START_VERIFYING)
    assert event.detail["on_time"] is True


def test_the_sweep_raises_yellow_then_red_and_notifies_the_supervising_office_once(
    anti_gang_zhuji,
):
    with at(datetime.date(2026, 9, 30)):
        tip = file_tip().tip
    office = Unit.objects.get(kind=UnitKind.ANTI_GANG_OFFICE, region__code=ZHUJI)
    # Due 13 Oct: not overdue that day.
    assert services.sweep_overdue(today=datetime.date(2026, 10, 13)).yellow == 0
    first = services.sweep_overdue(today=datetime.date(2026, 10, 14))
    again = services.sweep_overdue(today=datetime.date(2026, 10, 14))
    assert (first.yellow, again.yellow) == (1, 0)
    tip.refresh_from_db()
    assert tip.card == Card.YELLOW
    assert tip.events.filter(action=Action.CARD).get().detail["clock"] == "forward"
    notice = Notification.objects.get(unit=office)
    assert tip.reference in notice.title and notice.kind == "tip_card"
    # Red 5 working days after the deadline: 20 Oct is the fifth; 21 Oct turns red.
    assert services.sweep_overdue(today=datetime.date(2026, 10, 20)).red == 0
    assert services.sweep_overdue(today=datetime.date(2026, 10, 21)).red == 1
    assert services.sweep_overdue(today=datetime.date(2026, 10, 22)).red == 0
    tip.refresh_from_db()
    assert tip.card == Card.RED
    assert Notification.objects.filter(unit=office).count() == 2
    notices = tip.events.filter(action=Action.NOTICE)
    assert notices.count() == 2 and {e.unit for e in notices} == {office}
    assert AuditEvent.objects.filter(action="tips.card_raised").count() == 2


def test_the_verification_clock_runs_until_the_outcome_is_recorded(
    anti_gang_zhuji, police_fengqiao
):
    with at(datetime.date(2026, 3, 2)):
        tip = file_tip().tip
        services.accept_tip(tip, membership=anti_gang_zhuji.membership)
        services.assign_tip(tip, membership=anti_gang_zhuji.membership, unit=police_station())
        services.start_verifying(tip, membership=police_fengqiao.membership)
    assert tip.verify_by == datetime.date(2026, 4, 1)
    assert services.sweep_overdue(today=datetime.date(2026, 4, 1)).yellow == 0
    assert services.sweep_overdue(today=datetime.date(2026, 4, 2)).yellow == 1
    tip.refresh_from_db()
    assert tip.events.filter(action=Action.CARD).get().detail["clock"] == "verify"


def test_a_pending_hand_over_is_carded_on_its_own_clock(anti_gang_zhuji):
    with at(datetime.date(2026, 3, 2)):
        tip = file_tip().tip
        services.accept_tip(tip, membership=anti_gang_zhuji.membership)
        services.assign_tip(tip, membership=anti_gang_zhuji.membership, unit=police_station())
    # Take up by 9 Mar (5 working days after Mon 2 Mar); verification not due until 1 Apr.
    assert tip.transfers.get().due_by == datetime.date(2026, 3, 9)
    assert services.sweep_overdue(today=datetime.date(2026, 3, 10)).yellow == 1
    tip.refresh_from_db()
    assert tip.card == Card.YELLOW
    assert tip.events.get(action=Action.CARD).detail["clock"] == "take_up"


def test_finished_tips_are_left_alone(anti_gang_zhuji):
    with at(datetime.date(2026, 3, 2)):
        tip = file_tip().tip
        services.reject_tip(tip, membership=anti_gang_zhuji.membership, reason="不属于")
    assert services.sweep_overdue(today=datetime.date(2026, 12, 31)).checked == 0
    assert Tip.objects.get(pk=tip.pk).card == Card.NONE


def test_the_periodic_job_runs_the_sweep(anti_gang_zhuji):
    with at(datetime.date(2026, 3, 2)):
        tip = file_tip().tip
    with at(datetime.date(2026, 5, 20)):
        raised = jobs.sweep_overdue_tips.call_local()
    assert raised == 1
    assert Tip.objects.get(pk=tip.pk).card == Card.RED
    assert tip.status == Status.RECEIVED
