"""Place names, short names and unit names follow the conventions people actually use."""

from __future__ import annotations

import pytest

from fengqiao.regions import naming
from fengqiao.regions.models import UnitKind, ancestor_codes


@pytest.mark.parametrize(
    ("official", "place"),
    [
        ("枫源村委会", "枫源村"),
        ("店口社区居委会", "店口社区"),
        ("花园社区", "花园社区"),
        ("新华居委会", "新华社区"),
        ("大滩社区居民委员会", "大滩社区"),
        ("周垟村村委员会", "周垟村"),
        ("团结村委会委会", "团结村"),
        ("萧东村村委会", "萧东村"),
        ("富城村村民委员会", "富城村"),
        ("三村村委会", "三村"),
        ("横村村村委会", "横村村"),
        ("沈冠村村委会村委会", "沈冠村"),
        ("东港社区管理办公室", "东港社区"),
        ("某某村民委员会", "某某村"),
        ("黄湖农场生活区", "黄湖农场生活区"),
    ],
)
def test_village_place_name_drops_the_committee_suffix(official, place):
    assert naming.place_name_for(official, "village") == place


def test_place_name_of_other_levels_is_the_name_itself():
    assert naming.place_name_for("枫桥镇", "town") == "枫桥镇"
    assert naming.place_name_for("村委会", "village") == "村委会"


@pytest.mark.parametrize(
    ("name", "level", "short"),
    [
        ("枫桥镇", "town", "枫桥"),
        ("塔山街道", "town", "塔山"),
        ("莪山畲族乡", "town", "莪山"),
        ("乌镇镇", "town", "乌镇"),
        ("萧山经济技术开发区", "town", "萧山经济技术开发区"),
        ("诸暨市", "county", "诸暨"),
        ("越城区", "county", "越城"),
        ("景宁畲族自治县", "county", "景宁"),
        ("绍兴市", "city", "绍兴"),
        ("枫源村委会", "village", "枫源村"),
    ],
)
def test_short_names_strip_the_level_suffix(name, level, short):
    assert naming.short_name_for(name, level) == short


def test_district_police_is_a_branch_of_the_city_bureau():
    assert naming.public_security_bureau_name("越城区", "绍兴市") == "绍兴市公安局越城区分局"
    assert naming.public_security_bureau_name("诸暨市", "绍兴市") == "诸暨市公安局"
    assert naming.public_security_bureau_name("新昌县", "绍兴市") == "新昌县公安局"


def test_town_units_are_named_after_their_county_organs():
    county_city = naming.town_unit_names("枫桥镇", "诸暨市", "绍兴市")
    assert county_city[UnitKind.POLICE_STATION] == "诸暨市公安局枫桥派出所"
    assert county_city[UnitKind.JUSTICE_OFFICE] == "诸暨市司法局枫桥司法所"
    assert county_city[UnitKind.COMMAND_ROOM] == "枫桥镇综合信息指挥室"
    assert county_city[UnitKind.ENFORCEMENT_TEAM] == "枫桥镇综合行政执法队"
    assert county_city[UnitKind.MARKET_SUPERVISION] == "诸暨市市场监督管理局枫桥市场监管所"
    district = naming.town_unit_names("塔山街道", "越城区", "绍兴市")
    assert district[UnitKind.POLICE_STATION] == "绍兴市公安局越城区分局塔山派出所"
    assert district[UnitKind.JUSTICE_OFFICE] == "绍兴市越城区司法局塔山司法所"


def test_city_political_legal_committee_carries_the_safe_city_office():
    names = naming.city_unit_names("绍兴市")
    assert names[UnitKind.POLITICAL_LEGAL_COMMITTEE] == (
        "中共绍兴市委政法委员会（平安绍兴建设领导小组办公室）"
    )
    assert names[UnitKind.ADMINISTRATION] == "绍兴市基层治理平台管理办公室"


def test_ancestor_codes_are_read_off_the_code():
    assert ancestor_codes("330681109290001", "grid") == [
        "330000",
        "330600",
        "330681",
        "330681109",
        "330681109290",
    ]
    assert ancestor_codes("330681", "county") == ["330000", "330600"]
    assert ancestor_codes("330600", "city") == ["330000"]
    assert ancestor_codes("330000", "province") == []
