"""Fuzzing what anyone may reach without an account: Open311 GeoReport v2 and the public forms.

Hypothesis sends junk, near-misses and real values (codes, receipts, tokens and keys that exist)
to the Open311 endpoints and to the citizen report and tracking pages and the anonymous tip pages.
The bar: never a 5xx; Open311 answers GeoReport documents in the format asked for, errors as the
spec's error document and never an HTML page; a form answers a page showing its errors, a
redirect, the page refusing a cross-site post, or the rate limiter's 429.

Each test runs twice: with the shipped rate limits opened wide, so the fuzz reaches the forms, and
with limits of one request, so the refusals are fuzzed too. The example count is
``FENGQIAO_FUZZ_EXAMPLES`` (times ``PUBLIC_FACTOR``); generation is derandomised and hypothesis
keeps no example database, so every run sends the same requests and stores none of them.
"""

from __future__ import annotations

import io
import json
import os
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from fengqiao.api import services as key_services
from fengqiao.cases import services as case_services
from fengqiao.cases.models import Case, Category, Channel, Status
from fengqiao.tips import services as tip_services
from fengqiao.tips.models import Status as TipStatus
from fengqiao.tips.models import Tip
from fengqiao.tips.views import antiforgery
from personas import DIANKOU_TOWN, FENGQIAO_TOWN, FENGYUAN_VILLAGE, SHAOXING, ZHUJI

EXAMPLES = int(os.environ.get("FENGQIAO_FUZZ_EXAMPLES", "2"))
# Each test here covers one route family, so it gets more examples than one API operation does.
PUBLIC_FACTOR = 15

FUZZ = settings(
    max_examples=EXAMPLES * PUBLIC_FACTOR,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    # One database for all examples of a test (each example adds rows, as real traffic does).
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

pytestmark = pytest.mark.django_db

OPEN_LIMITS = {
    "CASES_REPORT_RATE": "100000/m",
    "CASES_REPORT_RATE_TOTAL": "100000/m",
    "CASES_TRACK_RATE": "100000/m",
    "TIPS_SUBMIT_RATE": "100000/m",
    "TIPS_LOOKUP_RATE": "100000/m",
    "TIPS_LOOKUP_PER_RECEIPT_RATE": "100000/m",
}
TIGHT_LIMITS = {name: "1/h" for name in OPEN_LIMITS}


@pytest.fixture(params=["open", "tight"])
def limits(request, settings):
    for name, value in (OPEN_LIMITS if request.param == "open" else TIGHT_LIMITS).items():
        setattr(settings, name, value)
    cache.clear()
    yield request.param
    cache.clear()


# --- strategies -----------------------------------------------------------------------------------

# Any text a client can send: no lone surrogates (they cannot be encoded on the wire at all).
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60)
NASTY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "0",
        "-1",
        "1e999",
        "NaN",
        "inf",
        "9" * 40,
        "<script>alert(1)</script>",
        "'; DROP TABLE cases_case; --",
        "../../etc/passwd",
        "%00",
        "枫桥",
        "\u202e",
        "a" * 400,
        "2026-02-30",
        "2026-01-01T25:00:00",
        "null",
        "[]",
        "{}",
    ]
)


def mostly(valid: st.SearchStrategy, *others: st.SearchStrategy) -> st.SearchStrategy:
    """``valid`` about three times in four, else one of ``others``: mostly-good input gets past
    the first check it meets, so the fuzz reaches the later ones."""
    # 0, where hypothesis starts and shrinks to, is the valid branch: a failure shrinks toward
    # good input with only the spoiled part left.
    return st.integers(0, 3).flatmap(lambda n: valid if n < 3 else st.one_of(*others))


def junk_or(*real: str) -> st.SearchStrategy:
    """Mostly a real value, else a nasty one or any text at all."""
    if not real:
        return st.one_of(NASTY, ANY_TEXT)
    return mostly(st.sampled_from(real), NASTY, ANY_TEXT)


# Numbers as text: any integer, or one at the edges where integer types overflow.
NUMBERS = st.one_of(
    st.sampled_from(["0", "-1", str(2**31), str(2**63), "9" * 20, "1e3", "1.5"]),
    st.integers().map(str),
)


def spoiled(
    valid: dict[str, str], **others: tuple[str, ...] | st.SearchStrategy
) -> st.SearchStrategy:
    """``valid`` with up to three fields replaced (by another value from ``others``: a tuple of
    real ones or a strategy; else a nasty value or any text) and up to two left out: about one
    body in four is untouched and goes through, the rest each meet the check of what they broke."""

    @st.composite
    def build(draw) -> dict[str, str]:
        body = dict(valid)
        names = st.sampled_from(sorted(valid))
        for name in draw(st.sets(names, max_size=3), label="spoiled"):
            options = [NASTY, ANY_TEXT]
            if isinstance(alternatives := others.get(name), st.SearchStrategy):
                options.insert(0, alternatives)
            elif alternatives:
                options.insert(0, st.sampled_from(alternatives))
            body[name] = draw(st.one_of(*options), label=name)
        for name in draw(st.sets(names, max_size=2), label="left out"):
            body.pop(name)
        return body

    return build()


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


UPLOADS = st.one_of(
    st.none(),
    st.builds(
        lambda name, content, kind: SimpleUploadedFile(name or "x", content, content_type=kind),
        st.sampled_from(["photo.png", "note.txt", "a.pdf", "x", "../../x.png", "照片.jpg"]),
        st.one_of(st.binary(max_size=200), st.just(png_bytes()), st.just(b"%PDF-1.4\n%%EOF\n")),
        st.sampled_from(["image/png", "text/plain", "application/pdf", "image/jpeg", ""]),
    ),
)

REGION_CODES = (ZHUJI, FENGQIAO_TOWN, FENGYUAN_VILLAGE, DIANKOU_TOWN, "330681109290001", "330100")


# --- the world --------------------------------------------------------------------------------------


@pytest.fixture
def world(db):
    """Real things to aim at: reportable categories, cases with tracking tokens (one closed, so
    it can be rated), tips with receipts in several states, and an Open311 key."""
    categories = list(Category.objects.reportable().order_by("code").values_list("code", flat=True))
    cases = []
    for code in (FENGYUAN_VILLAGE, FENGQIAO_TOWN):
        case = case_services.report_case(
            data=case_services.IntakeData(
                category=Category.objects.reportable().get(code=categories[0]),
                channel=Channel.OPEN311,
                title="模糊测试样例",
                description="模糊测试的样例案件",
                region_code=code,
            )
        )
        cases.append(case)
    # Test data only: a closed case, so its tracking page offers the rating form.
    Case.objects.filter(pk=cases[1].pk).update(status=Status.CLOSED)
    receipts = []
    for status in (TipStatus.RECEIVED, TipStatus.ASSIGNED, TipStatus.DISPOSED, TipStatus.CLOSED):
        submission = tip_services.submit_tip(description="模糊测试的样例线索", region_code=ZHUJI)
        Tip.objects.filter(pk=submission.tip.pk).update(status=status)
        receipts.append(submission.receipt)
    _client, api_key = key_services.create_client(
        name="模糊测试", region_code=SHAOXING, actor=None, membership=None
    )
    return {
        "categories": categories,
        "codes": [case.code for case in cases],
        "tokens": [str(case.public_id) for case in cases],
        "tracking": [(case.code, case.tracking_token) for case in cases],
        "receipts": receipts,
        "api_key": api_key,
    }


# --- Open311 ----------------------------------------------------------------------------------------

# Path templates, and which real identifiers belong in them.
OPEN311_PATHS = {
    "discovery": None,
    "services": None,
    "services/{code}": "categories",
    "requests": None,
    "requests/{code}": "codes",
    "tokens/{code}": "tokens",
    "{code}": "codes",
    "v3/services/{code}": "categories",
}


def _count(status: int) -> None:
    """Tally the answers (``--hypothesis-show-statistics``), to see the fuzz gets past the checks."""
    if currently_in_test_context():
        event(f"status {status}")


def assert_open311_document(response, fmt: str) -> None:
    """A GeoReport document in ``fmt``; an error is the spec's error document with its status."""
    assert response.status_code < 500, response.content[:500]
    _count(response.status_code)
    body = response.content
    if response.request["REQUEST_METHOD"] == "HEAD":
        return
    if fmt == "json":
        assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
        document = json.loads(body)
        if response.status_code >= 400:
            assert isinstance(document, list) and len(document) == 1, document
            assert document[0]["code"] == response.status_code
            assert document[0]["description"]
    else:
        assert response["Content-Type"].startswith("text/xml"), response["Content-Type"]
        root = ET.fromstring(body)
        if response.status_code >= 400:
            assert root.tag == "errors", body[:200]
            [error] = list(root)
            assert error.findtext("code") == str(response.status_code)
            assert error.findtext("description")


def _query_string(params: dict[str, str]) -> str:
    return "&".join(
        f"{quote(key, safe='')}={quote(value, safe='')}" for key, value in params.items()
    )


@given(data=st.data())
@FUZZ
def test_open311_reads_answer_georeport_documents(limits, world, data):
    draw = data.draw
    path = draw(st.sampled_from(sorted(OPEN311_PATHS)), "path")
    if pool := OPEN311_PATHS[path]:
        path = path.format(code=quote(draw(junk_or(*world[pool]), "id"), safe="") or "x")
    fmt = draw(mostly(st.sampled_from(["json", "xml"]), st.sampled_from(["", "html", "json/"])))
    url = f"/open311/v2/{path}" + (f".{fmt}" if fmt else "")
    query = draw(st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=2), "query")
    method = draw(mostly(st.just("GET"), st.sampled_from(["HEAD", "POST", "PUT", "DELETE"])))
    response = Client().generic(method, url, QUERY_STRING=_query_string(query))
    # Anything not ending in .json asks for the spec's default, XML.
    assert_open311_document(response, "json" if url.rstrip("/").endswith(".json") else "xml")


@given(data=st.data(), fmt=st.sampled_from(["json", "xml"]))
@FUZZ
def test_open311_request_lists_answer_georeport_documents(limits, world, data, fmt):
    draw = data.draw
    query = draw(
        spoiled(
            {
                "start_date": "2026-01-01",
                "end_date": "2026-03-01T00:00:00+08:00",
                "status": "open",
                "service_code": world["categories"][0],
                "page": "1",
                "page_size": "100",
            },
            start_date=("2020-01-01", "2026-01-01T00:00:00Z", "2026-13-01", "2026-01-01 08:00"),
            end_date=("2026-01-02", "2026-06-01", "2025-01-01", "9999-12-31T23:59:59"),
            status=("closed", "open,closed", "opened"),
            service_code=tuple(world["categories"][:5]),
            page=NUMBERS,
            page_size=NUMBERS,
        ),
        "query",
    )
    if draw(st.booleans(), "by id"):
        ids = draw(st.lists(junk_or(*world["codes"]), max_size=120), "ids")
        query = {**query, "service_request_id": ",".join(ids)}
    response = Client().get(f"/open311/v2/requests.{fmt}", QUERY_STRING=_query_string(query))
    assert_open311_document(response, fmt)


@given(data=st.data(), fmt=st.sampled_from(["json", "xml"]))
@FUZZ
def test_open311_post_answers_a_request_or_an_error_document(limits, world, data, fmt):
    draw = data.draw
    valid = {
        "api_key": world["api_key"],
        "service_code": world["categories"][0],
        "lat": "29.6345",
        "long": "120.342",
        "address_string": "枫源村文化礼堂",
        "address_id": FENGYUAN_VILLAGE,
        "description": "桥头路灯坏了，晚上很黑。",
        "media_url": "https://example.org/a.jpg",
        "first_name": "三",
        "last_name": "张",
        "phone": "13812345678",
        "attribute[urgency]": "urgent",
        "attribute[people_count]": "3",
        "attribute[may_turn_violent]": "false",
    }
    body = draw(
        spoiled(
            valid,
            api_key=("o311_000000000000_" + "A" * 43,),
            service_code=tuple(world["categories"]),
            lat=("-90", "90.0000001", "1e999", "NaN"),
            long=("180", "-180.5", "Infinity"),
            address_id=REGION_CODES,
            media_url=("javascript:alert(1)", "ftp://example.org/x", "https://" + "a" * 600),
            phone=("0575-87654321", "12345", "+86 138 1234 5678"),
            **{
                "attribute[urgency]": ("normal", "very"),
                "attribute[people_count]": NUMBERS,
                "attribute[may_turn_violent]": ("true", "yes"),
            },
        ),
        "body",
    )
    if draw(st.booleans(), "unknown attribute"):
        body["attribute[colour]"] = "red"
    headers = {}
    if draw(st.booleans(), "idempotency key"):
        key = draw(junk_or("3d9f7a2c-0c55-4e7e-9c0e-5a1f2b3c4d5e"), "key")
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    response = Client().post(f"/open311/v2/requests.{fmt}", body, **headers)
    assert_open311_document(response, fmt)
    if response.status_code == 201 and fmt == "json":
        assert json.loads(response.content)[0]["service_request_id"]


# --- the citizen's pages (cases) ---------------------------------------------------------------------


def assert_form_answer(response, *, forms: tuple[str, ...] = ("form",)) -> None:
    """A page showing the form's errors, a redirect, a refusal page, or the limiter's 429."""
    status = response.status_code
    assert status < 500, response.content[:500]
    _count(status)
    assert status in {200, 302, 400, 403, 404, 405, 429}, status
    if status in {302, 405}:
        return
    assert response["Content-Type"].startswith("text/html"), response["Content-Type"]
    if status == 400:
        context = response.context
        shown = [context.get(name) for name in forms if context.get(name) is not None]
        errors = [form for form in shown if not form.is_valid()]
        assert errors or context.get("wrong_receipt") or context.get("stale"), (
            "a 400 page without an error to show"
        )


@given(data=st.data())
@FUZZ
def test_case_report_form_answers_a_page_or_a_redirect(limits, world, data):
    draw = data.draw
    valid = {
        "category": world["categories"][0],
        "description": "村口的桥栏杆断了，很危险。",
        "county": ZHUJI,
        "town": FENGQIAO_TOWN,
        "village": FENGYUAN_VILLAGE,
        "place_text": "村口桥头",
        "latitude": "29.63",
        "longitude": "120.34",
        "contact_name": "张三",
        "contact_phone": "13812345678",
    }
    body = draw(
        spoiled(
            valid,
            category=tuple(world["categories"]),
            county=("330602", FENGQIAO_TOWN),
            town=(DIANKOU_TOWN, ZHUJI),
            village=("330681109290001", "330681104200"),
            latitude=("91", "-90", ""),
            longitude=("181", "", "120"),
            contact_phone=("0575-87654321", "1381234567", "+8613812345678"),
        ),
        "body",
    )
    if photo := draw(UPLOADS, "photo"):
        body["photo"] = photo
    method = draw(mostly(st.just("post"), st.sampled_from(["get", "put"])), "method")
    response = getattr(Client(), method)("/report/", body)
    assert_form_answer(response)
    if response.status_code == 302:
        assert response["Location"].startswith("/track/")


@given(data=st.data())
@FUZZ
def test_case_tracking_answers_a_page_a_redirect_or_404(limits, world, data):
    draw = data.draw
    code, token = draw(st.sampled_from(world["tracking"]), "case")
    route = draw(st.sampled_from(["track", "lookup", "regions"]), "route")
    client = Client()
    if route == "track":
        code = draw(mostly(st.just(code), st.just("330681-20260101-00001"), st.just(code + "9")))
        token = draw(mostly(st.just(token), st.just("A" * 16), st.just(token[::-1])))
        url = f"/track/{code}/{token}/"
        if draw(st.booleans(), "post"):
            rating = draw(
                spoiled(
                    {"satisfaction": "5", "comment": "很好"}, satisfaction=("1", "6", "0", "4.5")
                ),
                "rating",
            )
            response = client.post(url, rating)
        else:
            response = client.get(url, {"new": draw(junk_or("1"), "new")})
        assert_form_answer(response, forms=("rating_form",))
    elif route == "lookup":
        body = draw(spoiled({"code": code, "token": token}, token=("A" * 16,)), "body")
        response = client.post("/track/", body)
        assert_form_answer(response)
        if response.status_code == 302:
            assert response["Location"].startswith("/track/")
    else:
        query = {
            draw(st.sampled_from(["town", "county", "x"]), "key"): draw(junk_or(*REGION_CODES))
        }
        response = client.get("/report/regions/", query)
        _count(response.status_code)
        assert response.status_code in {200, 429}, response.status_code
        assert response["Content-Type"].startswith("text/html")


# --- the anonymous tip pages --------------------------------------------------------------------------

SAME_SITE = st.sampled_from(
    [{"HTTP_SEC_FETCH_SITE": "same-origin"}, {"HTTP_ORIGIN": "http://testserver"}]
)
CROSS_SITE = st.sampled_from(
    [
        {"HTTP_SEC_FETCH_SITE": "cross-site"},
        {"HTTP_SEC_FETCH_SITE": "none"},
        {"HTTP_ORIGIN": "null"},
        {"HTTP_ORIGIN": "https://evil.example"},
        {},
    ]
)
ORIGINS = mostly(SAME_SITE, CROSS_SITE)


def form_token(data, form: str) -> str:
    """Mostly the form's fresh token; else another form's, a forged one, or none."""
    other = "report" if form != "report" else "lookup"
    return data.draw(
        mostly(
            st.builds(antiforgery.form_token, st.just(form)),
            st.builds(antiforgery.form_token, st.just(other)),
            st.builds(lambda: antiforgery.form_token(form)[:-2] + "xx"),
            st.sampled_from(["", "x" * 300]),
        ),
        label="form_token",
    )


@given(data=st.data())
@FUZZ
def test_tip_form_answers_a_receipt_or_a_page_with_errors(limits, world, data):
    draw = data.draw
    valid = {
        "category": "industry_monopoly",
        "county": ZHUJI,
        "town": FENGQIAO_TOWN,
        "village": FENGYUAN_VILLAGE,
        "place_text": "村口桥头",
        "description": "有人在村里放高利贷，暴力催收。",
        "officials_involved": "on",
        "officials_level": "village",
        "officials_text": "村主任",
        "is_real_name": "on",
        "reporter_name": "李四",
        "reporter_contact": "13812345678",
        "accused-TOTAL_FORMS": "1",
        "accused-INITIAL_FORMS": "0",
        "accused-MIN_NUM_FORMS": "0",
        "accused-MAX_NUM_FORMS": "20",
        "accused-0-name": "王五",
        "accused-0-id_number": "11010519491231002X",
        "accused-0-age": "40",
    }
    body = draw(
        spoiled(
            valid,
            category=("other", "violence", "corruption"),
            county=("330602",),
            town=(DIANKOU_TOWN,),
            officials_level=("town", "county", "city", "province"),
            **{
                "accused-TOTAL_FORMS": NUMBERS,
                "accused-INITIAL_FORMS": NUMBERS,
                "accused-0-id_number": ("110105194912310021", "123"),
            },
        ),
        "body",
    )
    body["form_token"] = form_token(data, "report")
    if upload := draw(UPLOADS, "file"):
        body["files"] = upload
    response = Client().post("/tips/public/report/", body, **draw(ORIGINS, "origin"))
    assert_form_answer(response, forms=("form", "accused"))
    assert not response.cookies


@given(data=st.data())
@FUZZ
def test_tip_lookup_reply_and_opinion_answer_pages(limits, world, data):
    draw = data.draw
    route = draw(st.sampled_from(["lookup", "reply", "opinion"]), "route")
    receipts = world["receipts"]
    valid = {"receipt": draw(st.sampled_from(receipts), "receipt")}
    if route == "reply":
        valid["body"] = "补充一张照片。"
    elif route == "opinion":
        valid.update(opinion="satisfied", comment="谢谢")
    body = draw(
        spoiled(
            valid,
            receipt=(receipts[0].replace("-", ""), receipts[0][:-1] + "0", " " + receipts[1]),
            opinion=("dissatisfied", "not_given"),
        ),
        "body",
    )
    body["form_token"] = form_token(data, route)
    if route == "reply" and (upload := draw(UPLOADS, "file")):
        body["files"] = upload
    path = {"lookup": "/tips/public/lookup/", "reply": "/tips/public/lookup/reply/"}.get(
        route, "/tips/public/lookup/opinion/"
    )
    method = draw(mostly(st.just("post"), st.just("get")), "method")
    response = getattr(Client(), method)(path, body, **draw(ORIGINS, "origin"))
    assert_form_answer(response, forms=("form", "reply_form", "opinion_form"))
    assert not response.cookies


# --- what the fuzzing found, pinned -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/open311/v2/%0A", "/open311/v2/a%0Ab.json"])
def test_a_newline_in_an_open311_path_is_an_error_document_not_an_html_page(path):
    response = Client().get(path)
    assert_open311_document(response, "json" if path.endswith(".json") else "xml")
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["1000001", str(2**63)])
def test_a_page_beyond_any_list_is_400_not_an_overflow(page):
    """A page past 2**63 / page_size overflowed the database's integers into a 503."""
    response = Client().get("/open311/v2/requests.json", {"page": page})
    assert_open311_document(response, "json")
    assert response.status_code == 400


@pytest.mark.django_db
def test_the_nul_character_is_an_error_document_or_no_region():
    """PostgreSQL refuses U+0000 in text: these reached a query as a 503 and a 500 there."""
    listed = Client().get("/open311/v2/requests.json", {"service_request_id": "\x00"})
    assert_open311_document(listed, "json")
    assert listed.status_code == 400
    posted = Client().post("/open311/v2/requests.xml", {"description": "\x00"})
    assert_open311_document(posted, "xml")
    assert posted.status_code == 400
    for path in ("/report/regions/", "/tips/public/report/regions/"):
        response = Client().get(path, {"town": "\x00"})
        assert response.status_code == 200
