"""Staff intake: the grid worker's phone form and the operator's form, through one service."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fengqiao.cases.models import Case, Party
from fengqiao.regions.models import Level, UnitKind
from personas import FENGYUAN_GRID_1, FENGYUAN_VILLAGE

from .factories import id_number, make_category


@pytest.fixture
def town_category(db):
    return make_category(level=Level.TOWN, unit_kind=UnitKind.COMMAND_ROOM)


def management(prefix="party", total=2):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "10",
    }


def test_grid_form_defaults_to_the_workers_grid(grid_worker_fengqiao, dispute_category):
    page = grid_worker_fengqiao.client.get(reverse("cases:new_grid"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'value="{FENGYUAN_GRID_1}" selected' in html
    assert "js-geolocate" in html and "cases/geolocate.js" in html


def test_grid_report_creates_a_case_at_the_grid(grid_worker_fengqiao, dispute_category):
    data = {
        "category": dispute_category.code,
        "title": "路灯损坏",
        "description": "三号路灯不亮，夜间有安全隐患。",
        "region_code": FENGYUAN_GRID_1,
        "severity": "1",
        "urgency": "normal",
        "latitude": "29.662345678",
        "longitude": "120.381234567",
        **management(),
    }
    response = grid_worker_fengqiao.client.post(reverse("cases:new_grid"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    case = Case.objects.get()
    assert case.channel == "grid_app"
    assert case.region_code == FENGYUAN_GRID_1
    assert case.reported_by == grid_worker_fengqiao.user
    assert str(case.latitude) == "29.662346"
    assert response["Location"] == reverse("cases:detail", kwargs={"case_code": case.code})


def test_grid_worker_cannot_pick_a_region_outside_the_grid(grid_worker_fengqiao, dispute_category):
    data = {
        "category": dispute_category.code,
        "title": "x",
        "description": "越界",
        "region_code": "330681104001",
        "severity": "1",
        "urgency": "normal",
        **management(),
    }
    response = grid_worker_fengqiao.client.post(reverse("cases:new_grid"), data)
    assert response.status_code == 400
    assert not Case.objects.exists()


def operator_data(category, **values):
    data = {
        "channel": "referral_police",
        "external_ref": "=HYPERLINK(1)",
        "category": category.code,
        "title": "宅基地纠纷",
        "description": "两户因宅基地边界发生争执，派出所转来。",
        "region_code": FENGYUAN_VILLAGE,
        "severity": "1",
        "urgency": "urgent",
        "people_count": "2",
        "amount": "5000.00",
        **management(),
        "party-0-role": "applicant",
        "party-0-name": "赵六",
        "party-0-id_number": id_number("33068119700203456"),
        "party-0-phone": "138 1234 5678",
        "party-1-role": "respondent",
    }
    data.update(values)
    return data


def test_operator_registers_a_referral_with_parties(town_operator_fengqiao, town_category):
    response = town_operator_fengqiao.client.post(
        reverse("cases:new"), operator_data(town_category)
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    case = Case.objects.get()
    assert (case.channel, case.urgency, case.people_count) == ("referral_police", "urgent", 2)
    assert case.external_ref == "=HYPERLINK(1)"
    party = Party.objects.get(case=case)  # the blank second row is left out
    assert party.name == "赵六"
    assert party.phone == "13812345678"


def test_a_bad_id_number_is_refused_with_a_field_error(town_operator_fengqiao, town_category):
    data = operator_data(town_category, **{"party-0-id_number": "330681197002034560"})
    response = town_operator_fengqiao.client.post(reverse("cases:new"), data)
    assert response.status_code == 400
    assert "invalid-feedback" in response.content.decode()
    assert not Case.objects.exists()


def test_a_channel_outside_the_list_is_refused(town_operator_fengqiao, town_category):
    data = operator_data(town_category, channel="open311")
    assert town_operator_fengqiao.client.post(reverse("cases:new"), data).status_code == 400
    assert not Case.objects.exists()


def test_intake_needs_the_report_capability(client, audit_admin, city_leader):
    for url in (reverse("cases:new"), reverse("cases:new_grid")):
        assert client.get(url).status_code == 302  # anonymous: to the login page
        assert audit_admin.client.get(url).status_code == 404
        assert city_leader.client.get(url).status_code == 404
