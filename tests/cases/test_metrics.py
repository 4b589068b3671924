"""Metrics from the timeline, against numbers worked out by hand for a small set of cases."""

from __future__ import annotations

import pytest
import time_machine

from fengqiao.cases import metrics, services
from fengqiao.cases.models import EvaluationChannel

from .factories import at, report

pytestmark = pytest.mark.django_db

FENGYUAN = "330681109290"
FENGQIAO = "330681109"
DIANKOU = "330681104"


def act(persona):
    return {"actor": persona.user, "membership": persona.membership}


def close(case, handler, owner, *, resolved=True):
    case = services.submit_feedback(
        case, **act(handler), method="mediated", resolved=resolved, summary="办结"
    )
    return services.verify_case(case, **act(owner), passed=True)


def rate(case, satisfaction):
    return services.evaluate_case(
        case, satisfaction=satisfaction, channel=EvaluationChannel.TRACKING
    )


@pytest.fixture
def november(
    dispute_category,
    security_category,
    village_mediator_fengyuan,
    town_operator_fengqiao,
    police_fengqiao,
    town_operator_other_town,
):
    mediator, town, police = village_mediator_fengyuan, town_operator_fengqiao, police_fengqiao
    travel = lambda text: time_machine.travel(at(text), tick=False)  # noqa: E731

    # C7, October: outside the period entirely.
    with travel("2026-10-12 09:00"):
        c7 = report(dispute_category, region_code=FENGYUAN)
        c7 = services.accept_case(c7, **act(mediator))
        c7 = services.sign_case(c7, **act(mediator))
        close(c7, mediator, mediator)

    # C1: settled in the village on time, rated 5.
    with travel("2026-11-02 09:00"):
        c1 = report(dispute_category, region_code=FENGYUAN)
    with travel("2026-11-02 10:00"):
        c1 = services.accept_case(c1, **act(mediator))
        c1 = services.sign_case(c1, **act(mediator))
    with travel("2026-11-03 10:00"):
        c1 = close(c1, mediator, mediator)
        rate(c1, 5)

    # C2: town case accepted late (due 3 Nov), sent to the village and returned, then to the
    # police, reported back late (due 11 Nov) and unresolved; rated 3.
    with travel("2026-11-02 09:00"):
        c2 = report(dispute_category, region_code=FENGQIAO)
    with travel("2026-11-04 10:00"):
        c2 = services.accept_case(c2, **act(town))
        c2 = services.assign_case(c2, **act(town), unit=mediator.unit)
        c2 = services.return_case(c2, **act(mediator), reason="需公安处置")
        c2 = services.assign_case(c2, **act(town), unit=police.unit)
        c2 = services.sign_case(c2, **act(police))
    with travel("2026-11-20 10:00"):
        c2 = close(c2, police, town, resolved=False)
        rate(c2, 3)

    # C3: skipped the town straight to the county.
    with travel("2026-11-05 10:00"):
        c3 = report(dispute_category, region_code=FENGYUAN)
        services.escalate_case(c3, **act(mediator), skip=True, reason="涉及多镇")

    # C4: escalated to the town, accepted on time there (due 6 Nov), settled by the town; rated 4.
    with travel("2026-11-05 10:00"):
        c4 = report(dispute_category, region_code=FENGYUAN)
        c4 = services.escalate_case(c4, **act(mediator), reason="调解未果")
    with travel("2026-11-06 10:00"):
        c4 = services.accept_case(c4, **act(town))
        c4 = services.sign_case(c4, **act(town))
    with travel("2026-11-09 10:00"):
        c4 = close(c4, town, town)
        rate(c4, 4)

    # C5: a security matter for the police, on time (not a dispute).
    with travel("2026-11-10 10:00"):
        c5 = report(security_category, region_code=FENGYUAN)
        c5 = services.accept_case(c5, **act(police))
        c5 = services.sign_case(c5, **act(police))
        close(c5, police, police)

    # C6: another town of the county (店口镇), settled there on time.
    other = town_operator_other_town
    with travel("2026-11-10 10:00"):
        c6 = report(dispute_category, region_code=DIANKOU)
        c6 = services.accept_case(c6, **act(other))
        c6 = services.sign_case(c6, **act(other))
        close(c6, other, other)
    return {"mediator": mediator, "town": town, "police": police, "other": other}


def test_town_metrics_match_the_hand_count(november, django_assert_num_queries):
    with django_assert_num_queries(2):
        m = metrics.case_metrics(FENGQIAO, at("2026-11-01 00:00"), at("2026-12-01 00:00"))
    # Accepts: C1 on time, C2 late, C4 on time, C5 on time.
    assert (m.accepted_on_time.numerator, m.accepted_on_time.denominator) == (3, 4)
    assert m.accepted_on_time.rate == 0.75
    # Closes: C1, C2 (late), C4, C5; resolved all but C2.
    assert (m.closed_on_time.numerator, m.closed_on_time.denominator) == (3, 4)
    assert (m.resolved.numerator, m.resolved.denominator) == (3, 4)
    # Ratings 5, 3, 4: two of three are 4 or more.
    assert (m.satisfied.numerator, m.satisfied.denominator) == (2, 3)
    # One return over two assignments (both in C2).
    assert (m.returned.numerator, m.returned.denominator) == (1, 2)
    # Escalations: C3 skipped, C4 one level.
    assert (m.skipped_level.numerator, m.skipped_level.denominator) == (1, 2)
    # Dispute closes C1 (village), C2 (town police), C4 (town).
    assert (m.disputes_at_village.numerator, m.disputes_at_village.denominator) == (1, 3)
    assert (m.disputes_at_or_below_town.numerator, m.disputes_at_or_below_town.denominator) == (
        3,
        3,
    )
    # +1 for each on-time close: the committee (C1), the town (C4), the police (C5).
    assert m.points_by_unit == {
        november["mediator"].unit.pk: 1,
        november["town"].unit.pk: 1,
        november["police"].unit.pk: 1,
    }
    assert m.points_total == 3


def test_the_county_adds_its_other_town(november):
    m = metrics.case_metrics("330681", at("2026-11-01 00:00"), at("2026-12-01 00:00"))
    assert (m.closed_on_time.numerator, m.closed_on_time.denominator) == (4, 5)
    assert (m.disputes_at_village.numerator, m.disputes_at_village.denominator) == (1, 4)
    assert m.points_total == 4


def test_the_period_is_half_open(november):
    m = metrics.case_metrics(FENGQIAO, at("2026-10-01 00:00"), at("2026-11-01 00:00"))
    assert (m.closed_on_time.numerator, m.closed_on_time.denominator) == (1, 1)
    assert m.disputes_at_village.rate == 1.0
    m = metrics.case_metrics(FENGQIAO, at("2026-11-02 10:00"), at("2026-11-03 10:00"))
    assert (m.accepted_on_time.numerator, m.accepted_on_time.denominator) == (1, 1)
    assert m.closed_on_time.denominator == 0  # C1 closed at exactly the end


def test_rates_are_none_without_a_denominator(db):
    m = metrics.case_metrics("330602", at("2026-11-01 00:00"), at("2026-12-01 00:00"))
    assert m.accepted_on_time == metrics.Ratio(0, 0)
    assert m.accepted_on_time.rate is None
    assert m.satisfied.rate is None and m.points_total == 0
