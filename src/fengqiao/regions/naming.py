"""Naming conventions for regions and units (地名与机构名称规范).

The statistical file names a village by its committee (枫源村委会, 店口社区居委会); people and
addresses use the place (枫源村, 店口社区). Units are named the way the bodies sign their
documents: a town's police station belongs to the county bureau (诸暨市公安局枫桥派出所), and a
district's bureau is a branch of the city bureau (绍兴市公安局越城区分局塔山派出所).
Everything here is pure string work, so the importer, the demo builder and tests share it.
"""

from __future__ import annotations

from fengqiao.regions.models import UnitKind

# Longest first: "社区居委会" must win over "居委会". The village's own 村 may or may not be
# written before the committee (枫源村委会, 萧东村村委会, 富城村村民委员会 all name an X村), so the
# replacement is appended only when the stem does not already end with it. Typos seen in the
# 2021 release ("团结村委会委会", "周垟村村委员会") are folded to the place they obviously mean.
_VILLAGE_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("社区居民委员会", "社区"),
    ("社区管理办公室", "社区"),
    ("社区居委会", "社区"),
    ("村委会委会", "村"),
    ("村民委员会", "村"),
    ("居民委员会", "社区"),
    ("村委员会", "村"),
    ("村委会", "村"),
    ("居委会", "社区"),
)

# Town suffixes, longest first; ethnic townships keep only the place (莪山畲族乡 → 莪山).
_TOWN_SUFFIXES = ("畲族乡", "民族乡", "街道", "镇", "乡")
_COUNTY_SUFFIXES = ("畲族自治县", "自治县", "县", "市", "区")


def place_name_for(name: str, level: str) -> str:
    """The name of the place itself: 枫源村委会 → 枫源村, 店口社区居委会 → 店口社区."""
    if level != "village":
        return name
    stem, replacement = name, ""
    # Repeated: the release also has the suffix written twice (沈冠村村委会村委会).
    while found := next(
        (pair for pair in _VILLAGE_SUFFIXES if stem.endswith(pair[0]) and len(stem) > len(pair[0])),
        None,
    ):
        stem, replacement = stem[: -len(found[0])], replacement or found[1]
    return stem if stem.endswith(replacement) else stem + replacement


def _strip_suffix(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        # A one-character stem (乌镇镇 → 乌镇 is fine, 镇 alone is not) keeps the full name.
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def short_name_for(name: str, level: str) -> str:
    """The name used inside other names and in speech: 枫桥镇 → 枫桥, 诸暨市 → 诸暨.

    Towns, counties and cities lose their suffix; a village is its place name (枫源村), since
    a village's suffix is part of the name people use. Non-standard towns such as 开发区 keep
    their full name.
    """
    if level == "town":
        return _strip_suffix(name, _TOWN_SUFFIXES)
    if level in ("county", "city"):
        return _strip_suffix(name, _COUNTY_SUFFIXES)
    return place_name_for(name, level)


def grid_place_name(number: int) -> str:
    return f"第{number}网格"


def grid_name(village_place_name: str, number: int) -> str:
    """枫源村 + 1 → 枫源村第1网格."""
    return f"{village_place_name}{grid_place_name(number)}"


def is_district(county_name: str) -> bool:
    """A city district (市辖区) rather than a county or county-level city."""
    return county_name.endswith("区")


def county_organ_prefix(county_name: str, city_name: str) -> str:
    """How a county's organs are titled: 诸暨市…, 新昌县…, but 绍兴市越城区… for a district."""
    return f"{city_name}{county_name}" if is_district(county_name) and city_name else county_name


def public_security_bureau_name(county_name: str, city_name: str) -> str:
    """诸暨市公安局; a district's police is a branch of the city bureau: 绍兴市公安局越城区分局."""
    if is_district(county_name) and city_name:
        return f"{city_name}公安局{county_name}分局"
    return f"{county_name}公安局"


def city_unit_names(city_name: str) -> dict[str, str]:
    """The city's units by kind (市级单位)."""
    short = short_name_for(city_name, "city")
    return {
        UnitKind.GOVERNANCE_CENTRE: f"{city_name}社会治理中心",
        UnitKind.POLITICAL_LEGAL_COMMITTEE: f"中共{city_name}委政法委员会（平安{short}建设领导小组办公室）",
        UnitKind.ANTI_GANG_OFFICE: f"{city_name}扫黑除恶斗争领导小组办公室",
        UnitKind.DISCIPLINE_COMMISSION: f"{city_name}纪委监委",
        UnitKind.ADMINISTRATION: f"{city_name}基层治理平台管理办公室",
    }


def county_unit_names(county_name: str, city_name: str) -> dict[str, str]:
    """A county's units by kind (县级单位)."""
    organ = county_organ_prefix(county_name, city_name)
    return {
        UnitKind.GOVERNANCE_CENTRE: f"{organ}社会治理中心",
        UnitKind.PETITION_BUREAU: f"{organ}信访局",
        UnitKind.PUBLIC_SECURITY_BUREAU: public_security_bureau_name(county_name, city_name),
        UnitKind.JUSTICE_BUREAU: f"{organ}司法局",
        UnitKind.HRSS_BUREAU: f"{organ}人力资源和社会保障局",
        UnitKind.HOUSING_BUREAU: f"{organ}住房和城乡建设局",
        UnitKind.COURT: f"{organ}人民法院诉讼服务中心",
        UnitKind.ANTI_GANG_OFFICE: f"{organ}扫黑除恶斗争领导小组办公室",
        UnitKind.DISCIPLINE_COMMISSION: f"{organ}纪委监委",
    }


def town_unit_names(town_name: str, county_name: str, city_name: str) -> dict[str, str]:
    """A town's units by kind (乡镇/街道单位): 四平台 command room and the county's stations."""
    short = short_name_for(town_name, "town")
    organ = county_organ_prefix(county_name, city_name)
    return {
        UnitKind.COMMAND_ROOM: f"{town_name}综合信息指挥室",
        UnitKind.POLICE_STATION: f"{public_security_bureau_name(county_name, city_name)}{short}派出所",
        UnitKind.JUSTICE_OFFICE: f"{organ}司法局{short}司法所",
        UnitKind.ENFORCEMENT_TEAM: f"{town_name}综合行政执法队",
        UnitKind.MARKET_SUPERVISION: f"{organ}市场监督管理局{short}市场监管所",
    }


def village_unit_names(village_place_name: str) -> dict[str, str]:
    """A village's units by kind: its people's mediation committee (村/社区人民调解委员会)."""
    return {UnitKind.MEDIATION_COMMITTEE: f"{village_place_name}人民调解委员会"}
