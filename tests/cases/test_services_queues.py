"""Workbench queues of the case engine: registered, counted per unit, all in one query."""

from __future__ import annotations

import pytest
import time_machine

from fengqiao.accounts import workbench
from fengqiao.cases import services
from fengqiao.cases.models import Case

from .factories import at, report

pytestmark = pytest.mark.django_db

FENGYUAN = "330681109290"


def act(persona):
    return {"actor": persona.user, "membership": persona.membership}


def counts(membership) -> dict[str, int]:
    return {item.key: item.count for item in workbench.queues_for(membership)}


def test_case_queues_are_registered_in_order():
    keys = [q.key for q in workbench.registered_queues()]
    expected = ["to_accept", "to_assign", "to_sign", "in_progress", "due_soon", "overdue"]
    assert [k for k in keys if k in expected] == expected
    assert {"to_verify", "to_visit"} <= set(keys)
    queue = {q.key: q for q in workbench.registered_queues()}["to_assign"]
    assert (queue.order, queue.url_kwargs, queue.capability) == (
        15,
        {"queue": "to-assign"},
        "cases.handle",
    )


def test_queue_counts_follow_the_cases(
    dispute_category, town_operator_fengqiao, village_mediator_fengyuan
):
    town, mediator = town_operator_fengqiao, village_mediator_fengyuan
    with time_machine.travel(at("2026-11-02 09:00"), tick=False):
        fresh = report(dispute_category, region_code="330681109")
        dispatched = report(dispute_category, region_code="330681109")
        dispatched = services.accept_case(dispatched, **act(town))
        services.assign_case(dispatched, **act(town), unit=mediator.unit)
        waiting = report(dispute_category, region_code="330681109")
        services.accept_case(waiting, **act(town))
        own = report(dispute_category, region_code=FENGYUAN)
    with time_machine.travel(at("2026-11-03 20:00"), tick=False):
        town_counts = counts(town.membership)
        mediator_counts = counts(mediator.membership)
    assert town_counts["to_accept"] == 1 and town_counts["to_assign"] == 1
    # The fresh report's acceptance limit (end of 3 November) is four hours away.
    assert town_counts["due_soon"] == 1 and town_counts["overdue"] == 0
    assert mediator_counts["to_sign"] == 1 and mediator_counts["to_accept"] == 1
    with time_machine.travel(at("2026-11-04 08:00"), tick=False):
        assert counts(town.membership)["overdue"] == 1
        assert counts(mediator.membership)["overdue"] == 1  # its own report, not accepted
    assert fresh.pk and own.pk
    # The committee sees the town case it handles though the village does not cover the town.
    assert Case.objects.visible_to(mediator.membership).filter(pk=dispatched.pk).exists()
    assert not Case.objects.visible_to(mediator.membership).filter(pk=fresh.pk).exists()


def test_all_queues_are_counted_in_one_query(
    dispute_category, town_operator_fengqiao, django_assert_num_queries
):
    membership = town_operator_fengqiao.membership
    with time_machine.travel(at("2026-11-02 09:00"), tick=False):
        report(dispute_category, region_code="330681109")
        accepted = services.accept_case(
            report(dispute_category, region_code="330681109"), **act(town_operator_fengqiao)
        )
    keys = {*workbench.STANDARD_QUEUES, "to_assign"}
    case_queues = [q for q in workbench.registered_queues() if q.key in keys]
    assert len(case_queues) == 8
    with time_machine.travel(at("2026-11-03 20:00"), tick=False):
        workbench.queues_for(membership)  # loads the membership's unit and region once
        # Each queue gives its rows; the workbench counts all of them in one statement.
        with django_assert_num_queries(1):
            items = {item.key: item.count for item in workbench.queues_for(membership)}
        alone = {q.key: q.count(membership).count() for q in case_queues}
    assert {key: items[key] for key in alone} == alone
    assert alone["to_accept"] == 1 and alone["to_assign"] == 1
    assert accepted.status == "accepted"


def test_queues_that_match_nothing_or_are_sliced_count_on_their_own(town_operator_fengqiao):
    # .none() (a membership without scope) cannot be compiled: it counts 0 without a query.
    assert workbench.count_together({"none": Case.objects.none()}) == {"none": 0}
    report_count = Case.objects.count()
    assert workbench.count_together(
        {"all": Case.objects.all(), "first": Case.objects.order_by("pk")[:1]}
    ) == {"all": report_count, "first": min(report_count, 1)}


def test_people_without_casework_see_no_case_queues(system_admin):
    keys = {item.key for item in workbench.queues_for(system_admin.membership)}
    assert "to_accept" not in keys
