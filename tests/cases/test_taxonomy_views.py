"""Taxonomy administration pages: system administrator only, Chinese form errors, audited saves."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fengqiao.cases.models import Category, CategoryRule, ClockPolicy
from fengqiao.core.models import AuditEvent

pytestmark = pytest.mark.django_db

PAGES = [
    ("cases:taxonomy", {}),
    ("cases:taxonomy_category", {"category_code": "dispute.neighbour"}),
    ("cases:taxonomy_rule", {"category_code": "dispute.neighbour"}),
    ("cases:taxonomy_clocks", {}),
    ("cases:taxonomy_clock_add", {}),
    ("cases:taxonomy_clock_edit", {"policy_code": "standard"}),
]


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_pages_open_for_the_system_administrator_only(
    name, kwargs, system_admin, town_operator_fengqiao, security_admin
):
    url = reverse(name, kwargs=kwargs)
    assert system_admin.client.get(url).status_code == 200
    for other in (town_operator_fengqiao, security_admin):
        assert other.client.get(url).status_code == 404
        assert other.client.post(url).status_code == 404


def test_the_list_shows_the_tree_with_rules_in_a_fixed_number_of_queries(
    system_admin, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        response = system_admin.client.get(reverse("cases:taxonomy"), {"taxonomy": "grid_dispute"})
    page = response.content.decode()
    assert "婚姻家庭邻里等民间纠纷" in page and "邻里纠纷" in page
    assert page.index("婚姻家庭邻里等民间纠纷") < page.index("邻里纠纷") < page.index("医患纠纷")
    assert "人民调解委员会" in page or "People" in page  # the rule's unit kind
    stats = system_admin.client.get(reverse("cases:taxonomy"), {"taxonomy": "mediation_stats"})
    assert "知识产权" in stats.content.decode()


def test_unknown_codes_answer_404(system_admin):
    client = system_admin.client
    assert client.get(reverse("cases:taxonomy_category", args=["dispute.nope"])).status_code == 404
    assert client.get(reverse("cases:taxonomy_clock_edit", args=["nope"])).status_code == 404
    # Headings have no rule to edit.
    assert client.get(reverse("cases:taxonomy_rule", args=["dispute.civil"])).status_code == 404


def test_editing_a_category_saves_and_audits(system_admin):
    neighbour = Category.objects.get(code="dispute.neighbour")
    response = system_admin.client.post(
        reverse("cases:taxonomy_category", args=["dispute.neighbour"]),
        {
            "name": "邻里纠纷（含噪音）",
            "name_en": "Neighbour dispute",
            "statistics_class": Category.objects.get(code="mstat.neighbour").pk,
            "sort_order": neighbour.sort_order,
        },
    )
    assert response.status_code == 302
    neighbour.refresh_from_db()
    assert neighbour.name == "邻里纠纷（含噪音）"
    assert neighbour.is_active is False  # unticked box
    event = AuditEvent.objects.filter(action="cases.taxonomy_changed").latest("id")
    assert event.detail["code"] == "dispute.neighbour"
    assert set(event.detail["changes"]) == {"name", "is_active"}


def test_category_form_errors_are_in_chinese(system_admin):
    response = system_admin.client.post(
        reverse("cases:taxonomy_category", args=["dispute.neighbour"]),
        {"name": "", "sort_order": "-1"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "此项为必填项" in page
    assert Category.objects.get(code="dispute.neighbour").name == "邻里纠纷"


def test_rule_form_refuses_a_grave_level_below_the_default(system_admin):
    url = reverse("cases:taxonomy_rule", args=["dispute.labour"])
    standard = ClockPolicy.objects.get(code="standard")
    response = system_admin.client.post(
        url,
        {
            "default_level": "county",
            "handling_unit_kind": "hrss_bureau",
            "escalate_severity": "3",
            "escalate_level": "town",
            "clock_policy": standard.pk,
        },
    )
    assert response.status_code == 200
    assert "提级后的层级必须高于默认层级" in response.content.decode()
    response = system_admin.client.post(
        url,
        {
            "default_level": "county",
            "handling_unit_kind": "hrss_bureau",
            "escalate_severity": "3",
            "escalate_level": "city",
            "clock_policy": standard.pk,
        },
    )
    assert response.status_code == 302
    assert CategoryRule.objects.get(category__code="dispute.labour").escalate_severity == 3


def test_clock_policy_edit_and_add(system_admin):
    standard = ClockPolicy.objects.get(code="standard")
    fields = {
        name: getattr(standard, name)
        for name in (
            "name",
            "basis",
            "accept_days",
            "accept_red_days",
            "handle_days",
            "handle_red_days",
            "max_handle_days",
            "urgent_handle_days",
            "due_soon_hours",
            "visit_after_days",
            "max_extension_days",
            "points_on_time",
            "points_yellow",
            "points_red",
        )
    }
    edit = reverse("cases:taxonomy_clock_edit", args=["standard"])
    response = system_admin.client.post(edit, {**fields, "handle_red_days": 3})
    assert "办理红牌时限不能早于办理时限" in response.content.decode()
    response = system_admin.client.post(edit, {**fields, "handle_red_days": 12})
    assert response.status_code == 302
    standard.refresh_from_db()
    assert standard.handle_red_days == 12

    add = reverse("cases:taxonomy_clock_add")
    response = system_admin.client.post(add, {**fields, "code": "Bad Code"})
    assert "小写字母" in response.content.decode()
    response = system_admin.client.post(add, {**fields, "code": "standard"})
    assert "已有相同编码的时限规则" in response.content.decode()
    response = system_admin.client.post(add, {**fields, "code": "hotline", "name": "热线时限"})
    assert response.status_code == 302
    assert ClockPolicy.objects.get(code="hotline").name == "热线时限"
    actions = AuditEvent.objects.filter(action="cases.taxonomy_changed").values_list(
        "detail", flat=True
    )
    assert {d["code"] for d in actions} >= {"standard", "hotline"}
