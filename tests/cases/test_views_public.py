"""Citizen pages: report without login → tracking page with code and QR → rating once closed."""

from __future__ import annotations

import io
import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from PIL import Image

from fengqiao.cases import services
from fengqiao.cases.models import Action, Attachment, Case, ClosureMethod, Party, Status
from fengqiao.core import ratelimit
from personas import FENGQIAO_TOWN, FENGYUAN_VILLAGE, ZHUJI

from .factories import report


@pytest.fixture(autouse=True)
def generous_limits(settings):
    settings.CASES_REPORT_RATE = "1000/m"
    settings.CASES_REPORT_RATE_TOTAL = "1000/m"
    settings.CASES_TRACK_RATE = "1000/m"


def form_data(category, **values):
    data = {
        "category": category.code,
        "description": "邻居家的排水沟堵了，雨水流进我家院子。",
        "county": ZHUJI,
        "town": FENGQIAO_TOWN,
        "village": FENGYUAN_VILLAGE,
        "place_text": "村口桥头",
        "contact_name": "王小明",
        "contact_phone": "13812345678",
    }
    data.update(values)
    return {key: value for key, value in data.items() if value is not None}


def submit(client, category, **values):
    return client.post(reverse("cases_public:report"), form_data(category, **values))


def test_the_form_opens_without_login_and_lists_the_category(client, dispute_category):
    response = client.get(reverse("cases_public:report"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert dispute_category.code in response.content.decode()


def test_region_picker_lists_children_of_the_picked_level(client, db):
    towns = client.get(reverse("cases_public:regions"), {"county": ZHUJI}).content.decode()
    assert FENGQIAO_TOWN in towns
    assert 'hx-swap-oob="innerHTML"' in towns  # the village select is cleared
    villages = client.get(reverse("cases_public:regions"), {"town": FENGQIAO_TOWN})
    assert FENGYUAN_VILLAGE in villages.content.decode()
    assert client.get(reverse("cases_public:regions"), {"town": "999"}).status_code == 200


def test_report_track_and_rate(client, dispute_category, village_mediator_fengyuan):
    response = submit(client, dispute_category)
    assert response.status_code == 302
    match = re.match(r"^/track/([0-9-]+)/([A-Za-z0-9_-]+)/\?new=1$", response["Location"])
    assert match, response["Location"]
    code, token = match.groups()
    case = Case.objects.get(code=code)
    assert case.channel == "web"
    assert case.region_code == FENGYUAN_VILLAGE
    assert case.owner_unit == village_mediator_fengyuan.unit
    reporter = Party.objects.get(case=case)
    assert reporter.role == "reporter"
    assert reporter.phone == "13812345678"

    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    assert code in html and token in html
    assert 'src="data:image/svg+xml;base64,' in html
    # No personal data on the public page.
    assert "13812345678" not in html and "王小明" not in html and "5678" not in html
    # Not closed yet: no rating form, and a POST changes nothing.
    assert 'name="satisfaction"' not in html
    client.post(f"/track/{code}/{token}/", {"satisfaction": "5"})
    assert Case.objects.get(pk=case.pk).satisfaction is None

    close(case, village_mediator_fengyuan)
    closed_page = client.get(f"/track/{code}/{token}/").content.decode()
    assert 'name="satisfaction"' in closed_page
    rated = client.post(f"/track/{code}/{token}/", {"satisfaction": "4", "comment": "满意"})
    assert rated.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.EVALUATED
    assert (case.satisfaction, case.evaluation_channel) == (4, "tracking")
    assert 'name="satisfaction"' not in client.get(f"/track/{code}/{token}/").content.decode()


def close(case, persona):
    """Accept, handle in the unit itself, report completion and verify (as the owner unit)."""
    actor, membership = persona.user, persona.membership
    case = services.accept_case(case, actor=actor, membership=membership)
    case = services.sign_case(case, actor=actor, membership=membership)
    case = services.submit_feedback(
        case,
        actor=actor,
        membership=membership,
        method=ClosureMethod.MEDIATED,
        resolved=True,
        summary="双方达成一致",
    )
    return services.verify_case(case, actor=actor, membership=membership, passed=True)


def test_public_progress_shows_public_steps_in_citizen_wording(client, dispute_category):
    case = report(dispute_category, region_code=FENGYUAN_VILLAGE, channel="web")
    html = client.get(f"/track/{case.code}/{case.tracking_token}/").content.decode()
    assert "Your report was received." in html or "已收到您的反映" in html or "已收到" in html


@pytest.mark.parametrize("bad", ["wrong", "A" * 22])
def test_a_wrong_token_is_404(client, dispute_category, bad):
    case = report(dispute_category, region_code=FENGYUAN_VILLAGE)
    assert client.get(f"/track/{case.code}/{bad}/").status_code == 404
    assert client.get(f"/track/330681-20260101-99999/{case.tracking_token}/").status_code == 404


def test_lookup_finds_the_case_with_code_and_token_only(client, dispute_category):
    case = report(dispute_category, region_code=FENGYUAN_VILLAGE)
    found = client.post(
        reverse("cases_public:lookup"), {"code": case.code, "token": case.tracking_token}
    )
    assert found.status_code == 302
    assert found["Location"] == f"/track/{case.code}/{case.tracking_token}/"
    wrong = client.post(reverse("cases_public:lookup"), {"code": case.code, "token": "x" * 22})
    assert wrong.status_code == 400


def test_missing_place_is_refused_with_a_message(client, dispute_category):
    response = submit(client, dispute_category, county="", town="", village="", place_text="")
    assert response.status_code == 400
    assert not Case.objects.exists()


def test_an_unknown_or_inconsistent_region_is_refused(client, dispute_category):
    response = submit(client, dispute_category, town="330681104")  # 店口镇 under 枫源村? no
    assert response.status_code == 400
    assert not Case.objects.exists()


def test_a_bad_phone_is_refused(client, dispute_category):
    assert submit(client, dispute_category, contact_phone="12345").status_code == 400
    assert not Case.objects.exists()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 128, 0)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_a_renamed_file_is_refused_and_no_case_is_left(client, dispute_category):
    fake = io.BytesIO(b"MZ\x90\x00" + b"\x00" * 100)
    fake.name = "photo.jpg"
    response = submit(client, dispute_category, photo=fake)
    assert response.status_code == 400
    assert not Case.objects.exists()


def test_a_photo_is_attached_without_metadata(client, dispute_category):
    photo = io.BytesIO(_jpeg())
    photo.name = "photo.jpg"
    response = submit(client, dispute_category, photo=photo)
    assert response.status_code == 302, response.content.decode()[:2000]
    attachment = Attachment.objects.get()
    assert attachment.is_public and attachment.content_type == "image/jpeg"


def test_the_form_is_rate_limited_per_address(client, dispute_category, settings):
    cache.clear()
    settings.CASES_REPORT_RATE = "2/h"
    statuses = [submit(client, dispute_category).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    assert Case.objects.count() == 2


def test_the_limiter_fails_closed(client, dispute_category, monkeypatch):
    class BrokenCache:
        def add(self, *args, **kwargs):
            raise ConnectionError("cache down")

        incr = add

    monkeypatch.setattr(ratelimit, "cache", BrokenCache())
    assert submit(client, dispute_category).status_code == 429
    assert not Case.objects.exists()


def test_no_timeline_step_leaks_internal_actions(
    client, dispute_category, village_mediator_fengyuan
):
    case = report(dispute_category, region_code=FENGYUAN_VILLAGE)
    services.accept_case(
        case, actor=village_mediator_fengyuan.user, membership=village_mediator_fengyuan.membership
    )
    services.add_note(
        case,
        actor=village_mediator_fengyuan.user,
        membership=village_mediator_fengyuan.membership,
        body="内部：当事人有前科",
        is_public=False,
    )
    services.add_note(
        case,
        actor=village_mediator_fengyuan.user,
        membership=village_mediator_fengyuan.membership,
        body="已安排调解员上门",
        is_public=True,
    )
    html = client.get(f"/track/{case.code}/{case.tracking_token}/").content.decode()
    assert "已安排调解员上门" in html
    assert "内部" not in html
    assert village_mediator_fengyuan.user.username not in html
    assert str(Action.ACCEPT) not in html
