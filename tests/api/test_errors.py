"""API errors are structured ``{code, message, errors?}`` with Chinese messages (SECURITY 11, 12).

API v1 takes no request bodies yet, so the write path (session auth with CSRF, StrictSchema
bodies) is exercised through a small probe API mounted only for these tests: it uses the
product's own auth classes, input base class and error handlers, so a regression in any of them
shows here before the first writing endpoint ships.
"""

from __future__ import annotations

import pydantic
import pytest
from django.conf import settings
from django.test import Client
from django.urls import include, path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from fengqiao.api import v1
from fengqiao.api.auth import STAFF_AUTH
from fengqiao.api.schemas import StrictSchema

pytestmark = pytest.mark.django_db


class NoteIn(StrictSchema):
    text: str
    priority: int = 0


probe_api = NinjaAPI(urls_namespace="api-test-probe", auth=STAFF_AUTH, docs_url=None)
probe_api.add_exception_handler(HttpError, v1.on_http_error)
probe_api.add_exception_handler(ValidationError, v1.on_validation_error)
probe_api.add_exception_handler(AuthenticationError, v1.on_auth_error)


@probe_api.post("/notes")
def create_note(request, payload: NoteIn):
    return {"text": payload.text, "priority": payload.priority}


# Used as ROOT_URLCONF by the tests marked ``urls``: the product plus the probe under /api/.
urlpatterns = [
    path("api/test-probe/", probe_api.urls),
    path("", include("fengqiao.urls")),
]

with_probe = pytest.mark.urls(__name__)


def _csrf_client(persona) -> Client:
    """The persona's verified session in a client that enforces CSRF like a browser."""
    client = Client(enforce_csrf_checks=True)
    client.cookies = persona.client.cookies
    return client


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    # People read the message: it is Chinese, not an English default.
    assert any("\u4e00" <= char <= "\u9fff" for char in body["message"]), body["message"]
    return body


# --- the product's endpoints ------------------------------------------------------------------


def test_unknown_region_code_is_404_not_found(town_operator_fengqiao):
    response = town_operator_fengqiao.client.get("/api/v1/regions/330681999")

    assert _assert_error(response, 404, "not_found") == {"code": "not_found", "message": "未找到"}


def test_unknown_unit_is_404_not_found(town_operator_fengqiao):
    response = town_operator_fengqiao.client.get(
        "/api/v1/units/00000000-0000-0000-0000-000000000001"
    )

    _assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("url", "field", "error_code"),
    [
        ("/api/v1/units?limit=abc", "query.limit", "int_parsing"),
        ("/api/v1/units?region=33x", "query.region", "string_pattern_mismatch"),
        ("/api/v1/units?kind=bakery", "query.kind", "enum"),
        ("/api/v1/units/not-a-uuid", "path.public_id", "uuid_parsing"),
    ],
)
def test_bad_parameters_are_422_with_the_field(town_operator_fengqiao, url, field, error_code):
    response = town_operator_fengqiao.client.get(url)

    body = _assert_error(response, 422, "validation_error")
    assert body["message"] == "请求数据有误"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [(field, error_code)]


def test_anonymous_call_is_401_unauthenticated(client):
    _assert_error(client.get("/api/v1/units"), 401, "unauthenticated")


def test_every_request_body_in_the_schema_forbids_unknown_fields(client):
    """A body schema not built on StrictSchema would accept fields nobody declared."""
    schema = client.get("/api/v1/openapi.json").json()
    components = schema["components"]["schemas"]
    loose = []
    for route, item in schema["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                ref = media["schema"].get("$ref", "")
                target = components.get(ref.rsplit("/", 1)[-1], media["schema"])
                if target.get("additionalProperties") is not False:
                    loose.append(f"{method.upper()} {route}")
    assert not loose, loose


# --- StrictSchema -----------------------------------------------------------------------------


def test_strict_schema_rejects_undeclared_fields():
    assert NoteIn(text="噪音扰民").text == "噪音扰民"
    with pytest.raises(pydantic.ValidationError) as excinfo:
        NoteIn(text="噪音扰民", is_admin=True)
    assert [(e["loc"], e["type"]) for e in excinfo.value.errors()] == [
        (("is_admin",), "extra_forbidden")
    ]


@with_probe
def test_unknown_json_field_is_422_naming_the_field(town_operator_fengqiao):
    response = town_operator_fengqiao.client.post(
        "/api/test-probe/notes",
        {"text": "噪音扰民", "region_code": "330600"},
        content_type="application/json",
    )

    body = _assert_error(response, 422, "validation_error")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("region_code", "extra_forbidden")]


@with_probe
def test_declared_fields_are_accepted(town_operator_fengqiao):
    response = town_operator_fengqiao.client.post(
        "/api/test-probe/notes", {"text": "噪音扰民"}, content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json() == {"text": "噪音扰民", "priority": 0}


# --- CSRF on session writes -------------------------------------------------------------------


@with_probe
def test_session_write_without_csrf_token_is_refused(town_operator_fengqiao):
    client = _csrf_client(town_operator_fengqiao)

    response = client.post(
        "/api/test-probe/notes", {"text": "噪音扰民"}, content_type="application/json"
    )

    _assert_error(response, 403, "forbidden")


@with_probe
def test_session_write_with_csrf_token_is_accepted(town_operator_fengqiao):
    client = _csrf_client(town_operator_fengqiao)
    # A page visit hands the browser its CSRF cookie, as a real form would.
    client.get("/workbench/")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value

    response = client.post(
        "/api/test-probe/notes",
        {"text": "噪音扰民"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 200


def test_session_reads_need_no_csrf_token(town_operator_fengqiao):
    assert _csrf_client(town_operator_fengqiao).get("/api/v1/me").status_code == 200


def test_unsupported_method_is_a_structured_405(town_operator_fengqiao):
    response = town_operator_fengqiao.client.delete("/api/v1/me")

    _assert_error(response, 405, "method_not_allowed")
