"""SECURITY 14: schemathesis against the OpenAPI schema of /api/v1/, once per role, once anonymous.

The served schema is loaded in-process and every operation is driven through the real WSGI
application, with every check schemathesis makes on single requests: no server error; status
codes, content types, headers and bodies as documented; schema-valid requests accepted and
schema-violating ones refused; missing required headers refused; secured operations refusing a
request without valid credentials; undeclared methods answered 405 with ``Allow``. (The checks
that need request sequences belong to schemathesis' stateful phase, which needs links the schema
does not declare.) Each persona calls with its own personal API token. The database holds cases
and tips inside and outside the persona's scope, and positive cases often name them instead of
random identifiers, so detail and workflow endpoints answer about real objects as well as about
ids that do not exist.

Two phases, as schemathesis names them: *fuzzing* (random positive and negative cases,
``FENGQIAO_FUZZ_EXAMPLES`` per operation) for every role and for an anonymous caller, and
*coverage* (every boundary and violation of every constraint, methods and headers left out,
deterministic and a few thousand requests a run). Validation answers before the capability check,
so the violations meet the same code whoever sends them; CI runs the coverage phase for one broad
role, ``FENGQIAO_FUZZ_COVERAGE=all`` for every identity. Generation is derandomised and keeps no
example database: every run sends the same requests and stores none of them.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import strategies as st

from fengqiao.accounts import services as account_services
from fengqiao.accounts.roles import Role
from fengqiao.cases import services as case_services
from fengqiao.cases.models import Category, Channel
from fengqiao.regions.models import Level, Region, Unit, UnitKind
from fengqiao.tips import services as tip_services
from fengqiao.tips.attachments import IncomingFile
from fengqiao.tips.models import Tip
from personas import DIANKOU_TOWN, FENGYUAN_GRID_1, FENGYUAN_VILLAGE, YUECHENG

EXAMPLES = int(os.environ.get("FENGQIAO_FUZZ_EXAMPLES", "2"))

# One persona per role, each acting inside its own region.
ROLE_PERSONAS = {
    Role.GRID_WORKER: "grid_worker_fengqiao",
    Role.VILLAGE_MEDIATOR: "village_mediator_fengyuan",
    Role.TOWN_OPERATOR: "town_operator_fengqiao",
    Role.DEPARTMENT_HANDLER: "police_fengqiao",
    Role.CENTRE_STAFF: "county_centre_zhuji",
    Role.ANTI_GANG_HANDLER: "anti_gang_zhuji",
    Role.DISCIPLINE_LIAISON: "discipline_zhuji",
    Role.INSPECTOR: "city_inspector",
    Role.LEADER: "city_leader",
    Role.SYSTEM_ADMIN: "system_admin",
    Role.SECURITY_ADMIN: "security_admin",
    Role.AUDIT_ADMIN: "audit_admin",
}
IDENTITIES = ("anonymous", *ROLE_PERSONAS.values())
# The coverage phase in CI: a role that reports and handles cases, so the boundaries of the case
# workflow are met past the capability check (the tip line's public routes take no account).
COVERAGE_IDENTITIES = (
    IDENTITIES if os.environ.get("FENGQIAO_FUZZ_COVERAGE") == "all" else ("town_operator_fengqiao",)
)

HANGZHOU = "330100"

# Operations that rightly refuse some schema-valid bodies with 422, because the rule is about
# data the schema cannot list: the positive-data check accepts a 422 from these. Every other
# check still applies, so the 422 is still a documented ErrorOut. Besides: an Idempotency-Key
# reused with another body is a 422 (SECURITY 24) and drawn keys repeat, so every operation that
# takes one (POST /cases, /cases/{code}/notes, /tips, /tips/intake) is in the list.
SEMANTIC_REFUSALS = {
    "POST /api/v1/cases": "category and region must exist; party ID numbers pass the check digit",
    "POST /api/v1/tips": "region codes must exist; ID check digits; attachments by content",
    "POST /api/v1/tips/intake": "as POST /api/v1/tips",
    "POST /api/v1/tips/lookup/reply": "attachments are checked by their content",
    "POST /api/v1/cases/{code}/assign": "the unit must exist in the caller's area",
    "POST /api/v1/cases/{code}/notes": "only the Idempotency-Key rule",
    "POST /api/v1/tips/{public_id}/assign": "the unit must exist",
    "POST /api/v1/tips/{public_id}/transfer": "the unit must exist",
    "POST /api/v1/tips/{public_id}/disposal": "the unit must exist",
    "POST /api/v1/tips/{public_id}/merge": "the other tip must be one of the caller's",
    "POST /api/v1/tips/{public_id}/case-links": "a tip is linked to a case once",
    "GET /api/v1/tips/statistics": "the end may not be before the start",
    "GET /api/v1/tips/statistics.xlsx": "as GET /api/v1/tips/statistics",
}
# schemathesis' own default for the positive-data check, less the 5xx it tolerates there.
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429"]


def _config(*, phase: str, token: bool) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "phases": {
                "examples": {"enabled": phase == "fuzzing"},
                "fuzzing": {"enabled": phase == "fuzzing"},
                "coverage": {"enabled": phase == "coverage"},
            },
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES,
                "deterministic": True,
                "database": "none",
                # A persona sends its valid token: drawing credentials in its place would spend
                # the negative cases on 401s. The anonymous run draws them; ignored_auth probes
                # every success without and with invalid credentials.
                "with-security-parameters": not token,
            },
            "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES}},
            "operations": [
                {
                    "include-name": sorted(SEMANTIC_REFUSALS),
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": [*POSITIVE_STATUSES, "422"]
                        }
                    },
                }
            ],
        }
    )


@pytest.fixture
def in_process_app():
    """The real WSGI application, sharing the test's database connection and transaction.

    Django closes "old" connections when a request starts and ends; inside the test's
    transaction that would end it, so the signal is held back as Django's own test client does.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _case(region_code: str):
    category = Category.objects.reportable().order_by("code").first()
    return case_services.report_case(
        data=case_services.IntakeData(
            category=category,
            channel=Channel.WEB,
            title="接口测试样例",
            description="接口测试的样例案件",
            region_code=region_code,
        )
    )


def _tip(**placement) -> tuple[Tip, str]:
    submission = tip_services.submit_tip(
        description="接口测试的样例线索",
        region_code=FENGYUAN_VILLAGE,
        attachments=[IncomingFile("note.txt", "样例材料".encode())],
    )
    if placement:
        # Test data only: place the tip directly instead of walking the workflow.
        Tip.objects.filter(pk=submission.tip.pk).update(**placement)
    return submission.tip, submission.receipt


def _world(request) -> tuple[dict[str, list[str]], str | None]:
    """Objects in and out of the identity's scope, as pools of real identifiers by kind, and
    the identity's personal API token for its membership (None: anonymous)."""
    hangzhou = Region.objects.create(
        code=HANGZHOU, name="杭州市", place_name="杭州市", level=Level.CITY
    )
    far_unit = Unit.objects.create(
        name="杭州市社会治理中心", kind=UnitKind.GOVERNANCE_CENTRE, region=hangzhou
    )
    cases = [_case(code) for code in (FENGYUAN_GRID_1, FENGYUAN_VILLAGE, DIANKOU_TOWN, YUECHENG)]
    tips = [_tip(), _tip(routed_unit=far_unit)]
    pools = {
        "case": [case.code for case in cases],
        "region": [FENGYUAN_VILLAGE, DIANKOU_TOWN, YUECHENG, HANGZHOU],
        "unit": [str(far_unit.public_id)],
        "category": [case.category.code for case in cases[:1]],
    }
    token = None
    if request.param != "anonymous":
        persona = request.getfixturevalue(request.param)
        _row, token = account_services.create_token(
            user=persona.user,
            membership=persona.membership,
            name="schemathesis",
            lifetime_days=account_services.TOKEN_LIFETIMES_DAYS[0],
        )
        tips.append(_tip(assigned_unit=persona.unit, status="assigned"))
        pools["region"].append(persona.membership.region_code)
        pools["unit"].append(str(persona.unit.public_id))
    pools["tip"] = [str(tip.public_id) for tip, _ in tips]
    pools["attachment"] = [str(tip.attachments.get().public_id) for tip, _ in tips]
    pools["receipt"] = [receipt for _, receipt in tips]
    return pools, token


def _pool_of(path: str, name: str) -> str | None:
    """The pool of ``_world`` a path parameter or body field of the operation at ``path`` names."""
    if name == "code":
        return "case" if path.startswith("/api/v1/cases") else "region"
    if name == "public_id":
        return "unit" if path.startswith("/api/v1/units") else "tip"
    return {
        "attachment_id": "attachment",
        "unit": "unit",
        "into": "tip",
        "receipt": "receipt",
        "region_code": "region",
        "category": "category" if path == "/api/v1/cases" else None,
    }.get(name)


def _schema(request, app, phase: str):
    # schemathesis 4.32 renames the running item through ``_nodeid``, which pytest 9.2 renamed.
    request.node._nodeid = request.node.nodeid
    pools, token = _world(request)
    cache.clear()
    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", app, config=_config(phase=phase, token=token is not None)
    )
    if token is not None:

        class PersonalToken:
            """The persona's personal API token, sent as the API expects it (Bearer)."""

            def get(self, case, context) -> str:
                return token

            def set(self, case, data: str, context) -> None:
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

        schema.auth.auth(refresh_interval=None)(PersonalToken)

    @schema.hook
    def flatmap_case(context, case):
        """Often real identifiers (in and out of scope) instead of random ones, in the path and
        in the body. Positive cases only: in a negative case they may be the invalid part."""
        if case.meta is not None and case.meta.generation.mode.is_negative:
            return st.just(case)
        path = case.operation.path
        choices = {}
        for name, value in (case.path_parameters or {}).items():
            if pool := _pool_of(path, name):
                choices[("path", name)] = st.sampled_from([*pools[pool], value])
        if isinstance(case.body, dict):
            for name, value in case.body.items():
                if isinstance(value, str) and (pool := _pool_of(path, name)):
                    choices[("body", name)] = st.sampled_from([*pools[pool], value])
        if not choices:
            return st.just(case)

        def placed(values: dict) -> object:
            for (where, name), value in values.items():
                (case.path_parameters if where == "path" else case.body)[name] = value
            return case

        return st.fixed_dictionaries(choices).map(placed)

    return schema


@pytest.fixture
def api_limits(settings):
    """The tip line's public routes with their limits opened, so the fuzz reaches the services
    (a 429 passes every check, but tests nothing behind it)."""
    settings.TIPS_SUBMIT_RATE = settings.TIPS_LOOKUP_RATE = "100000/m"
    settings.TIPS_LOOKUP_PER_RECEIPT_RATE = "100000/m"


@pytest.fixture
def fuzzing_schema(request, db, api_limits, in_process_app):
    return _schema(request, in_process_app, "fuzzing")


@pytest.fixture
def coverage_schema(request, db, api_limits, in_process_app):
    return _schema(request, in_process_app, "coverage")


fuzzing = schemathesis.pytest.from_fixture("fuzzing_schema")
coverage = schemathesis.pytest.from_fixture("coverage_schema")


@pytest.mark.parametrize("fuzzing_schema", IDENTITIES, indirect=True)
@fuzzing.parametrize()
def test_every_operation_conforms_to_the_schema_for_every_role(case):
    case.call_and_validate()


@pytest.mark.parametrize("coverage_schema", COVERAGE_IDENTITIES, indirect=True)
@coverage.parametrize()
def test_every_boundary_of_every_operation_conforms_to_the_schema(case):
    case.call_and_validate()


# --- what the fuzzing found, pinned -----------------------------------------------------------


@pytest.mark.django_db
def test_a_post_without_any_credentials_is_401_not_a_csrf_403():
    """The session scheme checked CSRF before looking for a session, so a script without a
    token, and an expired token, got 403 "forbidden" instead of 401 "unauthenticated"."""
    response = Client(enforce_csrf_checks=True).post("/api/v1/cases", {}, "application/json")
    assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")


def test_a_post_riding_on_a_session_still_needs_the_csrf_token(town_operator_fengqiao):
    client = Client(enforce_csrf_checks=True)
    client.cookies = town_operator_fengqiao.client.cookies
    response = client.post("/api/v1/cases", {}, "application/json")
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")


@pytest.mark.django_db
def test_tip_and_case_states_are_two_components(client):
    """Both enums were called Status: the case states silently replaced the tip states."""
    schema = client.get("/api/v1/openapi.json").json()
    components = schema["components"]["schemas"]
    assert "received" in components["TipStatus"]["enum"]
    assert "received" not in components["Status"]["enum"]
    tip = components["TipOut"]["properties"]["status"]
    assert tip["$ref"].endswith("/TipStatus")


@pytest.mark.django_db
def test_every_operation_declares_the_errors_it_can_answer(client):
    schema = client.get("/api/v1/openapi.json").json()
    undeclared = [
        f"{method.upper()} {path} {status}"
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        for status in (
            ["401"] * bool(operation.get("security"))
            + ["422"] * bool(operation.get("parameters") or operation.get("requestBody"))
            + ["400"] * ("requestBody" in operation)
        )
        if status not in operation["responses"]
    ]
    assert not undeclared, undeclared


@pytest.mark.parametrize("url", ["/api/v1/cases", "/api/v1/tips", "/api/v1/units"])
def test_an_offset_beyond_any_list_is_422_not_a_server_error(anti_gang_zhuji, url):
    """An offset (or a units limit) past the database's integers was a 500."""
    for query in ({"offset": 2**70}, {"limit": 2**70}):
        response = anti_gang_zhuji.client.get(url, query)
        assert response.status_code == 422, (url, query, response.status_code)


def test_the_nul_character_is_refused_as_invalid_input(town_operator_fengqiao):
    """PostgreSQL refuses U+0000 in text: in a body, a filter or a path it was a 500 there."""
    client = town_operator_fengqiao.client
    code = _case(FENGYUAN_VILLAGE).code
    answers = [
        client.post(f"/api/v1/cases/{code}/notes", {"body": "已\x00核实"}, "application/json"),
        client.get("/api/v1/cases", {"category": "\x00"}),
        client.get("/api/v1/cases/%00"),
        client.get("/api/v1/regions/%00"),
    ]
    assert [(answer.status_code, answer.json()["code"]) for answer in answers] == [
        (422, "validation_error")
    ] * 4
