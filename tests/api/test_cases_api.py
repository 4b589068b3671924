"""Cases over the JSON API: create, list, detail, timeline and the transitions, with errors."""

from __future__ import annotations

import pytest

from fengqiao.cases.models import Case, Channel, StatusChange
from fengqiao.regions.models import Unit, UnitKind
from personas import FENGYUAN_VILLAGE

pytestmark = pytest.mark.django_db

# Routed to the 枫桥镇 command room (rule town_command), so the town operator owns it.
HAZARD = "hazard.public_safety"
# Routed to the 枫源村 mediation committee (village mediation).
DISPUTE = "dispute.neighbour"


def report(persona, **overrides):
    body = {
        "category": HAZARD,
        "title": "路灯损坏",
        "description": "枫源村村口路灯损坏多日，夜间行人不便。",
        "region_code": FENGYUAN_VILLAGE,
        **overrides,
    }
    return persona.client.post("/api/v1/cases", body, content_type="application/json")


def post(persona, code: str, action: str, body: dict | None = None):
    return persona.client.post(
        f"/api/v1/cases/{code}/{action}", body or {}, content_type="application/json"
    )


def assert_error(response, status: int, code: str, *, ours: bool = True) -> dict:
    """A structured error; the API's own messages are Chinese (the services' come as they are)."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert body["message"]
    if ours:
        assert any("\u4e00" <= char <= "\u9fff" for char in body["message"]), body["message"]
    return body


def test_create_reports_a_case_through_the_api_channel(town_operator_fengqiao):
    response = report(town_operator_fengqiao)

    assert response.status_code == 201, response.content
    body = response.json()
    case = Case.objects.get(code=body["code"])
    assert case.channel == Channel.API
    assert case.region_code == FENGYUAN_VILLAGE
    assert case.owner_unit.kind == UnitKind.COMMAND_ROOM
    assert body["owner_unit"]["id"] == str(case.owner_unit.public_id)
    assert body["status"] == "reported"
    assert body["tracking_token"]
    assert case.reported_by == town_operator_fengqiao.user
    assert StatusChange.objects.filter(case=case, action="report").count() == 1


def _unit(kind: str, code: str) -> Unit:
    return Unit.objects.get(kind=kind, region__code=code)


def test_the_whole_loop_one_endpoint_per_step(town_operator_fengqiao, village_mediator_fengyuan):
    operator, mediator = town_operator_fengqiao, village_mediator_fengyuan
    code = report(operator).json()["code"]
    committee = _unit(UnitKind.MEDIATION_COMMITTEE, FENGYUAN_VILLAGE)

    steps = [
        (operator, "accept", {}, "accepted"),
        (
            operator,
            "assign",
            {"unit": str(committee.public_id), "note": "请村调委会处理"},
            "assigned",
        ),
        (mediator, "sign", {}, "in_progress"),
        (mediator, "extension-request", {"days": 3, "reason": "需等待当事人返乡"}, "in_progress"),
        (operator, "extension-decision", {"approve": True, "reason": "同意"}, "in_progress"),
        (mediator, "suspend", {"reason": "当事人外出务工"}, "suspended"),
        (mediator, "resume", {}, "in_progress"),
        (
            mediator,
            "feedback",
            {"method": "handled", "resolved": True, "summary": "已修复"},
            "pending_verify",
        ),
        (operator, "verify", {"passed": True, "reason": ""}, "closed"),
        (operator, "visit", {"comment": "电话回访，群众满意"}, "closed"),
        (
            operator,
            "evaluate",
            {"satisfaction": 5, "comment": "满意", "channel": "phone"},
            "evaluated",
        ),
        (operator, "reopen", {"reason": "路灯再次损坏"}, "accepted"),
        (operator, "reject", {"reason": "重复上报"}, "rejected"),
    ]
    for persona, action, body, status in steps:
        response = post(persona, code, action, body)
        assert response.status_code == 200, (action, response.content)
        assert response.json()["status"] == status, action
        if action == "assign":
            assert response.json()["handler_unit"]["id"] == str(committee.public_id)

        if action == "evaluate":
            assert response.json()["satisfaction"] == 5
    timeline = operator.client.get(f"/api/v1/cases/{code}/timeline").json()
    assert [entry["action"] for entry in timeline] == [
        "report",
        "accept",
        "assign",
        "sign",
        "request_extension",
        "approve_extension",
        "suspend",
        "resume",
        "feedback",
        "verify_pass",
        "visit",
        "evaluate",
        "reopen",
        "reject",
    ]
    assert timeline[2]["to_unit"] == committee.name


def test_escalate_supervise_return_notes_and_risk_flag(
    town_operator_fengqiao, county_centre_zhuji, village_mediator_fengyuan
):
    operator, centre = town_operator_fengqiao, county_centre_zhuji
    code = report(operator).json()["code"]

    supervised = post(centre, code, "supervise", {"level": 2, "reason": "群众反映强烈"})
    assert supervised.status_code == 200, supervised.content
    assert supervised.json()["supervision"] == 2

    note = post(operator, code, "notes", {"body": "已电话联系电力所", "is_public": True})
    assert note.status_code == 201, note.content
    assert note.json()["is_public"] is True
    detail = operator.client.get(f"/api/v1/cases/{code}").json()
    assert [n["body"] for n in detail["notes"]] == ["已电话联系电力所"]

    escalated = post(operator, code, "escalate", {"reason": "涉及多个村，需县级协调"})
    assert escalated.status_code == 200, escalated.content
    assert escalated.json()["level"] == "county"
    assert escalated.json()["owner_unit"]["kind"] == UnitKind.GOVERNANCE_CENTRE

    returned = post(centre, code, "return", {"reason": "属镇级事项"})
    assert returned.status_code in (200, 409), returned.content

    dispute = report(village_mediator_fengyuan, category=DISPUTE, title="宅基地纠纷").json()["code"]
    flagged = post(village_mediator_fengyuan, dispute, "risk-flag", {"reason": "双方扬言动手"})
    assert flagged.status_code == 200, flagged.content
    assert flagged.json()["may_turn_violent"] is True


def test_list_filters_and_pages_within_scope(town_operator_fengqiao):
    codes = [report(town_operator_fengqiao, title=f"第{i}件").json()["code"] for i in range(3)]
    dispute = report(town_operator_fengqiao, category=DISPUTE).json()["code"]
    api = town_operator_fengqiao.client

    page = api.get("/api/v1/cases", {"limit": 2}).json()
    assert page["count"] == 4
    assert len(page["items"]) == 2
    assert page["items"][0]["code"] == dispute  # newest first

    hazards = api.get("/api/v1/cases", {"kind": "hazard", "limit": 100}).json()
    assert sorted(item["code"] for item in hazards["items"]) == sorted(codes)
    by_category = api.get("/api/v1/cases", {"category": DISPUTE}).json()
    assert [item["code"] for item in by_category["items"]] == [dispute]
    by_region = api.get("/api/v1/cases", {"region": FENGYUAN_VILLAGE, "status": "reported"})
    assert by_region.json()["count"] == 4
    assert api.get("/api/v1/cases", {"supervision": 1}).json()["count"] == 0
    assert api.get("/api/v1/cases", {"overdue": True}).json()["count"] == 0
    assert (
        api.get("/api/v1/cases", {"since": "2000-01-01", "until": "2000-12-31"}).json()["count"]
        == 0
    )
    assert_error(api.get("/api/v1/cases", {"limit": 101}), 422, "validation_error")
    assert_error(api.get("/api/v1/cases", {"status": "bogus"}), 422, "validation_error")


def test_detail_masks_party_identifiers(town_operator_fengqiao):
    parties = [
        {
            "role": "applicant",
            "name": "张三",
            "id_number": "11010519491231002X",
            "phone": "13812345678",
        }
    ]
    code = report(town_operator_fengqiao, category=DISPUTE, parties=parties).json()["code"]

    detail = town_operator_fengqiao.client.get(f"/api/v1/cases/{code}").json()

    assert detail["parties"][0]["name"] == "张三"
    assert detail["parties"][0]["id_number"] == "110105********002X"
    assert detail["parties"][0]["phone"] == "138****5678"
    assert "13812345678" not in str(detail)
    # A dispute at village level: the town above may supervise it or flag a violence risk.
    assert set(detail["available_actions"]) == {"supervise", "risk_flag"}


def test_illegal_transition_is_409_with_its_code(town_operator_fengqiao):
    code = report(town_operator_fengqiao).json()["code"]

    assert_error(
        post(town_operator_fengqiao, code, "resume"), 409, "illegal_transition", ours=False
    )
    assert_error(
        post(town_operator_fengqiao, code, "verify", {"passed": True}),
        409,
        "illegal_transition",
        ours=False,
    )


def test_step_by_a_unit_that_is_not_the_owner_is_409(town_operator_fengqiao, police_fengqiao):
    code = report(town_operator_fengqiao).json()["code"]

    assert_error(post(police_fengqiao, code, "accept"), 409, "not_your_unit", ours=False)


def test_bad_input_is_422_naming_the_field(town_operator_fengqiao):
    code = report(town_operator_fengqiao).json()["code"]
    post(town_operator_fengqiao, code, "accept")

    missing = assert_error(
        post(town_operator_fengqiao, code, "reject", {}), 422, "validation_error"
    )
    assert [e["field"] for e in missing["errors"]] == ["reason"]
    extra = assert_error(
        post(town_operator_fengqiao, code, "reject", {"reason": "无效", "status": "closed"}),
        422,
        "validation_error",
    )
    assert [(e["field"], e["code"]) for e in extra["errors"]] == [("status", "extra_forbidden")]
    far = _unit(UnitKind.COMMAND_ROOM, "330681104")
    unit = assert_error(
        post(town_operator_fengqiao, code, "assign", {"unit": str(far.public_id)}),
        422,
        "unit_not_found",
    )
    assert unit["errors"][0]["field"] == "unit"


def test_create_rejects_bad_input(town_operator_fengqiao):
    assert_error(report(town_operator_fengqiao, category="no.such"), 422, "category_not_found")
    body = assert_error(
        report(
            town_operator_fengqiao,
            parties=[{"role": "applicant", "name": "李四", "id_number": "110105194912310021"}],
        ),
        422,
        "validation_error",
    )
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("parties.0.id_number", "invalid_id_number")
    ]
    assert_error(report(town_operator_fengqiao, channel="web"), 422, "validation_error")
    outside = report(town_operator_fengqiao, region_code=None, latitude=39.9, longitude=116.4)
    assert outside.status_code == 422
    assert outside.json()["code"] in {"outside_territory", "region_required", "unknown_region"}
    assert not Case.objects.exists()


def test_unknown_case_is_404(town_operator_fengqiao):
    assert_error(
        town_operator_fengqiao.client.get("/api/v1/cases/330681-20260101-99999"), 404, "not_found"
    )
    assert_error(post(town_operator_fengqiao, "330681-20260101-99999", "accept"), 404, "not_found")


def test_roles_without_the_capability_get_404(system_admin, town_operator_fengqiao):
    code = report(town_operator_fengqiao).json()["code"]

    assert_error(system_admin.client.get("/api/v1/cases"), 404, "not_found")
    assert_error(system_admin.client.get(f"/api/v1/cases/{code}"), 404, "not_found")
    assert_error(report(system_admin), 404, "not_found")


def test_ping_answers_ok_when_authenticated(town_operator_fengqiao, client):
    assert town_operator_fengqiao.client.get("/api/v1/ping").json() == {"ok": True}
    assert client.get("/api/v1/ping").status_code == 401


def test_openapi_schema_lists_every_case_operation_with_responses(client):
    schema = client.get("/api/v1/openapi.json").json()
    actions = [
        "accept", "assign", "sign", "return", "escalate", "extension-request",
        "extension-decision", "suspend", "resume", "feedback", "verify", "evaluate", "visit",
        "reopen", "reject", "supervise", "notes", "risk-flag",
    ]  # fmt: skip
    expected = {
        ("get", "/api/v1/cases"),
        ("post", "/api/v1/cases"),
        ("get", "/api/v1/cases/{code}"),
        ("get", "/api/v1/cases/{code}/timeline"),
        ("get", "/api/v1/ping"),
    } | {("post", f"/api/v1/cases/{{code}}/{action}") for action in actions}
    present = {(m, p) for p, item in schema["paths"].items() for m in item}
    assert expected <= present
    for method, path in expected:
        responses = schema["paths"][path][method]["responses"]
        ok = responses.get("200") or responses.get("201")
        assert ok and ok["content"]["application/json"]["schema"], (method, path)
    create = schema["paths"]["/api/v1/cases"]["post"]
    assert {"422", "409", "404"} <= set(create["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
