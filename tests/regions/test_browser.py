"""Region browser: each persona sees its own jurisdiction, nothing above or beside it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from fengqiao.regions.models import Region, Unit
from fengqiao.regions.querysets import subtree_counts

pytestmark = pytest.mark.django_db


def detail_url(code: str) -> str:
    return reverse("regions:detail", args=[code])


def test_anonymous_is_sent_to_login():
    for url in (reverse("regions:browser"), detail_url("330681109")):
        response = Client().get(url)
        assert response.status_code == 302
        assert reverse("accounts:login") in response["Location"]


def test_browser_opens_at_the_scope_root_of_the_town_operator(town_operator_fengqiao):
    response = town_operator_fengqiao.client.get(reverse("regions:browser"))
    assert response.status_code == 200
    assert response.context["region"].code == "330681109"
    assert response.context["is_root"]
    page = response.content.decode()
    assert "枫桥镇综合信息指挥室" in page
    assert "枫源村" in page
    assert detail_url("330681109290") in page
    # Nothing above the scope root is linked.
    assert response.context["breadcrumb"] == []
    assert detail_url("330681") not in page


def test_town_page_lists_villages_with_grid_and_unit_counts(town_operator_fengqiao):
    response = town_operator_fengqiao.client.get(detail_url("330681109"))
    rows = {row["region"].code: row["counts"] for row in response.context["rows"]}
    villages = Region.objects.at_level("village").filter(parent__code="330681109")
    assert set(rows) == set(villages.values_list("code", flat=True))
    fengyuan_grids = Region.objects.filter(parent__code="330681109290").count()
    # Columns: grids, units (the committee and one station per grid).
    assert rows["330681109290"] == [fengyuan_grids, 1 + fengyuan_grids]


def test_city_page_counts_towns_villages_grids_and_units_per_county(city_leader):
    response = city_leader.client.get(detail_url("330600"))
    assert response.status_code == 200
    rows = {row["region"].code: row["counts"] for row in response.context["rows"]}
    assert len(rows) == 6
    zhuji = Region.objects.get(code="330681")
    expected = [
        Region.objects.below(zhuji).at_level(level).count() for level in ("town", "village", "grid")
    ]
    expected.append(Unit.objects.within("330681").count())
    assert rows["330681"] == expected
    assert [str(h) for h in response.context["count_headings"]] == [
        "乡镇（街道）",
        "村（社区）",
        "网格",
        "单位",
    ]


def test_page_totals_equal_the_subtree_counts(city_leader, town_operator_fengqiao):
    for persona, code in ((city_leader, "330600"), (town_operator_fengqiao, "330681109290")):
        response = persona.client.get(detail_url(code))
        totals = {str(t["label"]): t["count"] for t in response.context["totals"]}
        expected = subtree_counts(Region.objects.get(code=code), scope=persona.membership)
        labels = {
            "county": "县（市、区）",
            "town": "乡镇（街道）",
            "village": "村（社区）",
            "grid": "网格",
            "units": "单位",
        }
        assert totals == {labels[key]: n for key, n in expected.items() if n}


def test_breadcrumb_runs_from_scope_root_to_parent(city_leader, grid_worker_fengqiao):
    response = city_leader.client.get(detail_url("330681109290001"))
    assert [r.code for r in response.context["breadcrumb"]] == [
        "330600",
        "330681",
        "330681109",
        "330681109290",
    ]
    response = grid_worker_fengqiao.client.get(reverse("regions:browser"))
    assert response.status_code == 200
    assert response.context["region"].code == "330681109290001"
    assert response.context["breadcrumb"] == []
    assert "枫源村第1网格" in response.content.decode()


@pytest.mark.parametrize(
    ("persona", "code", "status"),
    [
        ("town_operator_fengqiao", "330681109290", 200),
        ("town_operator_fengqiao", "330681109290001", 200),
        ("town_operator_fengqiao", "330681104", 404),  # 店口镇, the next town
        ("town_operator_fengqiao", "330681", 404),  # above the scope root
        ("town_operator_other_town", "330681109", 404),
        ("grid_worker_fengqiao", "330681109290", 404),
        ("grid_worker_fengqiao", "330681109290002", 404),
        ("village_mediator_fengyuan", "330681109290002", 200),
        ("county_centre_zhuji", "330681104", 200),
        ("county_centre_zhuji", "330602", 404),
        ("county_centre_yuecheng", "330602001", 200),
        ("county_centre_yuecheng", "330681109", 404),
        ("city_leader", "330602001", 200),
        ("city_leader", "330000", 404),
        ("system_admin", "330681109290001", 200),
        ("city_leader", "999999", 404),  # no such region
    ],
    indirect=["persona"],
)
def test_region_pages_are_scoped_to_the_persona(persona, code, status):
    assert persona.client.get(detail_url(code)).status_code == status


@pytest.mark.parametrize("persona", ["audit_admin", "security_admin"], indirect=True)
def test_personas_without_the_capability_get_404(persona):
    assert persona.client.get(reverse("regions:browser")).status_code == 404
    assert persona.client.get(detail_url("330600")).status_code == 404


def test_page_query_count_does_not_grow_with_the_number_of_children(
    city_leader, django_assert_max_num_queries
):
    client = city_leader.client
    client.get(detail_url("330681109290"))  # warm the session and caches
    # A city (6 children, ~14,000 regions below) and a village (a handful of grids) cost the same.
    with django_assert_max_num_queries(14) as city:
        assert client.get(detail_url("330600")).status_code == 200
    with django_assert_max_num_queries(14) as town:
        assert client.get(detail_url("330681109")).status_code == 200
    assert len(city.captured_queries) == len(town.captured_queries)


def test_page_renders_for_a_phone(town_operator_fengqiao):
    page = town_operator_fengqiao.client.get(detail_url("330681109")).content.decode()
    assert 'name="viewport"' in page
    assert "table-responsive" in page
    assert "style=" not in page
