"""The reporter's pages: anonymous, cookieless, no referrer, stateless CSRF, one answer for every
wrong receipt, and the loop tip → receipt → status → reply → opinion."""

from __future__ import annotations

import io
import re

import pytest
from django.urls import reverse
from PIL import Image

from fengqiao.regions.models import Unit, UnitKind
from fengqiao.tips import receipts, services
from fengqiao.tips.models import Direction, Status, Tip, TipMessage
from fengqiao.tips.views import antiforgery
from fengqiao.tips.views.public import WRONG_RECEIPT
from personas import FENGQIAO_TOWN, FENGYUAN_VILLAGE, ZHUJI

from .factories import DESCRIPTION, file_tip

pytestmark = pytest.mark.django_db

SAME_ORIGIN = {"HTTP_SEC_FETCH_SITE": "same-origin"}
RECEIPT = re.compile(r"\d{4}-\d{4}-\d{4}-\d{4}-\d{4}-\d")


def assert_no_trace(response) -> None:
    """No cookie of any kind, no referrer, not cached."""
    assert not response.cookies, dict(response.cookies)
    assert not response.has_header("Set-Cookie")
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "image/png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


def tip_data(**values) -> dict:
    data = {
        "form_token": antiforgery.form_token("report"),
        "category": "industry_monopoly",
        "county": ZHUJI,
        "town": FENGQIAO_TOWN,
        "village": FENGYUAN_VILLAGE,
        "place_text": "村口桥头",
        "description": DESCRIPTION,
        "accused-TOTAL_FORMS": "2",
        "accused-INITIAL_FORMS": "0",
        "accused-MIN_NUM_FORMS": "0",
        "accused-MAX_NUM_FORMS": "20",
        "accused-0-name": "张三",
        "accused-0-nickname": "三哥",
        "accused-0-occupation": "包工头",
        "accused-1-name": "李四",
        "accused-1-id_number": "11010519491231002X",
    }
    data.update(values)
    return {key: value for key, value in data.items() if value is not None}


def post_tip(client, headers=SAME_ORIGIN, **values):
    return client.post(reverse("tips_public:report"), tip_data(**values), **headers)


def receipt_of(response) -> str:
    match = RECEIPT.search(response.content.decode())
    assert match, "no receipt on the page"
    return match.group(0)


def lookup(client, receipt: str):
    data = {"form_token": antiforgery.form_token("lookup"), "receipt": receipt}
    return client.post(reverse("tips_public:lookup"), data, **SAME_ORIGIN)


def strip_tokens(html: str) -> str:
    return re.sub(r'name="form_token" value="[^"]*"', "", html)


# --- anonymous, cookieless pages ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["about", "report", "lookup"])
def test_public_pages_open_anonymously_and_leave_no_cookie(client, name):
    response = client.get(reverse(f"tips_public:{name}"))
    assert response.status_code == 200
    assert_no_trace(response)
    html = response.content.decode()
    assert "csrfmiddlewaretoken" not in html and "X-CSRFToken" not in html
    assert "<script>" not in html and " style=" not in html
    assert "set_language" not in html and "/i18n/" not in html


def test_explanation_page_lists_the_categories_and_what_is_kept(client):
    html = client.get(reverse("tips_public:about")).content.decode()
    assert "欺行霸市" in html or "强迫交易" in html
    assert "回执" in html
    assert "匿名" in html and "真实姓名" in html


def test_a_logged_in_staff_member_on_the_tip_line_gets_no_session_cookie(police_fengqiao):
    for name in ("about", "report", "lookup"):
        response = police_fengqiao.client.get(reverse(f"tips_public:{name}"))
        assert response.status_code == 200
        assert_no_trace(response)


def test_region_picker_lists_children_without_cookies(client):
    towns = client.get(reverse("tips_public:regions"), {"county": ZHUJI})
    assert FENGQIAO_TOWN in towns.content.decode()
    assert_no_trace(towns)
    villages = client.get(reverse("tips_public:regions"), {"town": FENGQIAO_TOWN})
    assert FENGYUAN_VILLAGE in villages.content.decode()


# --- filing a tip -------------------------------------------------------------------------------


def test_an_anonymous_tip_with_accused_and_a_picture_answers_with_its_receipt(client):
    response = post_tip(client, files=[upload("IMG_20260301_081522.png", png_bytes())])
    assert response.status_code == 200, response.content.decode()[:2000]
    assert_no_trace(response)
    receipt = receipt_of(response)
    html = response.content.decode()
    assert "只显示这一次" in html or "只显示一次" in html
    tip = Tip.objects.unscoped_all().get()
    # The server keeps only the HMAC: the receipt opens the tip, and is stored nowhere.
    assert tip.receipt_hmac == receipts.digest(receipts.canonical(receipt))
    assert receipts.canonical(receipt) not in tip.receipt_hmac
    assert tip.region_code == FENGYUAN_VILLAGE
    assert tip.channel == "web" and not tip.is_real_name
    assert [a.name for a in tip.accused.order_by("id")] == ["张三", "李四"]
    attachment = tip.attachments.get()
    assert attachment.filename == "1.png" and attachment.content_type == "image/png"
    assert services.find_by_receipt(receipt).pk == tip.pk


def test_the_page_token_is_what_the_form_posts(client):
    page = client.get(reverse("tips_public:report")).content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    response = post_tip(client, form_token=token)
    assert response.status_code == 200
    assert RECEIPT.search(response.content.decode())


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_SEC_FETCH_SITE": "cross-site"},
        {"HTTP_SEC_FETCH_SITE": "same-site"},
        {"HTTP_ORIGIN": "null"},
        {"HTTP_ORIGIN": "https://evil.example"},
    ],
    ids=["no-headers", "cross-site", "same-site", "origin-null", "other-origin"],
)
def test_a_post_from_another_site_files_nothing(client, headers):
    response = post_tip(client, headers=headers)
    assert response.status_code == 403
    assert_no_trace(response)
    assert not Tip.objects.unscoped_all().exists()


def test_an_origin_of_this_site_passes_without_fetch_metadata(client):
    response = post_tip(client, headers={"HTTP_ORIGIN": "http://testserver"})
    assert response.status_code == 200
    assert Tip.objects.unscoped_all().count() == 1


@pytest.mark.parametrize("token", ["", "forged", "__other_form__"])
def test_a_stale_or_forged_token_shows_the_form_back_and_files_nothing(client, token):
    if token == "__other_form__":
        token = antiforgery.form_token("lookup")
    response = post_tip(client, form_token=token)
    assert response.status_code == 400
    assert_no_trace(response)
    html = response.content.decode()
    assert DESCRIPTION in html  # the reporter's words are not lost
    assert not Tip.objects.unscoped_all().exists()


def test_an_expired_token_is_stale(client, settings, monkeypatch):
    token = antiforgery.form_token("report")
    monkeypatch.setattr(antiforgery, "FORM_TOKEN_MAX_AGE", -1)
    response = post_tip(client, form_token=token)
    assert response.status_code == 400
    assert not Tip.objects.unscoped_all().exists()


def test_a_wrong_id_number_is_shown_on_its_accused_row(client):
    response = post_tip(client, **{"accused-1-id_number": "110105194912310021"})
    assert response.status_code == 400
    assert_no_trace(response)
    assert "身份证" in response.content.decode()
    assert not Tip.objects.unscoped_all().exists()


def test_a_document_is_refused_with_its_reason(client):
    pdf = upload("举报材料.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n", "application/pdf")
    response = post_tip(client, files=[pdf])
    assert response.status_code == 400
    assert "拍照" in response.content.decode() or "截图" in response.content.decode()
    assert not Tip.objects.unscoped_all().exists()


def test_a_place_given_as_text_only_goes_to_the_city(client):
    response = post_tip(client, county="", town="", village="", place_text="越城区某菜市场")
    assert response.status_code == 200
    tip = Tip.objects.unscoped_all().get()
    assert tip.region.level == "city"


def test_neither_a_region_nor_a_place_is_refused(client):
    response = post_tip(client, county="", town="", village="", place_text="")
    assert response.status_code == 400
    assert not Tip.objects.unscoped_all().exists()


def test_a_tip_naming_town_officials_bypasses_the_town(client):
    response = post_tip(
        client, officials_involved="on", officials_level="town", officials_text="镇派出所某副所长"
    )
    assert response.status_code == 200
    tip = Tip.objects.unscoped_all().get()
    assert tip.officials_involved and tip.bypass_prefix == FENGQIAO_TOWN
    assert (
        tip.routed_unit.kind == UnitKind.ANTI_GANG_OFFICE and tip.routed_unit.region_code == ZHUJI
    )
    assert tip.discipline_unit.kind == UnitKind.DISCIPLINE_COMMISSION
    police = Unit.objects.get(kind=UnitKind.POLICE_STATION, region__code=FENGQIAO_TOWN)
    assert services.bypass_blocks(police, tip)


def test_real_name_needs_the_box_ticked(client):
    response = post_tip(client, reporter_name="王五")
    assert response.status_code == 400
    assert not Tip.objects.unscoped_all().exists()
    response = post_tip(
        client, is_real_name="on", reporter_name="王五", reporter_contact="13812345678"
    )
    assert response.status_code == 200
    tip = Tip.objects.unscoped_all().get()
    assert tip.is_real_name and tip.reporter_name == "王五"


# --- checking back ------------------------------------------------------------------------------


def test_lookup_shows_the_status_in_citizen_words_and_handler_messages(client, anti_gang_zhuji):
    submission = file_tip()
    services.send_message(submission.tip, membership=anti_gang_zhuji.membership, body="请问时间？")
    response = lookup(client, submission.receipt)
    assert response.status_code == 200
    assert_no_trace(response)
    html = response.content.decode()
    assert str(submission.tip.citizen_status()) in html
    assert "请问时间？" in html
    assert submission.tip.reference not in html  # no internal reference, no unit, no staff name
    assert "扫黑办" not in html and anti_gang_zhuji.user.username not in html


def test_every_wrong_receipt_gets_the_same_answer(client):
    submission = file_tip()
    digits = receipts.canonical(submission.receipt)
    unknown_body = ("1" if digits[0] != "1" else "2") + digits[1:20]
    wrong = [
        "4711",  # malformed
        digits[:20] + str((int(digits[20]) + 1) % 10),  # wrong check digit
        unknown_body + receipts.luhn_check_digit(unknown_body),  # well formed, no such tip
        "abcd-efgh-ijkl-mnop-qrst-u",
    ]
    bodies = set()
    for receipt in wrong:
        response = lookup(client, receipt)
        assert response.status_code == 400
        assert_no_trace(response)
        html = response.content.decode()
        assert str(WRONG_RECEIPT) in html
        assert receipt not in html  # what was typed is not echoed back
        bodies.add(strip_tokens(html))
    assert len(bodies) == 1


def test_a_receipt_typed_with_spaces_and_full_width_digits_works(client):
    submission = file_tip()
    digits = receipts.canonical(submission.receipt)
    typed = " ".join(digits[i : i + 4] for i in range(0, 21, 4))
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in typed.replace(" ", ""))
    assert lookup(client, typed).status_code == 200
    assert lookup(client, full_width).status_code == 200


def test_the_reporter_answers_and_adds_material_while_the_tip_is_open(client):
    submission = file_tip()
    data = {
        "form_token": antiforgery.form_token("reply"),
        "receipt": submission.receipt,
        "body": "事情发生在三月一日晚上。",
        "files": [upload("photo.png", png_bytes())],
    }
    response = client.post(reverse("tips_public:reply"), data, **SAME_ORIGIN)
    assert response.status_code == 200
    assert_no_trace(response)
    assert "事情发生在三月一日晚上。" in response.content.decode()
    message = TipMessage.objects.get(tip=submission.tip)
    assert message.direction == Direction.FROM_REPORTER
    assert submission.tip.attachments.filter(message=message).count() == 1


def test_an_empty_reply_is_refused(client):
    submission = file_tip()
    data = {"form_token": antiforgery.form_token("reply"), "receipt": submission.receipt}
    response = client.post(reverse("tips_public:reply"), data, **SAME_ORIGIN)
    assert response.status_code == 400
    assert not TipMessage.objects.exists()


def test_a_reply_with_a_wrong_receipt_gets_the_constant_answer(client):
    data = {"form_token": antiforgery.form_token("reply"), "receipt": "1234", "body": "x"}
    response = client.post(reverse("tips_public:reply"), data, **SAME_ORIGIN)
    assert response.status_code == 400
    assert str(WRONG_RECEIPT) in response.content.decode()


def test_a_reply_from_another_site_is_refused(client):
    submission = file_tip()
    data = {
        "form_token": antiforgery.form_token("reply"),
        "receipt": submission.receipt,
        "body": "x",
    }
    response = client.post(reverse("tips_public:reply"), data, HTTP_SEC_FETCH_SITE="cross-site")
    assert response.status_code == 403
    assert not TipMessage.objects.exists()


def test_the_reporter_gives_an_opinion_once_action_was_taken(client, anti_gang_zhuji):
    submission = file_tip()
    Tip.objects.filter(pk=submission.tip.pk).update(status=Status.DISPOSED, disposal="case_opened")
    page = lookup(client, submission.receipt).content.decode()
    assert 'name="opinion"' in page
    data = {
        "form_token": antiforgery.form_token("opinion"),
        "receipt": submission.receipt,
        "opinion": "satisfied",
        "comment": "处理及时",
    }
    response = client.post(reverse("tips_public:opinion"), data, **SAME_ORIGIN)
    assert response.status_code == 200
    assert Tip.objects.unscoped_all().get().opinion == "satisfied"
    data["opinion"] = "dissatisfied"
    again = client.post(reverse("tips_public:opinion"), data, **SAME_ORIGIN)
    assert again.status_code == 400  # once only
    assert Tip.objects.unscoped_all().get().opinion == "satisfied"


def test_lookups_are_rate_limited_and_say_so(client, settings):
    settings.TIPS_LOOKUP_RATE = "2/m"
    assert lookup(client, "1").status_code == 400
    assert lookup(client, "2").status_code == 400
    response = lookup(client, "3")
    assert response.status_code == 429
    assert_no_trace(response)
    assert response["Retry-After"]


def test_submissions_are_rate_limited(client, settings):
    settings.TIPS_SUBMIT_RATE = "1/m"
    assert post_tip(client).status_code == 200
    response = post_tip(client)
    assert response.status_code == 429
    assert Tip.objects.unscoped_all().count() == 1
