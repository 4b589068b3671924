"""The regions API: scoped exactly like the browser, out of scope is a 404."""

from __future__ import annotations

import pytest
from django.test import Client

from fengqiao.regions.models import Region, Unit, UnitKind
from fengqiao.regions.querysets import subtree_counts

pytestmark = pytest.mark.django_db

API = "/api/v1"


def test_region_with_counts(town_operator_fengqiao):
    response = town_operator_fengqiao.client.get(f"{API}/regions/330681109290")
    assert response.status_code == 200
    body = response.json()
    grids = Region.objects.filter(parent__code="330681109290").count()
    assert body["code"] == "330681109290"
    assert body["name"] == "枫源村委会"
    assert body["place_name"] == "枫源村"
    assert body["full_name"] == "诸暨市枫桥镇枫源村"
    assert body["level"] == "village"
    assert body["parent_code"] == "330681109"
    assert body["counts"]["grid"] == grids
    assert body["counts"]["units"] == grids + 1


def test_scope_root_does_not_disclose_its_parent(town_operator_fengqiao):
    body = town_operator_fengqiao.client.get(f"{API}/regions/330681109").json()
    assert body["parent_code"] is None


def test_children_carry_their_subtree_counts(county_centre_zhuji):
    response = county_centre_zhuji.client.get(f"{API}/regions/330681/children")
    assert response.status_code == 200
    children = {child["code"]: child for child in response.json()}
    towns = Region.objects.filter(parent__code="330681")
    assert set(children) == set(towns.values_list("code", flat=True))
    fengqiao = children["330681109"]
    assert fengqiao["place_name"] == "枫桥镇"
    assert fengqiao["parent_code"] == "330681"
    expected = subtree_counts(
        Region.objects.get(code="330681109"), scope=county_centre_zhuji.membership
    )
    assert fengqiao["counts"]["village"] == expected["village"]
    assert fengqiao["counts"]["grid"] == expected["grid"]
    assert fengqiao["counts"]["units"] == expected["units"]


def test_counts_per_level(city_leader):
    body = city_leader.client.get(f"{API}/regions/330600/counts").json()
    assert (body["county"], body["town"], body["village"]) == (6, 103, 2145)
    assert body["grid"] == Region.objects.at_level("grid").count()
    assert body["units"] == Unit.objects.within("3306").count()
    assert body["city"] == 0


@pytest.mark.parametrize(
    ("persona", "path"),
    [
        ("town_operator_fengqiao", "/regions/330681104"),
        ("town_operator_fengqiao", "/regions/330681/children"),
        ("town_operator_fengqiao", "/regions/330681/counts"),
        ("grid_worker_fengqiao", "/regions/330681109290"),
        ("county_centre_yuecheng", "/regions/330681109"),
        ("county_centre_yuecheng", "/units?region=330681"),
        ("city_leader", "/regions/330000"),
        ("city_leader", "/regions/999999"),
    ],
    indirect=["persona"],
)
def test_out_of_scope_answers_404(persona, path):
    response = persona.client.get(f"{API}{path}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_anonymous_is_refused():
    assert Client().get(f"{API}/regions/330600").status_code == 401


def test_units_filtered_by_region_and_kind_are_paged(county_centre_zhuji):
    response = county_centre_zhuji.client.get(
        f"{API}/units", {"region": "330681", "kind": UnitKind.POLICE_STATION}
    )
    assert response.status_code == 200
    body = response.json()
    towns = Region.objects.filter(parent__code="330681").count()
    assert body["count"] == towns
    assert all(item["kind"] == "police_station" for item in body["items"])
    assert all(item["region_code"].startswith("330681") for item in body["items"])
    names = {item["name"] for item in body["items"]}
    assert "诸暨市公安局枫桥派出所" in names
    assert {"id", "kind_label", "region_name", "level", "is_active"} <= set(body["items"][0])


def test_unit_list_without_region_stays_inside_scope(town_operator_fengqiao):
    body = town_operator_fengqiao.client.get(f"{API}/units", {"limit": 1000}).json()
    assert body["count"] == Unit.objects.within("330681109").count()
    assert all(item["region_code"].startswith("330681109") for item in body["items"])


def test_unit_detail_by_public_id_and_scope(town_operator_fengqiao, county_centre_yuecheng):
    unit = Unit.objects.get(kind=UnitKind.COMMAND_ROOM, region__code="330681109")
    body = town_operator_fengqiao.client.get(f"{API}/units/{unit.public_id}").json()
    assert body["id"] == str(unit.public_id)
    assert body["name"] == "枫桥镇综合信息指挥室"
    assert body["region_name"] == "枫桥镇"
    assert body["kind_label"]
    assert "pk" not in body
    other = county_centre_yuecheng.client.get(f"{API}/units/{unit.public_id}")
    assert other.status_code == 404


def test_invalid_kind_is_a_validation_error(city_leader):
    response = city_leader.client.get(f"{API}/units", {"kind": "spaceship"})
    assert response.status_code == 422
