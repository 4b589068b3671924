"""The workbench: the active membership and its registered queues; administrators' landing."""

from __future__ import annotations

import pytest

from fengqiao.accounts import workbench

pytestmark = pytest.mark.django_db


@pytest.fixture
def clean_registry():
    saved = dict(workbench._REGISTRY)
    workbench._REGISTRY.clear()
    yield
    workbench._REGISTRY.clear()
    workbench._REGISTRY.update(saved)


def test_workbench_shows_membership_and_says_when_no_queues_exist(
    town_operator_fengqiao, clean_registry
):
    for url in ("/", "/workbench/"):
        page = town_operator_fengqiao.client.get(url)
        html = page.content.decode()
        assert page.status_code == 200
        assert town_operator_fengqiao.unit.name in html
        assert "乡镇综合信息指挥室操作员" in html or "指挥室" in html
        assert "330681109" in html
        assert page.context["queues"] == []
        assert "没有工作队列" in html


def test_registered_queues_are_counted_for_the_active_membership(
    town_operator_fengqiao, clean_registry
):
    seen = []

    def count(membership):
        seen.append(membership)
        return 3 if membership.region_code == "330681109" else 0

    workbench.register_queue(workbench.OVERDUE, count=count)
    workbench.register_queue(workbench.TO_ACCEPT, count=lambda m: 7)
    workbench.register_queue(
        "secret_queue", label="Only inspectors", count=lambda m: 99, capability="inspect.only"
    )
    page = town_operator_fengqiao.client.get("/workbench/")
    queues = page.context["queues"]
    assert [(q.key, q.count) for q in queues] == [("to_accept", 7), ("overdue", 3)]
    assert queues[1].warning
    assert seen == [town_operator_fengqiao.membership]
    html = page.content.decode()
    assert "没有工作队列" not in html
    assert "99" not in html


def test_queues_may_give_rows_or_numbers_and_nothing_else(town_operator_fengqiao, clean_registry):
    from fengqiao.accounts.models import Membership

    membership = town_operator_fengqiao.membership
    workbench.register_queue(workbench.TO_ACCEPT, count=lambda m: 7)
    workbench.register_queue(workbench.TO_SIGN, count=lambda m: Membership.objects.filter(pk=m.pk))
    counts = {q.key: q.count for q in workbench.queues_for(membership)}
    assert counts == {"to_accept": 7, "to_sign": 1}
    workbench.register_queue(workbench.OVERDUE, count=lambda m: Membership.objects)
    with pytest.raises(TypeError):  # a manager is neither rows nor a number
        workbench.queues_for(membership)


def test_non_standard_queue_needs_a_label(clean_registry):
    with pytest.raises(ValueError):
        workbench.register_queue("custom", count=lambda m: 0)


def test_queue_with_unknown_url_name_is_shown_without_link(town_operator_fengqiao, clean_registry):
    workbench.register_queue(workbench.TO_SIGN, count=lambda m: 1, url_name="cases:nowhere")
    queue = town_operator_fengqiao.client.get("/workbench/").context["queues"][0]
    assert queue.url is None and queue.count == 1


@pytest.mark.parametrize(
    ("persona", "home"),
    [("system_admin", "/manage/users/"), ("security_admin", "/security/lockouts/")],
    indirect=["persona"],
)
def test_administrators_land_on_their_own_home(persona, home):
    response = persona.client.get("/")
    assert response.status_code == 302 and response.url == home


def test_audit_admin_lands_on_the_audit_log_or_a_friendly_page(audit_admin):
    from django.urls import NoReverseMatch, reverse

    response = audit_admin.client.get("/workbench/")
    try:
        audit_url = reverse("core:audit_list")
    except NoReverseMatch:
        assert response.status_code == 200
        assert "没有" in response.content.decode()
    else:
        assert response.status_code == 302 and response.url == audit_url


def test_menu_follows_capabilities(town_operator_fengqiao):
    items = town_operator_fengqiao.client.get("/workbench/").context["nav_items"]
    urls = [item["url"] for item in items]
    assert urls[0] == "/workbench/"
    assert items[0]["active"]
    assert "/tokens/" in urls
    assert not any(url.startswith(("/manage/", "/security/")) for url in urls)


def test_role_without_any_page_gets_a_friendly_home(audit_admin, monkeypatch):
    from fengqiao.accounts import navigation

    monkeypatch.setattr(navigation, "_ENTRIES", {})
    response = audit_admin.client.get("/workbench/")
    assert response.status_code == 200
    assert "该身份没有事件工作台" in response.content.decode()
