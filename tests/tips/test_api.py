"""The tip line over the JSON API: the reporter's routes, idempotency, rate limits that fail
closed, and the handlers' loop."""

from __future__ import annotations

import base64
import io
import uuid
from unittest import mock

import pytest
from django.core.cache import cache
from openpyxl import load_workbook

from fengqiao.core.models import AuditEvent
from fengqiao.regions.models import Unit, UnitKind
from fengqiao.tips.models import Status, Tip
from personas import FENGQIAO_TOWN, ZHUJI

pytestmark = pytest.mark.django_db

MINIMAL = {"description": "有人在村里放高利贷，暴力催收。", "region_code": "330681109"}
JSON = "application/json"


def post(client, path: str, body: dict | None = None, **extra):
    return client.post(path, body or {}, content_type=JSON, **extra)


def submit(client, body: dict | None = None, **extra):
    return post(client, "/api/v1/tips", body or MINIMAL, **extra)


def unit(kind: str, code: str) -> Unit:
    return Unit.objects.get(kind=kind, region__code=code)


# --- the schema ---------------------------------------------------------------------------


def test_every_tip_operation_is_in_the_openapi_schema_and_intake_needs_no_auth(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert {"/api/v1/tips", "/api/v1/tips/lookup", "/api/v1/tips/{public_id}"} <= set(paths)
    for path in ("/api/v1/tips/lookup", "/api/v1/tips/lookup/reply", "/api/v1/tips/lookup/opinion"):
        assert not paths[path]["post"].get("security")
    assert not paths["/api/v1/tips"]["post"].get("security")
    assert paths["/api/v1/tips"]["get"]["security"]
    assert paths["/api/v1/tips/{public_id}/accept"]["post"]["security"]


# --- the reporter -------------------------------------------------------------------------


def test_the_minimal_body_files_a_tip_and_answers_only_the_receipt(client):
    response = submit(client)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"receipt"} and len(body["receipt"]) == 26
    tip = Tip.objects.get()
    assert tip.channel == "api" and tip.description == MINIMAL["description"]
    lookup = post(client, "/api/v1/tips/lookup", {"receipt": body["receipt"]})
    assert lookup.status_code == 200
    assert lookup.json()["status"] == Status.RECEIVED and lookup.json()["status_text"]


def test_unknown_fields_and_bad_values_are_refused_with_the_field_named(client):
    extra = submit(client, {**MINIMAL, "ip": "1.2.3.4"})
    assert extra.status_code == 422 and extra.json()["code"] == "validation_error"
    missing = submit(client, {"description": "x"})
    assert missing.status_code == 422
    unknown_region = submit(client, {**MINIMAL, "region_code": "330681999"})
    assert unknown_region.status_code == 422
    assert unknown_region.json()["errors"][0]["field"] == "region_code"
    bad_file = submit(
        client, {**MINIMAL, "attachments": [{"filename": "a.pdf", "content_base64": "JVBERi0x"}]}
    )
    assert bad_file.status_code == 422
    assert not Tip.objects.exists()


def test_a_picture_can_be_sent_base64_encoded(client):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    encoded = base64.b64encode(buffer.getvalue()).decode()
    response = submit(
        client, {**MINIMAL, "attachments": [{"filename": "x.png", "content_base64": encoded}]}
    )
    assert response.status_code == 201
    assert Tip.objects.get().attachments.get().content_type == "image/png"


def test_idempotency_key_replays_the_receipt_and_refuses_a_changed_body(client):
    key = str(uuid.uuid4())
    first = submit(client, HTTP_IDEMPOTENCY_KEY=key)
    again = submit(client, HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and Tip.objects.count() == 1
    changed = submit(client, {**MINIMAL, "description": "另一件事"}, HTTP_IDEMPOTENCY_KEY=key)
    assert changed.status_code == 422 and changed.json()["code"] == "idempotency_conflict"
    short = submit(client, HTTP_IDEMPOTENCY_KEY="1")
    assert short.status_code == 422 and short.json()["code"] == "invalid_idempotency_key"
    assert Tip.objects.count() == 1


def test_the_reporter_replies_and_gives_an_opinion(client, anti_gang_zhuji, police_fengqiao):
    receipt = submit(client).json()["receipt"]
    tip = Tip.objects.get()
    reply = post(client, "/api/v1/tips/lookup/reply", {"receipt": receipt, "body": "补充：有借条"})
    assert reply.status_code == 201 and reply.json()["messages"][-1]["sender"] == "you"
    early = post(
        client, "/api/v1/tips/lookup/opinion", {"receipt": receipt, "opinion": "satisfied"}
    )
    assert early.status_code == 409 and early.json()["code"] == "no_opinion_now"
    walk_to_disposed(tip, anti_gang_zhuji, police_fengqiao)
    given = post(
        client,
        "/api/v1/tips/lookup/opinion",
        {"receipt": receipt, "opinion": "basically_satisfied", "comment": "处理及时"},
    )
    assert given.status_code == 200 and given.json()["opinion"] == "basically_satisfied"
    assert given.json()["outcome_text"]
    wrong = post(client, "/api/v1/tips/lookup/reply", {"receipt": "1234", "body": "x"})
    assert wrong.status_code == 404 and wrong.json()["code"] == "receipt_not_recognised"


# --- rate limits --------------------------------------------------------------------------


def test_submissions_are_rate_limited(client, settings):
    settings.TIPS_SUBMIT_RATE = "2/m"
    assert submit(client).status_code == 201
    assert submit(client).status_code == 201
    refused = submit(client)
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert int(refused["Retry-After"]) >= 1
    assert Tip.objects.count() == 2


def test_lookups_are_limited_per_receipt_and_overall(client, settings):
    receipt = submit(client).json()["receipt"]
    settings.TIPS_LOOKUP_PER_RECEIPT_RATE = "2/m"
    for _ in range(2):
        assert post(client, "/api/v1/tips/lookup", {"receipt": receipt}).status_code == 200
    assert post(client, "/api/v1/tips/lookup", {"receipt": receipt}).status_code == 429
    # Another receipt has its own bucket; the global bucket still has room.
    other = post(client, "/api/v1/tips/lookup", {"receipt": "0000-0000-0000-0000-0000-0"})
    assert other.status_code == 404
    settings.TIPS_LOOKUP_RATE = "4/m"
    assert post(client, "/api/v1/tips/lookup", {"receipt": "1"}).status_code == 429


def test_rate_limits_fail_closed_when_the_cache_fails(client):
    with mock.patch.object(cache, "incr", side_effect=ConnectionError("cache down")):
        refused = submit(client)
        lookup = post(client, "/api/v1/tips/lookup", {"receipt": "1"})
    assert refused.status_code == 429 and lookup.status_code == 429
    assert not Tip.objects.exists()


# --- handlers -----------------------------------------------------------------------------


def walk_to_disposed(tip: Tip, triager, handler) -> None:
    base = f"/api/v1/tips/{tip.public_id}"
    station = unit(UnitKind.POLICE_STATION, FENGQIAO_TOWN)
    steps = [
        (triager, "accept", {}),
        (triager, "assign", {"unit": str(station.public_id)}),
        (handler, "start-verifying", None),
        (handler, "verification", {"outcome": "substantiated", "summary": "经查属实"}),
        (
            handler,
            "disposal",
            {
                "disposal": "case_opened",
                "unit": str(unit(UnitKind.PUBLIC_SECURITY_BUREAU, ZHUJI).public_id),
                "charges": "非法拘禁罪",
                "case_opened_on": "2026-01-05",
            },
        ),
    ]
    for persona, step, body in steps:
        response = post(persona.client, f"{base}/{step}", body)
        assert response.status_code == 200, (step, response.content)


def test_the_handlers_loop_over_the_api(client, anti_gang_zhuji, police_fengqiao):
    receipt = submit(client).json()["receipt"]
    tip = Tip.objects.get()
    base = f"/api/v1/tips/{tip.public_id}"
    triage = anti_gang_zhuji.client.get("/api/v1/tips", {"queue": "triage"}).json()
    assert [item["id"] for item in triage["items"]] == [str(tip.public_id)]
    detail = anti_gang_zhuji.client.get(base).json()
    assert {"accept", "reject", "merge", "flag_officials"} <= set(detail["allowed_actions"])
    illegal = post(police_fengqiao.client, f"{base}/start-verifying")
    assert illegal.status_code == 404
    walk_to_disposed(tip, anti_gang_zhuji, police_fengqiao)
    asked = post(police_fengqiao.client, f"{base}/messages", {"body": "请问借条还在吗？"})
    assert asked.status_code == 200
    assert post(police_fengqiao.client, f"{base}/notes", {"body": "内部"}).status_code == 200
    assert (
        post(client, "/api/v1/tips/lookup/reply", {"receipt": receipt, "body": "在"}).status_code
        == 201
    )
    closed = post(anti_gang_zhuji.client, f"{base}/close", {"opinion": "satisfied"})
    assert closed.status_code == 200
    body = closed.json()
    assert body["status"] == Status.CLOSED and body["opinion"] == "satisfied"
    assert [e["action"] for e in body["events"]][:2] == ["submit", "accept"]
    again = post(anti_gang_zhuji.client, f"{base}/close", {})
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    view = post(client, "/api/v1/tips/lookup", {"receipt": receipt}).json()
    assert view["status"] == Status.CLOSED and not view["can_reply"]
    assert [m["sender"] for m in view["messages"]] == ["handler", "you"]
    opened = AuditEvent.objects.filter(action="tips.opened", object_id=str(tip.public_id))
    assert opened.count() >= 6


def test_reveal_over_the_api_takes_two_people(client, anti_gang_zhuji, anti_gang_zhuji_2):
    submit(
        client,
        {**MINIMAL, "real_name": True, "reporter_name": "赵六", "reporter_contact": "13900000000"},
    )
    tip = Tip.objects.get()
    base = f"/api/v1/tips/{tip.public_id}"
    assert anti_gang_zhuji.client.get(base).json()["reporter_name"] == "赵*"
    asked = post(anti_gang_zhuji.client, f"{base}/reveal-requests", {"reason": "核实举报细节"})
    assert asked.status_code == 201
    reveal_id = asked.json()["id"]
    early = post(anti_gang_zhuji.client, f"{base}/reporter")
    assert early.status_code == 409 and early.json()["code"] == "not_approved"
    own = post(
        anti_gang_zhuji.client,
        f"/api/v1/tips/reveal-requests/{reveal_id}/decision",
        {"approve": True},
    )
    assert own.status_code == 409 and own.json()["code"] == "same_person"
    approved = post(
        anti_gang_zhuji_2.client,
        f"/api/v1/tips/reveal-requests/{reveal_id}/decision",
        {"approve": True},
    )
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    identity = post(anti_gang_zhuji.client, f"{base}/reporter")
    assert identity.json() == {"name": "赵六", "contact": "13900000000"}


def test_attachments_download_as_files_and_are_audited(client, anti_gang_zhuji, police_diankou):
    encoded = base64.b64encode("借条照片说明".encode()).decode()
    submit(
        client, {**MINIMAL, "attachments": [{"filename": "note.txt", "content_base64": encoded}]}
    )
    tip = Tip.objects.get()
    [info] = anti_gang_zhuji.client.get(f"/api/v1/tips/{tip.public_id}").json()["attachments"]
    url = f"/api/v1/tips/{tip.public_id}/attachments/{info['id']}"
    response = anti_gang_zhuji.client.get(url)
    assert response.status_code == 200 and response.content == "借条照片说明".encode()
    assert response["Content-Disposition"].startswith("attachment;")
    assert AuditEvent.objects.filter(action="tips.attachment_downloaded").count() == 1
    assert police_diankou.client.get(url).status_code == 404


def test_operator_intake_needs_the_capability(anti_gang_zhuji, grid_worker_fengqiao):
    body = {**MINIMAL, "channel": "phone"}
    filed = post(anti_gang_zhuji.client, "/api/v1/tips/intake", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert filed.status_code == 201 and set(filed.json()) == {"receipt"}
    replay = post(anti_gang_zhuji.client, "/api/v1/tips/intake", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert replay.json() == filed.json() and Tip.objects.get().channel == "phone"
    assert post(grid_worker_fengqiao.client, "/api/v1/tips/intake", body).status_code == 404


def test_statistics_over_the_api(client, anti_gang_zhuji, city_leader, police_fengqiao):
    for _ in range(3):
        submit(client)
    query = {"region": ZHUJI, "start": "2000-01-01", "end": "2099-12-31"}
    table = anti_gang_zhuji.client.get("/api/v1/tips/statistics", query)
    assert table.status_code == 200 and table.json()["total"]["counts"]["received"] == 3
    town = next(r for r in table.json()["rows"] if r["region_code"] == FENGQIAO_TOWN)
    assert town["counts"]["received"] == 3
    city = city_leader.client.get("/api/v1/tips/statistics", {**query, "region": "330600"})
    assert city.status_code == 200
    sheet = anti_gang_zhuji.client.get("/api/v1/tips/statistics.xlsx", query)
    assert sheet.status_code == 200 and sheet["Content-Disposition"].startswith("attachment;")
    assert load_workbook(io.BytesIO(sheet.content)).active.max_row > 3
    assert police_fengqiao.client.get("/api/v1/tips/statistics", query).status_code == 404
    backwards = anti_gang_zhuji.client.get(
        "/api/v1/tips/statistics", {**query, "start": "2026-02-01", "end": "2026-01-01"}
    )
    assert backwards.status_code == 422


def test_candidates_and_merge_over_the_api(
    client, anti_gang_zhuji, django_capture_on_commit_callbacks
):
    story = {**MINIMAL, "accused": [{"name": "钱七"}]}
    submit(client, story)
    with django_capture_on_commit_callbacks(execute=True):
        submit(client, {**story, "description": "钱七放高利贷，暴力催收，村民苦不堪言。"})
    first, second = Tip.objects.order_by("received_at", "id")
    candidates = anti_gang_zhuji.client.get(f"/api/v1/tips/{second.public_id}/candidates").json()
    assert [c["tip"]["id"] for c in candidates] == [str(first.public_id)]
    assert "name" in candidates[0]["reasons"]
    merged = post(
        anti_gang_zhuji.client,
        f"/api/v1/tips/{second.public_id}/merge",
        {"into": str(first.public_id)},
    )
    assert merged.status_code == 200 and merged.json()["merged_into"]["id"] == str(first.public_id)
    nowhere = post(
        anti_gang_zhuji.client, f"/api/v1/tips/{first.public_id}/merge", {"into": str(uuid.uuid4())}
    )
    assert nowhere.status_code == 422 and nowhere.json()["errors"][0]["field"] == "into"


def test_staff_routes_need_an_account(client):
    submit(client)
    tip = Tip.objects.get()
    for method, path in (
        ("get", "/api/v1/tips"),
        ("get", f"/api/v1/tips/{tip.public_id}"),
        ("post", f"/api/v1/tips/{tip.public_id}/accept"),
        ("post", "/api/v1/tips/intake"),
    ):
        response = getattr(client, method)(path, content_type=JSON)
        assert response.status_code == 401, path
