"""Open311 GeoReport v2 conformance at /open311/v2/: documents, keys, windows, paging, errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone

from fengqiao.api import open311, open311_documents
from fengqiao.api import services as key_services
from fengqiao.cases import services
from fengqiao.cases.models import Case, Category, Channel, PartyRole
from personas import FENGYUAN_VILLAGE, SHAOXING

pytestmark = pytest.mark.django_db

BASE = "/open311/v2"
REQUEST_ELEMENTS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


@pytest.fixture
def api_key() -> str:
    _client, raw = key_services.create_client(
        name="12345 热线平台", region_code=SHAOXING, actor=None, membership=None
    )
    return raw


def xml_of(response) -> ET.Element:
    assert response["Content-Type"].startswith("text/xml"), response["Content-Type"]
    return ET.fromstring(response.content)


def assert_error_doc(response, status: int, fmt: str) -> str:
    """The spec's error document in ``fmt``; returns its description."""
    assert response.status_code == status, response.content
    if fmt == "json":
        assert response["Content-Type"].startswith("application/json")
        body = response.json()
        assert isinstance(body, list) and len(body) == 1
        assert body[0]["code"] == status
        description = body[0]["description"]
    else:
        root = xml_of(response)
        assert root.tag == "errors"
        [error] = list(root)
        assert error.tag == "error"
        assert error.findtext("code") == str(status)
        description = error.findtext("description")
    assert description
    return description


def post_request(client, key: str | None, fmt: str = "json", **fields):
    data = {
        "service_code": "hazard.public_safety",
        "lat": "29.6345",
        "long": "120.3420",
        "address_string": "枫源村文化礼堂",
        "description": "礼堂门口路灯不亮",
        **fields,
    }
    if key is not None:
        data["api_key"] = key
    return client.post(f"{BASE}/requests.{fmt}", data)


def _case(category: str = "hazard.public_safety", **fields) -> Case:
    data = {
        "category": Category.objects.get(code=category),
        "channel": Channel.WALK_IN,
        "title": "路灯不亮",
        "description": "张三反映路灯不亮，电话13812345678",
        "region_code": FENGYUAN_VILLAGE,
        **fields,
    }
    return services.report_case(data=services.IntakeData(**data))


# --- discovery, services, definitions ---------------------------------------------------------


def test_discovery_in_both_formats(client):
    root = xml_of(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    endpoint = root.find("endpoints/endpoint")
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint.findtext("url").endswith("/open311/v2")
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]
    assert root.findtext("changeset").endswith("+08:00")

    body = client.get(f"{BASE}/discovery.json").json()
    assert body["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    assert body["endpoints"][0]["type"] == "production"
    assert body["contact"] and body["key_service"]


def test_services_list_reportable_categories(client):
    body = client.get(f"{BASE}/services.json").json()
    by_code = {service["service_code"]: service for service in body}
    hazard = by_code["hazard.public_safety"]
    assert hazard["metadata"] is True
    assert hazard["type"] == "realtime"
    assert hazard["group"] and hazard["service_name"]
    assert set(hazard) == {
        "service_code", "service_name", "description", "metadata", "type", "keywords", "group",
    }  # fmt: skip
    # Statistics classes are not reportable and are not offered.
    assert not [code for code in by_code if code.startswith("mstat.")]
    assert len(body) == Category.objects.reportable().count()

    root = xml_of(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    first = root.find("service")
    assert [child.tag for child in first] == [
        "service_code", "service_name", "description", "metadata", "type", "keywords", "group",
    ]  # fmt: skip
    assert first.findtext("metadata") == "true"


def test_service_definition_lists_its_attributes(client):
    body = client.get(f"{BASE}/services/dispute.neighbour.json").json()
    assert body["service_code"] == "dispute.neighbour"
    codes = [attribute["code"] for attribute in body["attributes"]]
    assert codes == ["urgency", "people_count", "may_turn_violent"]
    urgency = body["attributes"][0]
    assert urgency["datatype"] == "singlevaluelist"
    assert {value["key"] for value in urgency["values"]} == {"normal", "urgent"}

    root = xml_of(client.get(f"{BASE}/services/hazard.fire.xml"))
    assert root.tag == "service_definition"
    assert [a.findtext("code") for a in root.findall("attributes/attribute")] == [
        "urgency",
        "people_count",
    ]
    assert root.find("attributes/attribute/values/value/key").text == "normal"


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_unknown_service_definition_is_404_document(client, fmt):
    assert_error_doc(client.get(f"{BASE}/services/no.such.{fmt}"), 404, fmt)


# --- POST requests ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_post_without_or_with_a_bad_key_is_403(client, fmt):
    assert_error_doc(post_request(client, None, fmt), 403, fmt)
    assert_error_doc(post_request(client, "o311_000000000000_" + "A" * 43, fmt), 403, fmt)
    assert_error_doc(post_request(client, "not-a-key", fmt), 403, fmt)
    assert not Case.objects.exists()


def test_post_with_a_revoked_key_is_403(client):
    key_client, raw = key_services.create_client(
        name="旧平台", region_code=SHAOXING, actor=None, membership=None
    )
    key_services.revoke_client(client=key_client, actor=None, membership=None)

    assert_error_doc(post_request(client, raw), 403, "json")
    assert not Case.objects.exists()


def test_post_creates_a_case_through_the_open311_channel(client, api_key):
    response = post_request(
        client,
        api_key,
        first_name="三",
        last_name="张",
        phone="13812345678",
        email="zhang@example.com",
        media_url="https://example.com/photo.jpg",
        **{"attribute[urgency]": "urgent", "attribute[people_count]": "12"},
    )

    assert response.status_code == 201, response.content
    [answer] = response.json()
    case = Case.objects.get(code=answer["service_request_id"])
    assert answer["token"] == str(case.public_id)
    assert case.channel == Channel.OPEN311
    assert case.region_code.startswith("330681109")
    assert case.urgency == "urgent"
    assert case.people_count == 12
    assert case.external_ref.startswith("open311:")
    assert "https://example.com/photo.jpg" in case.description
    [party] = case.parties.all()
    assert party.role == PartyRole.REPORTER
    assert party.name == "张三"
    assert party.phone == "13812345678"
    # The key's use is recorded.
    assert key_services.authenticate_client(api_key).last_used_at is not None


def test_post_answers_in_xml(client, api_key):
    root = xml_of(post_request(client, api_key, "xml", address_id=FENGYUAN_VILLAGE))
    assert root.tag == "service_requests"
    request = root.find("request")
    assert Case.objects.filter(code=request.findtext("service_request_id")).exists()
    assert request.findtext("token")


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"service_code": ""}, "service_code"),
        ({"service_code": "no.such"}, "no.such"),
        ({"lat": "", "long": "", "address_string": ""}, "lat"),
        ({"lat": "abc"}, "lat"),
        ({"lat": "95"}, "lat"),
        ({"long": ""}, "long"),
        ({"description": " "}, "description"),
        ({"address_id": "33x"}, "address_id"),
        ({"phone": "12345"}, "phone"),
        ({"media_url": "file:///etc/passwd"}, "media_url"),
        ({"attribute[urgency]": "soon"}, "urgency"),
        ({"attribute[colour]": "red"}, "colour"),
        ({"attribute[people_count]": "-1"}, "people_count"),
    ],
)
def test_post_with_bad_input_is_400_naming_the_field(client, api_key, fields, fragment):
    description = assert_error_doc(post_request(client, api_key, **fields), 400, "json")
    assert fragment in description
    assert not Case.objects.exists()


def test_post_outside_the_territory_is_400(client, api_key):
    response = post_request(client, api_key, lat="39.9042", long="116.4074", address_string="")
    assert_error_doc(response, 400, "json")
    assert not Case.objects.exists()


def test_post_honours_idempotency_key(client, api_key):
    first = client.post(
        f"{BASE}/requests.json",
        {"api_key": api_key, "service_code": "hazard.fire", "address_id": FENGYUAN_VILLAGE,
         "description": "柴堆冒烟"},
        HTTP_IDEMPOTENCY_KEY="o311-1",
    )  # fmt: skip
    again = client.post(
        f"{BASE}/requests.json",
        {"api_key": api_key, "service_code": "hazard.fire", "address_id": FENGYUAN_VILLAGE,
         "description": "柴堆冒烟"},
        HTTP_IDEMPOTENCY_KEY="o311-1",
    )  # fmt: skip
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Case.objects.count() == 1
    conflict = client.post(
        f"{BASE}/requests.json",
        {"api_key": api_key, "service_code": "hazard.fire", "address_id": FENGYUAN_VILLAGE,
         "description": "另一件事"},
        HTTP_IDEMPOTENCY_KEY="o311-1",
    )  # fmt: skip
    assert_error_doc(conflict, 400, "json")
    assert Case.objects.count() == 1


# --- GET requests -----------------------------------------------------------------------------


def test_get_one_request_uses_the_spec_element_names_and_no_personal_data(client):
    case = _case()

    root = xml_of(client.get(f"{BASE}/requests/{case.code}.xml"))
    assert root.tag == "service_requests"
    [request] = list(root)
    assert request.tag == "request"
    assert [child.tag for child in request] == REQUEST_ELEMENTS
    assert request.findtext("service_request_id") == case.code
    assert request.findtext("status") == "open"
    assert request.findtext("service_code") == "hazard.public_safety"
    assert request.findtext("address_id") == FENGYUAN_VILLAGE
    assert "+08:00" in request.findtext("requested_datetime")

    [body] = client.get(f"{BASE}/requests/{case.code}.json").json()
    assert list(body) == REQUEST_ELEMENTS
    text = json.dumps(body, ensure_ascii=False)
    assert "13812345678" not in text and "张三" not in text
    assert body["description"] == ""


def test_get_request_hides_disputes_reported_elsewhere(client, api_key):
    dispute = _case("dispute.neighbour")
    assert_error_doc(client.get(f"{BASE}/requests/{dispute.code}.json"), 404, "json")
    listed = client.get(f"{BASE}/requests.json").json()
    assert dispute.code not in {item["service_request_id"] for item in listed}

    # A dispute posted through Open311 itself stays readable by its code.
    code = post_request(client, api_key, service_code="dispute.neighbour").json()[0][
        "service_request_id"
    ]
    assert client.get(f"{BASE}/requests/{code}.json").status_code == 200


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_unknown_request_is_404_document(client, fmt):
    assert_error_doc(client.get(f"{BASE}/requests/330681-20200101-00001.{fmt}"), 404, fmt)


def test_list_window_filters_and_paging(client):
    cases = [_case(title=f"第{i}件") for i in range(3)]
    fire = _case("hazard.fire")
    closed_codes = {c.code for c in cases[:1]}
    Case.objects.filter(code__in=closed_codes).update(status="closed")

    every = client.get(f"{BASE}/requests.json").json()
    assert [item["service_request_id"] for item in every] == [
        fire.code,
        *[c.code for c in reversed(cases)],
    ]
    page_two = client.get(f"{BASE}/requests.json", {"page_size": 2, "page": 2}).json()
    assert [item["service_request_id"] for item in page_two] == [c.code for c in cases[1::-1]]
    fires = client.get(f"{BASE}/requests.json", {"service_code": "hazard.fire"}).json()
    assert [item["service_request_id"] for item in fires] == [fire.code]
    closed = client.get(f"{BASE}/requests.json", {"status": "closed"}).json()
    assert {item["service_request_id"] for item in closed} == closed_codes
    assert {item["status"] for item in closed} == {"closed"}
    opened = client.get(f"{BASE}/requests.json", {"status": "open"}).json()
    assert len(opened) == 3
    by_ids = client.get(
        f"{BASE}/requests.json", {"service_request_id": f"{fire.code},{cases[0].code}"}
    ).json()
    assert {item["service_request_id"] for item in by_ids} == {fire.code, cases[0].code}

    now = timezone.localtime()
    old = client.get(
        f"{BASE}/requests.json",
        {
            "start_date": (now - timedelta(days=60)).isoformat(),
            "end_date": (now - timedelta(days=30)).isoformat(),
        },
    ).json()
    assert old == []
    recent = client.get(
        f"{BASE}/requests.xml", {"start_date": (now - timedelta(days=1)).date().isoformat()}
    )
    assert len(xml_of(recent).findall("request")) == 4


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-04-02T00:00:00+08:00"},
        {"start_date": "2026-03-01", "end_date": "2026-01-01"},
        {"start_date": "yesterday"},
        {"status": "pending"},
        {"page": "0"},
        {"page_size": "1000"},
        {"page": "x"},
    ],
)
def test_bad_list_parameters_are_400(client, params):
    assert_error_doc(client.get(f"{BASE}/requests.json", params), 400, "json")
    assert_error_doc(client.get(f"{BASE}/requests.xml", params), 400, "xml")


def test_ninety_days_exactly_is_allowed(client):
    response = client.get(
        f"{BASE}/requests.json",
        {"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-04-01T00:00:00+08:00"},
    )
    assert response.status_code == 200


# --- tokens -----------------------------------------------------------------------------------


def test_token_resolves_to_the_request(client, api_key):
    [answer] = post_request(client, api_key).json()

    [body] = client.get(f"{BASE}/tokens/{answer['token']}.json").json()
    assert body == {"service_request_id": answer["service_request_id"], "token": answer["token"]}
    root = xml_of(client.get(f"{BASE}/tokens/{answer['token']}.xml"))
    assert root.find("request/service_request_id").text == answer["service_request_id"]
    assert_error_doc(client.get(f"{BASE}/tokens/not-a-token.json"), 404, "json")
    assert_error_doc(
        client.get(f"{BASE}/tokens/00000000-0000-0000-0000-000000000001.xml"), 404, "xml"
    )


# --- errors: never an HTML page ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_wrong_method_is_a_405_document(client, fmt):
    response = client.put(f"{BASE}/discovery.{fmt}")
    assert_error_doc(response, 405, fmt)
    assert "GET" in response["Allow"]
    assert_error_doc(client.delete(f"{BASE}/requests.{fmt}"), 405, fmt)
    assert_error_doc(client.post(f"{BASE}/services.{fmt}"), 405, fmt)


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("/open311/v2/nothing.json", "json"),
        ("/open311/v2/services.html", "xml"),
        ("/open311/", "xml"),
        ("/open311/v3/discovery.json", "json"),
    ],
)
def test_unknown_paths_are_404_documents(client, path, fmt):
    assert_error_doc(client.get(path), 404, fmt)


def test_server_errors_are_500_documents(client, monkeypatch):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(open311, "_services", broken)
    assert_error_doc(client.get(f"{BASE}/services.json"), 500, "json")
    description = assert_error_doc(client.get(f"{BASE}/services.xml"), 500, "xml")
    assert "boom" not in description


def test_xml_escapes_markup_and_drops_characters_xml_cannot_carry():
    document = open311_documents.to_xml(
        "service_requests", [{"description": "<b>a & b</b>\x00\x07 ok", "lat": None}]
    )
    root = ET.fromstring(document)
    assert root.findtext("request/description") == "<b>a & b</b> ok"
    assert root.findtext("request/lat") == ""
    assert b"&lt;b&gt;a &amp; b" in document
