"""Need to know: who sees a tip, through the queryset, the services and the API.

A tip is seen by the unit it is assigned to and by its supervising 扫黑办 (and the 纪委监委 routed
beside it when officials are named) — not by everyone in its region, not by administrators, and
never by the level of the officials it names.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from fengqiao.regions.models import Unit, UnitKind
from fengqiao.tips import services
from fengqiao.tips.models import Tip
from personas import FENGQIAO_TOWN, PERSONA_NAMES, SHAOXING, ZHUJI

from .factories import file_tip

pytestmark = pytest.mark.django_db

TOWN_OFFICIALS = FENGQIAO_TOWN  # 枫桥镇
COUNTY_OFFICIALS = ZHUJI  # 诸暨市


def unit(kind: str, code: str) -> Unit:
    return Unit.objects.get(kind=kind, region__code=code)


def assigned_tip(triager, **overrides) -> Tip:
    """A tip about 枫源村 accepted by 诸暨市扫黑办 and assigned to 枫桥派出所."""
    tip = file_tip(**overrides).tip
    services.accept_tip(tip, membership=triager)
    return services.assign_tip(
        tip, membership=triager, unit=unit(UnitKind.POLICE_STATION, FENGQIAO_TOWN)
    )


def sees(persona, tip: Tip) -> bool:
    """The queryset, the detail API and the list API agree on whether ``persona`` sees ``tip``."""
    in_queryset = Tip.objects.visible_to(persona.membership).filter(pk=tip.pk).exists()
    detail = persona.client.get(f"/api/v1/tips/{tip.public_id}")
    listed = persona.client.get("/api/v1/tips", {"limit": 100})
    in_list = listed.status_code == 200 and str(tip.public_id) in {
        item["id"] for item in listed.json()["items"]
    }
    assert detail.status_code in (200, 404), detail.status_code
    if detail.status_code == 404:
        assert detail.json()["code"] == "not_found"
    assert in_queryset == (detail.status_code == 200) == in_list, (
        persona.membership,
        in_queryset,
        detail.status_code,
        in_list,
    )
    return in_queryset


def test_the_assigned_unit_and_the_supervising_office_see_the_tip(anti_gang_zhuji, police_fengqiao):
    tip = assigned_tip(anti_gang_zhuji.membership)
    assert sees(anti_gang_zhuji, tip)
    assert sees(police_fengqiao, tip)
    body = police_fengqiao.client.get(f"/api/v1/tips/{tip.public_id}").json()
    assert body["description"].startswith("枫源村") and body["reference"] == tip.reference


def test_the_same_region_is_not_enough(
    anti_gang_zhuji, police_zhuji_bureau, discipline_zhuji, anti_gang_shaoxing
):
    tip = assigned_tip(anti_gang_zhuji.membership)
    # 诸暨市公安局 and 诸暨市纪委监委 hold tips.handle over the same county; 绍兴市扫黑办 over the
    # whole city. None of them was given this tip.
    assert not sees(police_zhuji_bureau, tip)
    assert not sees(discipline_zhuji, tip)
    assert not sees(anti_gang_shaoxing, tip)


def test_other_regions_see_nothing(anti_gang_zhuji, police_diankou, anti_gang_yuecheng):
    tip = assigned_tip(anti_gang_zhuji.membership)
    assert not sees(police_diankou, tip)
    assert not sees(anti_gang_yuecheng, tip)


@pytest.mark.parametrize("persona", PERSONA_NAMES, indirect=True)
def test_no_standard_persona_but_the_two_units_involved_reads_the_tip(persona, db):
    from personas import make_persona

    triager = make_persona("triager", "anti_gang_handler", UnitKind.ANTI_GANG_OFFICE, ZHUJI)
    tip = assigned_tip(triager.membership)
    expected = persona.membership.unit_id in {tip.routed_unit_id, tip.assigned_unit_id}
    assert sees(persona, tip) is expected
    if not expected:
        with pytest.raises(services.TipNotFound):
            services.open_tip(tip, membership=persona.membership)


@pytest.mark.parametrize(
    "persona", ["system_admin", "audit_admin", "security_admin"], indirect=True
)
def test_administrators_hold_no_tip_capability_and_read_nothing(persona, anti_gang_zhuji):
    tip = assigned_tip(anti_gang_zhuji.membership)
    assert not any(cap.startswith("tips.") for cap in persona.membership.capabilities)
    assert not Tip.objects.visible_to(persona.membership).exists()
    assert persona.client.get(f"/api/v1/tips/{tip.public_id}").status_code == 404
    assert persona.client.get("/api/v1/tips").status_code == 404
    stats = persona.client.get(
        "/api/v1/tips/statistics", {"region": SHAOXING, "start": "2026-01-01", "end": "2026-12-31"}
    )
    assert stats.status_code == 404


def test_a_transfer_takes_the_tip_away_from_the_old_unit(
    anti_gang_zhuji, police_fengqiao, police_zhuji_bureau
):
    tip = assigned_tip(anti_gang_zhuji.membership)
    response = police_fengqiao.client.post(
        f"/api/v1/tips/{tip.public_id}/transfer",
        {"unit": str(police_zhuji_bureau.unit.public_id), "reason": "涉及多个乡镇，移交市局"},
        content_type="application/json",
    )
    assert response.status_code == 202 and response.json()["visible"] is False
    assert not sees(police_fengqiao, tip)
    assert sees(police_zhuji_bureau, tip)
    assert sees(anti_gang_zhuji, tip)  # the supervising office keeps watching


# --- the bypass ---------------------------------------------------------------------------


def test_a_tip_naming_town_officials_is_never_seen_at_the_town(
    anti_gang_zhuji, discipline_zhuji, police_fengqiao, town_operator_fengqiao
):
    tip = file_tip(officials_involved=True, officials_region_code=TOWN_OFFICIALS).tip
    assert tip.bypass_prefix == TOWN_OFFICIALS
    assert tip.routed_unit == unit(UnitKind.ANTI_GANG_OFFICE, ZHUJI)
    assert tip.discipline_unit == unit(UnitKind.DISCIPLINE_COMMISSION, ZHUJI)
    assert sees(anti_gang_zhuji, tip) and sees(discipline_zhuji, tip)
    services.accept_tip(tip, membership=discipline_zhuji.membership)
    # The town's own police station may not be given it …
    with pytest.raises(ValidationError) as caught:
        services.assign_tip(
            tip,
            membership=anti_gang_zhuji.membership,
            unit=unit(UnitKind.POLICE_STATION, TOWN_OFFICIALS),
        )
    assert "unit" in caught.value.message_dict
    # … and would not see it even if a column said so.
    Tip.objects.filter(pk=tip.pk).update(assigned_unit=police_fengqiao.unit)
    assert not sees(police_fengqiao, tip)
    assert not sees(town_operator_fengqiao, tip)
    services_tip = Tip.objects.get(pk=tip.pk)
    assert services.bypass_blocks(police_fengqiao.unit, services_tip)


def test_a_tip_naming_county_officials_goes_to_the_city_and_the_county_sees_nothing(
    anti_gang_zhuji, discipline_zhuji, anti_gang_shaoxing, discipline_shaoxing, police_zhuji_bureau
):
    tip = file_tip(officials_region_code=COUNTY_OFFICIALS, officials_text="某局副局长").tip
    assert tip.officials_involved and tip.bypass_prefix == COUNTY_OFFICIALS
    assert tip.routed_unit == anti_gang_shaoxing.unit
    assert tip.discipline_unit == discipline_shaoxing.unit
    for persona in (anti_gang_zhuji, discipline_zhuji, police_zhuji_bureau):
        assert not sees(persona, tip)
    assert sees(anti_gang_shaoxing, tip) and sees(discipline_shaoxing, tip)
    services.accept_tip(tip, membership=anti_gang_shaoxing.membership)
    with pytest.raises(ValidationError):
        services.assign_tip(
            tip, membership=anti_gang_shaoxing.membership, unit=police_zhuji_bureau.unit
        )
    services.assign_tip(
        tip, membership=anti_gang_shaoxing.membership, unit=discipline_shaoxing.unit
    )


def test_officials_without_a_level_are_taken_to_be_the_countys(anti_gang_zhuji, anti_gang_shaoxing):
    tip = file_tip(officials_involved=True).tip
    assert tip.bypass_prefix == COUNTY_OFFICIALS and tip.routed_unit == anti_gang_shaoxing.unit
    assert not sees(anti_gang_zhuji, tip)


def test_officials_at_the_top_of_the_platform_cannot_be_bypassed_here():
    with pytest.raises(ValidationError) as caught:
        file_tip(officials_region_code=SHAOXING)
    assert "officials_region_code" in caught.value.message_dict
    assert not Tip.objects.exists()


def test_the_triager_flags_officials_and_the_tip_moves_above_them(
    anti_gang_zhuji, anti_gang_shaoxing
):
    tip = file_tip().tip
    assert sees(anti_gang_zhuji, tip)
    response = anti_gang_zhuji.client.post(
        f"/api/v1/tips/{tip.public_id}/officials",
        {"officials_region_code": COUNTY_OFFICIALS, "officials_text": "某局领导"},
        content_type="application/json",
    )
    assert response.status_code == 202
    assert not sees(anti_gang_zhuji, tip)
    assert sees(anti_gang_shaoxing, tip)


def test_flagging_town_officials_keeps_the_tip_at_the_county(anti_gang_zhuji, discipline_zhuji):
    tip = file_tip().tip
    tip = services.flag_officials(
        tip, membership=anti_gang_zhuji.membership, officials_region_code=TOWN_OFFICIALS
    )
    assert tip.bypass_prefix == TOWN_OFFICIALS and tip.discipline_unit == discipline_zhuji.unit
    assert sees(anti_gang_zhuji, tip) and sees(discipline_zhuji, tip)
