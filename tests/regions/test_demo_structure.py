"""The demo structure: grids and units for every region, deterministic and built once."""

from __future__ import annotations

import io

import pytest
from django.db.models import Count, F

from fengqiao.regions import services
from fengqiao.regions.models import Region, Unit, UnitKind

pytestmark = pytest.mark.django_db


def test_every_village_has_three_to_eight_grids_numbered_from_one():
    per_village = dict(
        Region.objects.at_level("grid")
        .values("parent__code")
        .annotate(n=Count("id"))
        .values_list("parent__code", "n")
    )
    villages = list(Region.objects.at_level("village").values_list("code", flat=True))
    assert len(per_village) == len(villages) == 2145
    assert set(per_village.values()) == {3, 4, 5, 6, 7, 8}
    for code in villages[:50]:
        numbers = sorted(
            int(c[-3:])
            for c in Region.objects.below(Region.objects.get(code=code)).values_list(
                "code", flat=True
            )
        )
        assert numbers == list(range(1, per_village[code] + 1))
        assert per_village[code] == services.grid_count(code)


def test_grid_count_depends_only_on_code_and_seed():
    assert services.grid_count("330681109290") == services.grid_count("330681109290")
    counts = {services.grid_count("330681109290", seed=seed) for seed in range(40)}
    assert counts == {3, 4, 5, 6, 7, 8}


def test_grid_names_and_codes():
    grid = Region.objects.get(code="330681109290001")
    assert (grid.name, grid.place_name, grid.level) == ("枫源村第1网格", "第1网格", "grid")
    assert grid.full_name == "诸暨市枫桥镇枫源村第1网格"
    assert grid.parent.code == "330681109290"
    assert grid.scope_prefix == "330681109290001"
    station = Unit.objects.get(kind=UnitKind.GRID_STATION, region__code="330681109290001")
    assert (station.name, station.region_code, station.level) == (
        "枫源村第1网格",
        grid.code,
        "grid",
    )


@pytest.mark.parametrize(
    ("code", "kind", "name"),
    [
        ("330681109290", UnitKind.MEDIATION_COMMITTEE, "枫源村人民调解委员会"),
        ("330681109", UnitKind.COMMAND_ROOM, "枫桥镇综合信息指挥室"),
        ("330681109", UnitKind.POLICE_STATION, "诸暨市公安局枫桥派出所"),
        ("330681109", UnitKind.JUSTICE_OFFICE, "诸暨市司法局枫桥司法所"),
        ("330681109", UnitKind.ENFORCEMENT_TEAM, "枫桥镇综合行政执法队"),
        ("330681109", UnitKind.MARKET_SUPERVISION, "诸暨市市场监督管理局枫桥市场监管所"),
        ("330681104", UnitKind.COMMAND_ROOM, "店口镇综合信息指挥室"),
        ("330602001", UnitKind.POLICE_STATION, "绍兴市公安局越城区分局塔山派出所"),
        ("330681", UnitKind.GOVERNANCE_CENTRE, "诸暨市社会治理中心"),
        ("330681", UnitKind.PUBLIC_SECURITY_BUREAU, "诸暨市公安局"),
        ("330681", UnitKind.COURT, "诸暨市人民法院诉讼服务中心"),
        ("330681", UnitKind.ANTI_GANG_OFFICE, "诸暨市扫黑除恶斗争领导小组办公室"),
        ("330681", UnitKind.DISCIPLINE_COMMISSION, "诸暨市纪委监委"),
        ("330681", UnitKind.HRSS_BUREAU, "诸暨市人力资源和社会保障局"),
        ("330681", UnitKind.HOUSING_BUREAU, "诸暨市住房和城乡建设局"),
        ("330681", UnitKind.PETITION_BUREAU, "诸暨市信访局"),
        ("330602", UnitKind.PUBLIC_SECURITY_BUREAU, "绍兴市公安局越城区分局"),
        ("330602", UnitKind.GOVERNANCE_CENTRE, "绍兴市越城区社会治理中心"),
        ("330600", UnitKind.GOVERNANCE_CENTRE, "绍兴市社会治理中心"),
        (
            "330600",
            UnitKind.POLITICAL_LEGAL_COMMITTEE,
            "中共绍兴市委政法委员会（平安绍兴建设领导小组办公室）",
        ),
        ("330600", UnitKind.ANTI_GANG_OFFICE, "绍兴市扫黑除恶斗争领导小组办公室"),
        ("330600", UnitKind.DISCIPLINE_COMMISSION, "绍兴市纪委监委"),
        ("330600", UnitKind.ADMINISTRATION, "绍兴市基层治理平台管理办公室"),
    ],
)
def test_units_follow_real_naming_conventions(code, kind, name):
    unit = Unit.objects.get(kind=kind, region__code=code)
    assert unit.name == name
    assert unit.region_code == code
    assert unit.level == unit.region.level


def test_each_region_has_at_most_one_unit_of_each_kind():
    duplicates = Unit.objects.values("region_id", "kind").annotate(n=Count("id")).filter(n__gt=1)
    assert not duplicates.exists()


def test_unit_counts_per_level():
    towns, villages = 103, 2145
    grids = Region.objects.at_level("grid").count()
    assert Unit.objects.filter(level="city").count() == 5
    assert Unit.objects.filter(level="county").count() == 6 * 9
    assert Unit.objects.filter(level="town").count() == towns * 5
    assert Unit.objects.filter(level="village").count() == villages
    assert Unit.objects.filter(level="grid").count() == grids
    # The denormalised columns agree with the region (bulk_create skipped save()).
    assert not Unit.objects.exclude(region_code=F("region__code")).exists()
    assert not Unit.objects.exclude(level=F("region__level")).exists()


def test_second_run_creates_nothing():
    regions, units = Region.objects.count(), Unit.objects.count()
    report = services.build_demo_structure()
    assert (report.grids, report.units_total) == (0, 0)
    assert (Region.objects.count(), Unit.objects.count()) == (regions, units)


def test_structure_is_built_for_newly_imported_regions_only():
    data = io.BytesIO(
        "code,code12,name,level,parent_code\n"
        "330681990,330681990000,试验镇,town,330681\n"
        "330681990001,330681990001,甲村委会,village,330681990\n".encode()
    )
    services.import_regions(data, progress=False)
    report = services.build_demo_structure()
    expected_grids = services.grid_count("330681990001")
    assert report.grids == expected_grids
    assert report.units_total == 5 + 1 + expected_grids
    assert Unit.objects.get(kind=UnitKind.POLICE_STATION, region__code="330681990").name == (
        "诸暨市公安局试验派出所"
    )
