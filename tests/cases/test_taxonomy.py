"""The shipped taxonomy (DOMAIN §3), its rules and clock policies (DOMAIN §2), the idempotent
loader, and the administrator's edit services."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from fengqiao.cases import routing, taxonomy
from fengqiao.cases.models import (
    Category,
    CategoryRule,
    ClockPolicy,
    DayBasis,
    Taxonomy,
)
from fengqiao.core.models import AuditEvent
from fengqiao.regions.models import Level, Region, UnitKind

pytestmark = pytest.mark.django_db

GRID_TYPES = [
    "民族宗教",
    "军转干部/复员退伍军人安置",
    "征地拆迁安置",
    "建筑工程质量/物业管理",
    "土地矿产山林水利界线权属",
    "经济活动",
    "劳资纠纷",
    "企业改制",
    "环境污染/生态破坏",
    "司法活动",
    "行政执法活动",
    "大中专院校/中小学校",
    "海事渔事",
    "干部作风",
    "村(社区)务管理",
    '农村土地承包/农村集体"三资"/农民负担',
    "婚姻家庭邻里等民间纠纷",
    "医患纠纷",
    "其他",
]
STATS_CLASSES = [
    "婚姻家庭",
    "邻里",
    "房屋宅基地",
    "合同",
    "生产经营",
    "损害赔偿",
    "山林土地",
    "征地拆迁",
    "环境污染",
    "劳动争议",
    "消费",
    "医疗",
    "道路交通事故",
    "物业",
    "旅游",
    "知识产权",
    "互联网",
    "其他",
]
SLUG = re.compile(r"^[a-z]+(\.[a-z_]+)+$")


def shipped(taxonomy_code: str):
    return Category.objects.of_taxonomy(taxonomy_code).exclude(code__startswith="test.")


def test_migration_seeded_every_tree_in_the_shipped_order():
    grid_top = shipped(Taxonomy.GRID_DISPUTE).filter(parent=None).order_by("sort_order")
    assert [c.name for c in grid_top] == GRID_TYPES
    stats = shipped(Taxonomy.MEDIATION_STATS).order_by("sort_order")
    assert [c.name for c in stats] == STATS_CLASSES
    assert not stats.filter(is_reportable=True).exists()
    security = shipped(Taxonomy.SECURITY)
    assert security.count() == 13
    assert set(security.filter(kind="security").values_list("name", flat=True)) == {
        "抢劫",
        "抢夺",
        "盗窃",
        "赌博",
        "卖淫嫖娼",
        "毒品",
        "黑恶势力",
    }
    assert set(security.filter(kind="hazard").values_list("name", flat=True)) >= {
        "消防安全",
        "安全生产",
        "食品卫生",
        "环境污染",
        "公共安全",
    }
    livelihood = shipped(Taxonomy.LIVELIHOOD)
    assert livelihood.count() == 13
    assert set(livelihood.values_list("kind", flat=True)) == {"livelihood"}
    assert [c.name for c in shipped(Taxonomy.PETITION).order_by("sort_order")] == [
        "建议意见",
        "检举控告",
        "申诉求决",
    ]
    assert set(shipped(Taxonomy.PETITION).values_list("kind", flat=True)) == {"petition"}


def test_codes_are_ascii_slugs_and_every_category_has_an_english_name():
    for code, name_en in Category.objects.exclude(code__startswith="test.").values_list(
        "code", "name_en"
    ):
        assert SLUG.match(code), code
        assert name_en, code


def test_broad_grid_types_are_headings_whose_leaves_map_to_one_statistics_class():
    civil = Category.objects.get(code="dispute.civil")
    assert not civil.is_reportable
    leaves = {c.name: c.statistics_class.name for c in civil.children.all()}
    assert leaves["婚姻家庭纠纷"] == "婚姻家庭"
    assert leaves["邻里纠纷"] == "邻里"
    assert leaves["房屋宅基地纠纷"] == "房屋宅基地"
    assert leaves["道路交通事故纠纷"] == "道路交通事故"
    for code in ("dispute.construction_property", "dispute.land_boundary", "dispute.rural"):
        assert Category.objects.get(code=code).children.count() >= 2
    # Every reportable grid dispute counts under exactly one statistics class.
    grid = shipped(Taxonomy.GRID_DISPUTE)
    assert not grid.filter(is_reportable=True, statistics_class=None).exists()
    assert (
        not grid.filter(is_reportable=False)
        .exclude(children=None)
        .filter(parent=None)
        .filter(statistics_class__isnull=False)
        .exists()
    )
    for stats_name in ("旅游", "知识产权", "互联网", "物业", "消费", "医疗", "劳动争议"):
        assert grid.filter(statistics_class__name=stats_name).exists(), stats_name


def test_every_reportable_category_has_a_rule_and_headings_have_none():
    categories = Category.objects.exclude(code__startswith="test.")
    missing = categories.filter(is_reportable=True, rule__isnull=True)
    assert not missing.exists(), list(missing.values_list("code", flat=True))
    assert not categories.filter(is_reportable=False, rule__isnull=False).exists()


@pytest.mark.parametrize(
    ("code", "level", "kind", "policy", "escalate"),
    [
        (
            "dispute.neighbour",
            Level.VILLAGE,
            UnitKind.MEDIATION_COMMITTEE,
            "mediation",
            (3, "county"),
        ),
        (
            "dispute.marriage_family",
            Level.VILLAGE,
            UnitKind.MEDIATION_COMMITTEE,
            "mediation",
            (3, "county"),
        ),
        ("dispute.labour", Level.COUNTY, UnitKind.HRSS_BUREAU, "standard", (4, "city")),
        ("dispute.medical", Level.COUNTY, UnitKind.JUSTICE_BUREAU, "mediation", (4, "city")),
        ("dispute.environment", Level.TOWN, UnitKind.ENFORCEMENT_TEAM, "standard", (3, "county")),
        ("dispute.land_ownership", Level.TOWN, UnitKind.COMMAND_ROOM, "standard", (3, "county")),
        ("security.theft", Level.TOWN, UnitKind.POLICE_STATION, "standard", (3, "county")),
        ("hazard.food_hygiene", Level.TOWN, UnitKind.MARKET_SUPERVISION, "standard", (3, "county")),
        ("hazard.fire", Level.TOWN, UnitKind.ENFORCEMENT_TEAM, "standard", (3, "county")),
        ("livelihood.social_insurance", Level.TOWN, UnitKind.COMMAND_ROOM, "standard", (None, "")),
        ("petition.request", Level.COUNTY, UnitKind.PETITION_BUREAU, "petition", (None, "")),
    ],
)
def test_shipped_rules(code, level, kind, policy, escalate):
    rule = CategoryRule.objects.select_related("clock_policy").get(category__code=code)
    assert (rule.default_level, rule.handling_unit_kind) == (level, kind)
    assert rule.clock_policy.code == policy
    assert (rule.escalate_severity, rule.escalate_level) == escalate


def test_shipped_clock_policies_follow_domain_section_2():
    standard = ClockPolicy.objects.get(code="standard")
    assert standard.basis == DayBasis.WORKING
    assert (standard.accept_days, standard.accept_red_days) == (1, 2)
    assert (standard.handle_days, standard.handle_red_days) == (5, 10)
    assert (standard.max_handle_days, standard.urgent_handle_days) == (30, 1)
    petition = ClockPolicy.objects.get(code="petition")
    assert petition.basis == DayBasis.NATURAL
    assert (petition.accept_days, petition.handle_days) == (15, 60)
    assert petition.handle_red_days == 90  # +30 with approval, then the red card
    mediation = ClockPolicy.objects.get(code="mediation")
    assert mediation.basis == DayBasis.NATURAL
    assert mediation.handle_days == 30  # 人民调解: normally within one month


@pytest.mark.parametrize(
    ("code", "severity", "unit_kind", "region_code"),
    [
        ("dispute.neighbour", 1, UnitKind.MEDIATION_COMMITTEE, "330681109290"),
        # Major: the county; it has no mediation committee, so its centre takes it.
        ("dispute.neighbour", 3, UnitKind.GOVERNANCE_CENTRE, "330681"),
        ("dispute.labour", 1, UnitKind.HRSS_BUREAU, "330681"),
        ("security.theft", 1, UnitKind.POLICE_STATION, "330681109"),
        ("petition.accusation", 1, UnitKind.PETITION_BUREAU, "330681"),
    ],
)
def test_shipped_rules_route_a_case_in_fengyuan_village(code, severity, unit_kind, region_code):
    region = Region.objects.get(code="330681109290001")
    unit = routing.route(region=region, category=Category.objects.get(code=code), severity=severity)
    assert (unit.kind, unit.region_code) == (unit_kind, region_code)


def test_loading_again_changes_nothing():
    report = taxonomy.load_shipped()
    assert not report.changed
    assert (
        report.unchanged
        == Category.objects.exclude(code__startswith="test.").count()
        + (CategoryRule.objects.exclude(category__code__startswith="test.").count())
        + ClockPolicy.objects.exclude(code__startswith="test.").count()
    )
    assert not AuditEvent.objects.filter(action="cases.taxonomy_loaded").exists()


def test_loading_restores_shipped_values_unless_only_missing():
    neighbour = Category.objects.get(code="dispute.neighbour")
    Category.objects.filter(pk=neighbour.pk).update(name="邻居纠纷", is_active=False)
    CategoryRule.objects.filter(category__code="petition.request").delete()

    kept = taxonomy.load_shipped(only_missing=True)
    assert kept.created == {"categoryrule": 1}
    assert Category.objects.get(code="dispute.neighbour").name == "邻居纠纷"

    restored = taxonomy.load_shipped()
    assert restored.updated == {"category": 1}
    neighbour.refresh_from_db()
    # Names, tree, order and rules are shipped; whether a category is in use is the admin's call.
    assert (neighbour.name, neighbour.is_active) == ("邻里纠纷", False)
    event = AuditEvent.objects.filter(action="cases.taxonomy_loaded").latest("id")
    assert event.detail["updated"] == {"category": 1}


def test_load_taxonomy_command(capsys):
    CategoryRule.objects.filter(category__code="dispute.labour").delete()
    call_command("cases", "load-taxonomy")
    assert CategoryRule.objects.filter(category__code="dispute.labour").exists()
    assert "categoryrule" in capsys.readouterr().out


# --- edit services ------------------------------------------------------------------------------


def test_update_category_saves_and_audits_what_changed(system_admin):
    neighbour = Category.objects.get(code="dispute.neighbour")
    other = Category.objects.get(code="mstat.other")
    taxonomy.update_category(
        neighbour,
        actor=system_admin.user,
        membership=system_admin.membership,
        name="邻里纠纷 ",
        name_en="Neighbour dispute",
        is_active=False,
        statistics_class=other,
        sort_order=neighbour.sort_order,
    )
    neighbour.refresh_from_db()
    assert (neighbour.is_active, neighbour.statistics_class_id) == (False, other.pk)
    event = AuditEvent.objects.filter(action="cases.taxonomy_changed").latest("id")
    assert event.detail["code"] == "dispute.neighbour"
    assert set(event.detail["changes"]) == {"is_active", "statistics_class_id"}
    assert event.actor_username == system_admin.user.username


def test_a_statistics_class_must_come_from_the_statistics_taxonomy(system_admin):
    neighbour = Category.objects.get(code="dispute.neighbour")
    with pytest.raises(ValidationError) as caught:
        taxonomy.update_category(
            neighbour,
            actor=system_admin.user,
            membership=system_admin.membership,
            name="邻里纠纷",
            name_en="",
            is_active=True,
            statistics_class=Category.objects.get(code="dispute.other"),
            sort_order=1,
        )
    assert "statistics_class" in caught.value.message_dict


def test_save_rule_checks_levels_and_audits(system_admin):
    theft = Category.objects.get(code="security.theft")
    standard = ClockPolicy.objects.get(code="standard")
    with pytest.raises(ValidationError):
        taxonomy.save_rule(
            theft,
            actor=system_admin.user,
            membership=system_admin.membership,
            default_level=Level.COUNTY,
            handling_unit_kind=UnitKind.PUBLIC_SECURITY_BUREAU,
            escalate_severity=3,
            escalate_level=Level.TOWN,  # below the default level
            clock_policy=standard,
        )
    with pytest.raises(ValidationError):
        taxonomy.save_rule(
            theft,
            actor=system_admin.user,
            membership=system_admin.membership,
            default_level=Level.TOWN,
            handling_unit_kind=UnitKind.POLICE_STATION,
            escalate_severity=3,
            escalate_level="",  # a severity without a level
            clock_policy=standard,
        )
    rule = taxonomy.save_rule(
        theft,
        actor=system_admin.user,
        membership=system_admin.membership,
        default_level=Level.TOWN,
        handling_unit_kind=UnitKind.POLICE_STATION,
        escalate_severity=2,
        escalate_level=Level.COUNTY,
        clock_policy=standard,
    )
    assert rule.escalate_severity == 2
    event = AuditEvent.objects.filter(action="cases.taxonomy_changed").latest("id")
    assert event.detail == {
        "object": "rule",
        "code": "security.theft",
        "changes": {"escalate_severity": [3, 2]},
    }


def test_headings_cannot_get_a_rule(system_admin):
    with pytest.raises(ValidationError):
        taxonomy.save_rule(
            Category.objects.get(code="dispute.civil"),
            actor=system_admin.user,
            membership=system_admin.membership,
            default_level=Level.VILLAGE,
            handling_unit_kind=UnitKind.MEDIATION_COMMITTEE,
            escalate_severity=None,
            escalate_level="",
            clock_policy=ClockPolicy.objects.get(code="mediation"),
        )


def test_clock_policy_red_card_cannot_precede_the_limit(system_admin):
    standard = ClockPolicy.objects.get(code="standard")
    with pytest.raises(ValidationError) as caught:
        taxonomy.save_clock_policy(
            standard, actor=system_admin.user, membership=system_admin.membership, handle_red_days=4
        )
    assert "handle_red_days" in caught.value.message_dict
    values = {name: getattr(standard, name) for name in taxonomy.POLICY_FIELDS}
    created = taxonomy.save_clock_policy(
        None,
        actor=system_admin.user,
        membership=system_admin.membership,
        code="labour_arbitration",
        **{
            **values,
            "name": "劳动争议仲裁时限",
            "basis": DayBasis.NATURAL,
            "handle_days": 45,
            "handle_red_days": 60,
        },
    )
    assert created.handle_days == 45
    with pytest.raises(ValidationError):
        taxonomy.save_clock_policy(
            None,
            actor=system_admin.user,
            membership=system_admin.membership,
            code="labour_arbitration",
            **values,
        )
