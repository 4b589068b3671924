"""Routing: the lowest capable level (小事不出村、大事不出镇), the fallbacks, and escalation targets."""

from __future__ import annotations

import pytest

from fengqiao.cases import routing
from fengqiao.cases.errors import WorkflowError
from fengqiao.regions.models import Level, Region, Unit, UnitKind

from .factories import make_category

pytestmark = pytest.mark.django_db

FENGYUAN = "330681109290"
FENGYUAN_GRID = "330681109290001"
FENGQIAO = "330681109"
ZHUJI = "330681"


def region(code: str) -> Region:
    return Region.objects.get(code=code)


def unit(kind: str, code: str) -> Unit:
    return Unit.objects.get(kind=kind, region__code=code)


def test_village_dispute_lands_at_the_village_mediation_committee(dispute_category):
    landed = routing.route(region=region(FENGYUAN), category=dispute_category, severity=1)
    assert landed == unit(UnitKind.MEDIATION_COMMITTEE, FENGYUAN)


def test_a_case_in_a_grid_lands_at_its_village(dispute_category):
    landed = routing.route(region=region(FENGYUAN_GRID), category=dispute_category, severity=1)
    assert landed == unit(UnitKind.MEDIATION_COMMITTEE, FENGYUAN)


def test_grave_dispute_lands_at_the_town(dispute_category):
    landed = routing.route(region=region(FENGYUAN), category=dispute_category, severity=3)
    assert landed == unit(UnitKind.COMMAND_ROOM, FENGQIAO)
    # Just below the threshold it stays in the village.
    below = routing.route(region=region(FENGYUAN), category=dispute_category, severity=2)
    assert below.level == Level.VILLAGE


def test_town_rule_finds_the_handling_unit_kind(security_category):
    landed = routing.route(region=region(FENGYUAN_GRID), category=security_category, severity=1)
    assert landed == unit(UnitKind.POLICE_STATION, FENGQIAO)


def test_town_rule_without_that_unit_falls_back_to_the_town_command_room(db):
    category = make_category(kind="hazard", level=Level.TOWN, unit_kind=UnitKind.HRSS_BUREAU)
    landed = routing.route(region=region(FENGYUAN), category=category, severity=1)
    assert landed == unit(UnitKind.COMMAND_ROOM, FENGQIAO)


def test_county_rule_lands_at_the_county_unit_of_that_kind(db):
    category = make_category(
        kind="petition", level=Level.COUNTY, unit_kind=UnitKind.PETITION_BUREAU
    )
    landed = routing.route(region=region(FENGYUAN), category=category, severity=1)
    assert landed == unit(UnitKind.PETITION_BUREAU, ZHUJI)


def test_case_resolved_only_to_a_county_lands_at_the_county_centre(dispute_category):
    landed = routing.route(region=region(ZHUJI), category=dispute_category, severity=1)
    assert landed == unit(UnitKind.GOVERNANCE_CENTRE, ZHUJI)


def test_case_resolved_only_to_a_town_lands_at_the_town(dispute_category):
    landed = routing.route(region=region(FENGQIAO), category=dispute_category, severity=1)
    assert landed == unit(UnitKind.COMMAND_ROOM, FENGQIAO)


def test_inactive_village_committee_falls_back_to_the_town(dispute_category):
    Unit.objects.filter(kind=UnitKind.MEDIATION_COMMITTEE, region__code=FENGYUAN).update(
        is_active=False
    )
    landed = routing.route(region=region(FENGYUAN), category=dispute_category, severity=1)
    assert landed == unit(UnitKind.COMMAND_ROOM, FENGQIAO)


def test_no_town_units_at_all_goes_to_the_county_centre(dispute_category):
    Unit.objects.filter(region__code=FENGQIAO).update(is_active=False)
    Unit.objects.filter(kind=UnitKind.MEDIATION_COMMITTEE, region__code=FENGYUAN).update(
        is_active=False
    )
    landed = routing.route(region=region(FENGYUAN), category=dispute_category, severity=1)
    assert landed == unit(UnitKind.GOVERNANCE_CENTRE, ZHUJI)


def test_category_without_a_rule_goes_to_the_town_for_triage(db):
    category = make_category(level=None)
    landed = routing.route(region=region(FENGYUAN_GRID), category=category, severity=1)
    assert landed == unit(UnitKind.COMMAND_ROOM, FENGQIAO)


def test_no_active_unit_anywhere_is_refused(dispute_category):
    Unit.objects.filter(region__code__in=["330600", ZHUJI, FENGQIAO, FENGYUAN]).update(
        is_active=False
    )
    with pytest.raises(WorkflowError) as caught:
        routing.route(region=region(FENGYUAN), category=dispute_category, severity=1)
    assert caught.value.code == "no_unit_found"


class _Case:
    """Just what escalation_target reads."""

    def __init__(self, level: str, region_code: str) -> None:
        self.level, self.region_code = level, region_code


def test_escalation_goes_one_level_up_to_the_triage_unit():
    assert routing.escalation_target(_Case(Level.VILLAGE, FENGYUAN_GRID)) == unit(
        UnitKind.COMMAND_ROOM, FENGQIAO
    )
    assert routing.escalation_target(_Case(Level.TOWN, FENGYUAN)) == unit(
        UnitKind.GOVERNANCE_CENTRE, ZHUJI
    )
    assert routing.escalation_target(_Case(Level.COUNTY, FENGYUAN)) == unit(
        UnitKind.GOVERNANCE_CENTRE, "330600"
    )


def test_skip_escalation_goes_two_levels_up_or_to_the_named_level():
    village_case = _Case(Level.VILLAGE, FENGYUAN)
    assert routing.escalation_target(village_case, skip=True) == unit(
        UnitKind.GOVERNANCE_CENTRE, ZHUJI
    )
    assert routing.escalation_target(village_case, skip=True, target_level=Level.CITY) == unit(
        UnitKind.GOVERNANCE_CENTRE, "330600"
    )


def test_escalation_refused_at_the_top_or_downwards():
    with pytest.raises(WorkflowError) as caught:
        routing.escalation_target(_Case(Level.CITY, FENGYUAN))
    assert caught.value.code in {"no_higher_level", "no_unit_found"}
    with pytest.raises(WorkflowError) as caught:
        routing.escalation_target(_Case(Level.TOWN, FENGYUAN), target_level=Level.VILLAGE)
    assert caught.value.code == "invalid_target_level"


def test_level_of_code_reads_the_code():
    assert routing.level_of_code(FENGYUAN_GRID) == Level.GRID
    assert routing.level_of_code(FENGYUAN) == Level.VILLAGE
    assert routing.level_of_code(FENGQIAO) == Level.TOWN
    assert routing.level_of_code(ZHUJI) == Level.COUNTY
    assert routing.level_of_code("330600") == Level.CITY


def test_reportable_category_is_read_once_and_forgotten_when_a_category_changes(
    dispute_category, django_assert_num_queries
):
    routing.invalidate()
    assert routing.reportable_category(dispute_category.code) == dispute_category
    with django_assert_num_queries(0):
        assert routing.reportable_category(dispute_category.code) == dispute_category
    dispute_category.is_reportable = False
    dispute_category.save(update_fields=["is_reportable"])
    assert routing.reportable_category(dispute_category.code) is None
    dispute_category.is_reportable = True
    dispute_category.is_active = False
    dispute_category.save(update_fields=["is_reportable", "is_active"])
    assert routing.reportable_category(dispute_category.code) is None
    assert routing.reportable_category("no.such.category") is None


def test_region_for_code_is_read_once_and_forgotten_when_a_region_changes(
    django_assert_num_queries,
):
    routing.invalidate()
    assert routing.region_for_code(FENGYUAN) == region(FENGYUAN)
    with django_assert_num_queries(0):
        assert routing.region_for_code(FENGYUAN).code == FENGYUAN
    renamed = region(FENGYUAN)
    renamed.place_name = "枫源新村"
    renamed.save(update_fields=["place_name"])
    assert routing.region_for_code(FENGYUAN).place_name == "枫源新村"


def test_region_for_code_keeps_no_miss_so_a_new_region_is_found_at_once():
    routing.invalidate()
    code = FENGQIAO + "999"
    assert routing.region_for_code(code) is None
    Region.objects.create(
        code=code, name="新设村委会", level=Level.VILLAGE, parent=region(FENGQIAO)
    )
    assert routing.region_for_code(code).name == "新设村委会"


def test_a_regions_audit_event_forgets_cached_regions(django_assert_num_queries):
    from fengqiao.core import audit

    routing.invalidate()
    routing.region_for_code(FENGYUAN)
    # Division imports write regions in bulk, without per-row signals, and record an event.
    Region.objects.filter(code=FENGYUAN).update(place_name="枫源新村")
    audit.record("regions.imported", detail={"rows": 1})
    with django_assert_num_queries(1):
        assert routing.region_for_code(FENGYUAN).place_name == "枫源新村"
