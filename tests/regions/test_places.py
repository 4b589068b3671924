"""Place → region: explicit pick, division names in the place text, WGS-84 point in the shipped
county boundaries, and clear refusals (real Shaoxing names and coordinates)."""

from __future__ import annotations

import pytest

from fengqiao.core import audit
from fengqiao.regions import places
from fengqiao.regions.models import Level, Region
from fengqiao.regions.places import PlaceError, resolve_place

pytestmark = pytest.mark.django_db

FENGYUAN = "330681109290"
FENGQIAO = "330681109"
ZHUJI = "330681"
YUECHENG = "330602"


@pytest.fixture(autouse=True)
def fresh_index():
    places.invalidate()
    yield
    places.invalidate()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("诸暨市枫桥镇枫源村", FENGYUAN),
        ("枫桥镇枫源村3组", FENGYUAN),
        ("绍兴市诸暨市枫桥镇", FENGQIAO),
        ("枫源村", FENGYUAN),  # unique in Shaoxing
        ("浙江省绍兴市诸暨市枫桥镇枫源村村委会旁", FENGYUAN),
        ("诸暨 枫桥镇 枫源村委会", FENGYUAN),  # official name, spaces
        ("诸暨枫桥枫源村", FENGYUAN),  # short names
        ("枫桥镇枫源村第1网格", FENGYUAN + "001"),
        ("越城区", YUECHENG),
        ("诸暨市次坞镇新民村", "330681103265"),
        ("诸暨市新民村", "330681103265"),  # county settles a shared village name
        ("塔山街道花园社区", "330602001004"),
        ("店口社区", "330681104004"),  # the town's short name inside it is not the town
        ("诸暨市枫桥镇枫源村３组", FENGYUAN),  # full-width digit
    ],
)
def test_place_text_resolves_to_the_deepest_named_region(text, code):
    resolution = resolve_place(text=text)
    assert resolution.region.code == code
    assert resolution.how == places.HOW_TEXT


def test_a_village_name_shared_by_several_villages_is_refused_with_the_candidates():
    with pytest.raises(PlaceError) as caught:
        resolve_place(text="新民村")
    assert caught.value.code == "place_unresolved"
    assert "柯桥区夏履镇新民村" in caught.value.message
    assert "诸暨市次坞镇新民村" in caught.value.candidates
    assert len(caught.value.candidates) == 4


def test_a_point_settles_a_shared_village_name():
    # 次坞镇 is in the north of 诸暨; the point only has to be somewhere in 诸暨.
    resolution = resolve_place(text="新民村", latitude="29.65", longitude="120.44")
    assert resolution.region.code == "330681103265"
    assert resolution.how == places.HOW_TEXT


@pytest.mark.parametrize(
    ("latitude", "longitude", "code"),
    [
        (29.65, 120.44, ZHUJI),  # 枫桥镇
        (30.00, 120.58, YUECHENG),  # 越城区
        (29.60, 120.82, "330683"),  # 嵊州市
        (29.50, 120.90, "330624"),  # 新昌县
    ],
)
def test_a_point_lands_in_its_county(latitude, longitude, code):
    resolution = resolve_place(latitude=latitude, longitude=longitude)
    assert resolution.region.code == code
    assert resolution.region.level == Level.COUNTY
    assert resolution.how == places.HOW_POINT


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(30.27, 120.15), (39.90, 116.40), (0, 0)],  # 杭州, 北京, the Gulf of Guinea
)
def test_a_point_outside_the_territory_is_refused(latitude, longitude):
    with pytest.raises(PlaceError) as caught:
        resolve_place(latitude=latitude, longitude=longitude)
    assert caught.value.code == "outside_territory"
    assert "不在" in caught.value.message or "outside" in caught.value.message


def test_text_wins_over_the_point_and_a_city_only_text_yields_to_the_point():
    assert resolve_place(text="枫源村", latitude=30.0, longitude=120.58).region.code == FENGYUAN
    resolution = resolve_place(text="绍兴市", latitude=30.0, longitude=120.58)
    assert (resolution.region.code, resolution.how) == (YUECHENG, places.HOW_POINT)
    assert resolve_place(text="绍兴市").region.code == "330600"


def test_unmatched_text_falls_back_to_the_point():
    resolution = resolve_place(text="北京市朝阳区某小区", latitude=29.65, longitude=120.44)
    assert (resolution.region.code, resolution.how) == (ZHUJI, places.HOW_POINT)


def test_nothing_resolvable_is_place_unresolved():
    with pytest.raises(PlaceError) as caught:
        resolve_place(text="北京市朝阳区")
    assert caught.value.code == "place_unresolved"
    with pytest.raises(PlaceError) as caught:
        resolve_place()
    assert caught.value.code == "place_unresolved"


def test_an_explicit_pick_must_be_a_region_of_the_deployment():
    resolution = resolve_place(region_code=FENGYUAN, text="越城区")
    assert (resolution.region.code, resolution.how) == (FENGYUAN, places.HOW_PICKED)
    with pytest.raises(PlaceError) as caught:
        resolve_place(region_code="330106")  # 杭州市西湖区: a real code, not ours
    assert caught.value.code == "outside_territory"
    with pytest.raises(PlaceError) as caught:
        resolve_place(region_code="33068")
    assert caught.value.code == "region_invalid"


@pytest.mark.parametrize(
    ("latitude", "longitude"), [(29.65, None), ("north", "120.4"), (95, 120), (29, 200)]
)
def test_malformed_points_are_refused(latitude, longitude):
    with pytest.raises(PlaceError) as caught:
        resolve_place(text="枫源村", latitude=latitude, longitude=longitude)
    assert caught.value.code == "point_invalid"


def test_the_index_follows_new_and_renamed_regions():
    assert resolve_place(text="枫源村").region.code == FENGYUAN
    town = Region.objects.get(code=FENGQIAO)
    Region.objects.create(
        code="330681109999",
        name="试验村委会",
        place_name="试验村",
        short_name="试验村",
        full_name="诸暨市枫桥镇试验村",
        level=Level.VILLAGE,
        parent=town,
    )
    assert resolve_place(text="枫桥镇试验村").region.code == "330681109999"


def test_a_bulk_import_announced_in_the_audit_log_drops_the_index():
    resolve_place(text="枫源村")
    built = places._index
    assert built is not None
    Region.objects.filter(code=FENGYUAN).update(place_name="枫源新村", name="枫源新村委会")
    audit.record("regions.import", detail={"rows": 1})
    assert places._index is None
    assert resolve_place(text="枫桥镇枫源新村").region.code == FENGYUAN


def test_text_matching_reads_the_cached_index_without_queries(django_assert_num_queries):
    resolve_place(text="诸暨市枫桥镇枫源村")  # builds the index
    index = places._name_index()
    texts = ["诸暨市枫桥镇枫源村3组12号", "枫源村", "越城区塔山街道花园社区", "新昌县"]
    with django_assert_num_queries(0):
        assert places._name_index() is index
        matches = [places._from_text(index, text) for text in texts]
    assert all(matches)
