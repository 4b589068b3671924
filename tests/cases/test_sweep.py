"""The clock sweep: cards on late cases, points, notices, follow-up visits; idempotent, and each
change claimed exactly once under two concurrent workers (PostgreSQL)."""

from __future__ import annotations

import threading
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, connections

from fengqiao.accounts.models import Notification
from fengqiao.cases import jobs, services
from fengqiao.cases.models import Action, Case, PointEntry, StatusChange, Supervision
from fengqiao.regions.models import Unit, UnitKind

from .factories import at, make_category, make_policy, report

FENGYUAN = "330681109290"
FENGQIAO = "330681109"


def act(persona):
    return {"actor": persona.user, "membership": persona.membership}


def cards(case) -> list[tuple[str, str]]:
    return [
        (row.detail["stage"], row.detail["card"])
        for row in StatusChange.objects.filter(case=case, action=Action.CARD).order_by("id")
    ]


@pytest.fixture
def cases(dispute_category, village_mediator_fengyuan):
    """On Wednesday 30 September 2026 10:00: one left unaccepted, one being handled, one
    suspended, one handled and closed."""
    persona = village_mediator_fengyuan
    with time_machine.travel(at("2026-09-30 10:00"), tick=False):
        waiting = report(dispute_category, region_code=FENGYUAN)
        running = report(dispute_category, region_code=FENGYUAN)
        running = services.accept_case(running, **act(persona))
        running = services.sign_case(running, **act(persona))
        paused = report(dispute_category, region_code=FENGYUAN)
        paused = services.accept_case(paused, **act(persona))
        paused = services.sign_case(paused, **act(persona))
        paused = services.suspend_case(paused, **act(persona), reason="等待鉴定")
        done = report(dispute_category, region_code=FENGYUAN)
        for step in (services.accept_case, services.sign_case):
            done = step(done, **act(persona))
        done = services.submit_feedback(
            done, **act(persona), method="mediated", resolved=True, summary="已调解"
        )
        done = services.verify_case(done, **act(persona), passed=True)
    return {"waiting": waiting, "running": running, "paused": paused, "done": done}


@pytest.mark.django_db
def test_nothing_is_late_before_the_deadlines(cases):
    assert jobs.run_sweep(now=at("2026-10-08 23:00")).cards == 0


@pytest.mark.django_db
def test_acceptance_yellow_then_red_once_each(cases, village_mediator_fengyuan):
    waiting = cases["waiting"]
    first = jobs.run_sweep(now=at("2026-10-09 08:00"))
    assert (first.accept_yellow, first.accept_red, first.handle_yellow) == (1, 0, 0)
    again = jobs.run_sweep(now=at("2026-10-09 09:00"))
    assert again.cards == 0
    later = jobs.run_sweep(now=at("2026-10-10 00:30"))
    assert (later.accept_yellow, later.accept_red) == (0, 1)
    assert jobs.run_sweep(now=at("2026-10-10 01:00")).cards == 0
    waiting.refresh_from_db()
    assert waiting.supervision == Supervision.RED
    assert cards(waiting) == [("accept", "yellow"), ("accept", "red")]
    committee = village_mediator_fengyuan.unit
    assert sorted(
        PointEntry.objects.filter(case=waiting).values_list("unit_id", "reason", "points")
    ) == sorted([(committee.pk, "yellow", -5), (committee.pk, "red", -10)])


@pytest.mark.django_db
def test_handling_cards_go_to_the_handler_and_tell_the_level_above(
    cases, village_mediator_fengyuan
):
    running = cases["running"]
    report_ = jobs.run_sweep(now=at("2026-10-14 08:00"))
    assert report_.handle_yellow == 1 and report_.handle_red == 0
    running.refresh_from_db()
    assert running.supervision == Supervision.YELLOW
    committee = village_mediator_fengyuan.unit
    town_room = Unit.objects.get(kind=UnitKind.COMMAND_ROOM, region__code=FENGQIAO)
    told = set(
        Notification.objects.filter(kind="case.card", title__contains=running.code).values_list(
            "unit_id", flat=True
        )
    )
    assert told == {committee.pk, town_room.pk}
    row = StatusChange.objects.get(case=running, action=Action.CARD)
    assert (row.to_unit_id, row.level, row.is_public) == (committee.pk, "village", False)


@pytest.mark.django_db
def test_suspended_and_closed_cases_get_no_card(cases):
    jobs.run_sweep(now=at("2026-12-31 12:00"))
    for key in ("paused", "done"):
        assert cards(cases[key]) == []
        assert not PointEntry.objects.filter(case=cases[key]).exclude(reason="on_time").exists()


@pytest.mark.django_db
def test_a_second_run_changes_nothing(cases):
    now = at("2026-10-21 08:00")
    first = jobs.run_sweep(now=now)
    assert (first.accept_yellow, first.accept_red, first.handle_yellow, first.handle_red) == (
        1,
        1,
        1,
        1,
    )
    snapshot = (
        StatusChange.objects.count(),
        PointEntry.objects.count(),
        Notification.objects.count(),
    )
    second = jobs.run_sweep(now=now)
    assert (second.cards, second.visits_due) == (0, 0)
    assert snapshot == (
        StatusChange.objects.count(),
        PointEntry.objects.count(),
        Notification.objects.count(),
    )


@pytest.mark.django_db
def test_visits_due_are_announced_once_to_the_owner(cases, village_mediator_fengyuan):
    done = cases["done"]
    assert jobs.run_sweep(now=at("2026-09-30 23:00")).visits_due == 0
    assert jobs.run_sweep(now=at("2026-10-01 00:01")).visits_due == 1
    assert jobs.run_sweep(now=at("2026-10-01 00:06")).visits_due == 0
    # A visit that fell due longer ago than the look-back window is not announced any more.
    Case.objects.filter(pk=done.pk).update(visit_notified_at=None)
    assert jobs.run_sweep(now=at("2026-10-01 00:00") + jobs.VISIT_LOOKBACK).visits_due == 1
    Case.objects.filter(pk=done.pk).update(visit_notified_at=None)
    assert jobs.run_sweep(now=at("2026-10-01 00:01") + jobs.VISIT_LOOKBACK).visits_due == 0
    Case.objects.filter(pk=done.pk).update(visit_notified_at=at("2026-10-01 00:01"))
    done.refresh_from_db()
    assert done.visit_notified_at == at("2026-10-01 00:01")
    assert (
        Notification.objects.filter(
            unit=village_mediator_fengyuan.unit, kind="case.visit_due"
        ).count()
        == 1
    )
    assert done in Case.objects.to_visit(village_mediator_fengyuan.unit, now=at("2026-10-02 00:00"))


@pytest.mark.django_db
def test_human_red_card_is_not_downgraded_or_scored_twice(cases, town_operator_fengqiao):
    running = services.supervise_case(
        cases["running"], **act(town_operator_fengqiao), level=Supervision.RED, reason="挂牌督办"
    )
    report_ = jobs.run_sweep(now=at("2026-10-21 08:00"))
    assert report_.handle_yellow == 0 and report_.handle_red == 0
    running.refresh_from_db()
    assert running.supervision == Supervision.RED


@pytest.mark.django_db
def test_policy_points_are_used(dispute_category, village_mediator_fengyuan):
    policy = make_policy(points_yellow=-3)
    category = make_category(policy=policy)
    with time_machine.travel(at("2026-09-30 10:00"), tick=False):
        case = report(category, region_code=FENGYUAN)
    jobs.run_sweep(now=at("2026-10-09 08:00"))
    assert PointEntry.objects.get(case=case).points == -3


@pytest.mark.django_db
def test_sweep_command_prints_the_counts(cases):
    out = StringIO()
    with time_machine.travel(at("2026-10-09 08:00"), tick=False):
        call_command("cases", "sweep", stdout=out)
    text = out.getvalue()
    assert "acceptance: 1 yellow, 0 red" in text
    # The visit fell due on 1 October, more than the look-back window before the run.
    assert "follow-up visits due: 0" in text


def test_periodic_task_runs_every_five_minutes():
    from datetime import datetime

    from huey.contrib.djhuey import HUEY

    assert jobs.sweep_clocks.task_class in HUEY._registry._periodic_tasks
    task = jobs.sweep_clocks.task_class()
    assert task.validate_datetime(datetime(2026, 10, 9, 8, 5))
    assert not task.validate_datetime(datetime(2026, 10, 9, 8, 7))


# --- two workers at once ------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_claim_each_card_once(django_db_setup):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, there is no race to test")
    category = make_category()
    with time_machine.travel(at("2026-09-30 10:00"), tick=False):
        late = [report(category, region_code=FENGYUAN) for _ in range(40)]
    now = at("2026-10-10 08:00")  # past the acceptance red limit: yellow and red for each
    barrier = threading.Barrier(2)
    results: list[jobs.SweepReport] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(jobs.run_sweep(now=now, batch_size=7))
        except BaseException as error:  # surfaced in the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(r.accept_yellow for r in results) == 40
    assert sum(r.accept_red for r in results) == 40
    ids = [case.pk for case in late]
    assert StatusChange.objects.filter(case_id__in=ids, action=Action.CARD).count() == 80
    assert PointEntry.objects.filter(case_id__in=ids).count() == 80
    assert Notification.objects.filter(kind="case.card").count() == 80 * 2
    assert set(Case.objects.filter(pk__in=ids).values_list("supervision", flat=True)) == {
        Supervision.RED
    }
