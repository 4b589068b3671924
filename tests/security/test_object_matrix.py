"""SECURITY 7, the object dimension: every URL and API operation × every persona × an object
inside and an object outside the persona's scope.

``test_permission_matrix`` decides *who* may use a route (role × capability). This module decides
*which objects* they reach through it. Every route and every API operation is entered in exactly
one table below:

- ``OBJECTS`` / ``API_OBJECTS``: the URL names an object (a case, its file or party, a mediation
  document, a tip, its file or reveal request, a notice, a token, an Open311 key, a user, a
  region, a unit, a region's statistics). Each persona asks for the object inside its scope and
  the one just outside it (``objectworld``). Outside is 404, always — never 403, never 200; API
  answers carry ``not_found``. Inside, the role decides: without the route's capability 404, with
  it one of the entry's ``ok`` codes. A route naming two objects (a case and its file) is also
  asked with the persona's own parent and a foreign child: 404.
- ``LISTS`` / ``API_LISTS``: the answer lists objects (lists, queues, exports, the workbench).
  Nothing in it — HTML, JSON or every cell of an .xlsx — names an object outside the persona's
  scope, and the persona's own object is listed where the entry says so (so the check can fail).
- ``PUBLIC_OBJECTS``: public routes that name an object or list them (Open311, citizen
  tracking), asked anonymously.
- ``NO_OBJECTS`` / ``API_NO_OBJECTS``: forms, configuration and personal routes, with the reason.

A new route or operation that is in none of them fails the two ``test_every_…_object_table``
tests, and so does a table entry whose route is gone. Every 2xx body the matrix receives is also
searched for out-of-scope identifiers. The API is asked with each persona's personal token, as
API clients ask (the session path: ``tests/api/test_cases_scoping.py``). Requests run in a
savepoint that is rolled back, so steps taken on inside objects leave the shared objects as they
were for the next request.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from fengqiao.api.v1 import api
from fengqiao.cases.views.work import QUEUES as CASE_QUEUES
from fengqiao.tips.views.work import QUEUES as TIP_QUEUES
from personas import PERSONA_NAMES
from security.objectworld import World, build_world
from security.test_permission_matrix import _capability, _route_params
from security.urlwalk import iter_routes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
READ = frozenset({200})
# A form page, or back to the case page for someone who sees the case but does not work it.
PAGE = frozenset({200, 302})
# A step on an object in scope: done, refused by the service or the form — never hidden.
STEP = frozenset({200, 201, 202, 302, 400, 409, 422})
# The same, for steps whose refusal is a 403 by design (revealing a party's ID number).
REFUSABLE = STEP | {403}
PERIOD = {"region": "{region}", "start": "2026-01-01", "end": "2026-12-31"}


@dataclass(frozen=True)
class Entry:
    """How to ask for one object route: which sample object, how, and what inside may answer.

    ``body`` and ``query`` values may name sample values in braces ("{membership}")."""

    sample: str
    method: str = "get"
    ok: frozenset[int] = READ
    body: dict[str, Any] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Listing:
    """A list-like answer: the queries to ask it with and the sample kinds it must show."""

    queries: tuple[dict[str, str], ...] = ({},)
    shows: tuple[str, ...] = ()
    params: tuple[dict[str, str], ...] = ({},)
    # Administrators' home and workbench send them on to their own pages.
    ok: frozenset[int] = READ


CASE_STEP = Entry("case", "post", STEP)
TIP_STEP = Entry("tip", "post", STEP)
MEDIATION_FORM = Entry("case", "get", PAGE)
USER_STEP = Entry("user", "post", STEP, body={"membership": "{membership}", "session": "{session}"})

# --- HTML routes ------------------------------------------------------------------------------

OBJECTS: dict[str, Entry] = {
    "regions:detail": Entry("region"),
    "open311_keys:revoke": Entry("key", "post", STEP),
    "mediation:detail": Entry("case"),
    "mediation:panel": Entry("case"),
    "mediation:start": MEDIATION_FORM,
    "mediation:session_new": MEDIATION_FORM,
    "mediation:agreement_new": MEDIATION_FORM,
    "mediation:failure_new": MEDIATION_FORM,
    "mediation:visit_new": MEDIATION_FORM,
    "mediation:confirmation_apply": MEDIATION_FORM,
    "mediation:confirmation_decide": MEDIATION_FORM,
    "mediation:flag_violent": MEDIATION_FORM,
    "mediation:agreement_pdf": Entry("case"),
    "mediation:termination_pdf": Entry("terminated"),
    "cases:metrics": Entry(
        "statistics", query={"region": "{region}", "since": "2026-01-01", "until": "2026-12-31"}
    ),
    "cases:detail": Entry("case"),
    "cases:act": Entry("case", "post", STEP, body={"action": "accept"}),
    "cases:add_note": Entry("case", "post", STEP, body={"body": "矩阵"}),
    "cases:upload": CASE_STEP,
    "cases:download": Entry("case_file"),
    "cases:reveal": Entry("case_party", "post", REFUSABLE, body={"field": "id_number"}),
    "tips:statistics": Entry("statistics", query=PERIOD),
    "tips:statistics_export": Entry("statistics", query=PERIOD),
    "tips:detail": Entry("tip"),
    "tips:act": Entry("tip", "post", STEP, body={"action": "accept"}),
    "tips:message": Entry("tip", "post", STEP, body={"message-body": "矩阵"}),
    "tips:note": Entry("tip", "post", STEP, body={"note-body": "矩阵"}),
    "tips:link_case": TIP_STEP,
    "tips:download": Entry("tip_file"),
    "tips:reveal_request": TIP_STEP,
    "tips:reveal_decide": Entry("tip_reveal", "post", STEP, body={"decision": "refuse"}),
    "tips:reveal_identity": TIP_STEP,
    "accounts:notification_read": Entry("notice", "post", STEP),
    "accounts:token_revoke": Entry("token", "post", STEP),
    "accounts:user_detail": Entry("user"),
    "accounts:user_disable": USER_STEP,
    "accounts:user_enable": USER_STEP,
    # No body: a new password would cost an Argon2 hash per persona and prove nothing more.
    "accounts:user_password": Entry("user", "post", STEP),
    "accounts:membership_add": USER_STEP,
    "accounts:membership_remove": USER_STEP,
    "accounts:membership_role": USER_STEP,
    "accounts:security_user": Entry("user"),
    "accounts:security_session_end": USER_STEP,
    "accounts:security_sessions_end_all": USER_STEP,
    "accounts:security_totp_reset": USER_STEP,
}

PUBLIC_OBJECTS: dict[str, str] = {
    "open311:requests": "public-space cases only, plainly or asked for by id",
    "open311:request": "a public-space case; any other answers 404",
    "open311:token": "a public-space case by its public id; any other answers 404",
    "cases_public:track": "a case with its own tracking token; any other token answers 404",
}

LISTS: dict[str, Listing] = {
    "open311_keys:list": Listing(shows=("key",)),
    "regions:browser": Listing(),
    "mediation:visits": Listing(),
    "cases:list": Listing(queries=({}, {"region": "{outside_code}"}), shows=("case",)),
    "cases:queue": Listing(params=tuple({"queue": key} for key in CASE_QUEUES)),
    "cases:export": Listing(queries=({}, {"region": "{outside_code}"}), shows=("case",)),
    "tips:list": Listing(queries=tuple({"queue": key} for key in TIP_QUEUES), shows=("tip",)),
    "accounts:home": Listing(ok=PAGE),
    "accounts:workbench": Listing(ok=PAGE),
    "accounts:notifications": Listing(shows=("notice",)),
    "accounts:tokens": Listing(shows=("token",)),
    "accounts:users": Listing(shows=("user",)),
    "accounts:security_users": Listing(shows=("user",)),
}

# Route parameters that name configuration or a format, not an object of anyone's scope.
CONFIG_PARAMS = {"fmt", "rest", "service_code", "category_code", "policy_code", "day", "year"}

NO_OBJECTS: dict[str, str] = {
    "set_language": "language cookie",
    "open311:discovery": "the interface's own description",
    "open311:services": "the shipped taxonomy, public by the spec",
    "open311:service_definition": "one category of the shipped taxonomy",
    "open311:not_found": "an error document",
    "open311_keys:create": "a form; the key takes the issuer's own region",
    "cases:new": "intake form; its region picker is pickable_regions (own subtree)",
    "cases:new_grid": "intake form; its region picker is pickable_regions (own subtree)",
    "cases:import": "upload form; rows outside the importer's region are refused",
    "cases:import_template": "an empty workbook",
    "cases:taxonomy": "platform taxonomy (cases.manage_taxonomy)",
    "cases:taxonomy_category": "platform taxonomy (cases.manage_taxonomy)",
    "cases:taxonomy_rule": "platform taxonomy (cases.manage_taxonomy)",
    "cases:taxonomy_clocks": "platform clock policies (cases.manage_taxonomy)",
    "cases:taxonomy_clock_add": "platform clock policies (cases.manage_taxonomy)",
    "cases:taxonomy_clock_edit": "platform clock policies (cases.manage_taxonomy)",
    "tips:intake": "operator intake form",
    "tips_public:about": "the anonymous tip line: the receipt is the only key (tests/tips)",
    "tips_public:report": "the anonymous tip line: the receipt is the only key (tests/tips)",
    "tips_public:regions": "the anonymous tip line: the receipt is the only key (tests/tips)",
    "tips_public:lookup": "the anonymous tip line: the receipt is the only key (tests/tips)",
    "tips_public:reply": "the anonymous tip line: the receipt is the only key (tests/tips)",
    "tips_public:opinion": "the anonymous tip line: the receipt is the only key (tests/tips)",
    "cases_public:report": "citizen report form",
    "cases_public:regions": "citizen region picker (public divisions)",
    "cases_public:lookup": "code + token form; redirects to cases_public:track",
    # The audit administrator reads and verifies the whole chain by design (SECURITY 9, 21–22):
    # the chain is platform-wide, not regional.
    "core:audit_list": "the whole audit chain, by design, for audit.view",
    "core:audit_verify": "the whole audit chain, by design, for audit.verify",
    "core:calendar_list": "platform working-day calendar",
    "core:calendar_add": "platform working-day calendar",
    "core:calendar_import": "platform working-day calendar",
    "core:calendar_year_known": "platform working-day calendar",
    "core:calendar_edit": "platform working-day calendar",
    "core:calendar_delete": "platform working-day calendar",
    "accounts:login": "login",
    "accounts:otp": "login",
    "accounts:enrol": "login",
    "accounts:logout": "the caller's own session",
    "accounts:password_change": "the caller's own password",
    "accounts:switch_membership": "the caller's own memberships (tests/accounts)",
    "accounts:token_create": "a token for the caller's own membership",
    "accounts:user_create": "a form; the new user has no membership yet",
    # django-axes keeps failed logins by user name and address, not by region; the security
    # administrator's lockout page is platform-wide like the audit chain.
    "accounts:security_lockouts": "failed logins, platform-wide, for security.manage_lockouts",
    "accounts:security_lockout_reset": "failed logins, platform-wide, for security.manage_lockouts",
}

# --- API operations ---------------------------------------------------------------------------

CASE_BODIES = {
    "assign": {"unit": "{unit}"},
    "extension-request": {"days": 3, "reason": "矩阵"},
    "extension-decision": {"approve": True},
    "feedback": {"method": "handled", "resolved": True, "summary": "矩阵"},
    "verify": {"passed": True},
    "evaluate": {"satisfaction": 4},
    "supervise": {"level": 1, "reason": "矩阵"},
    "notes": {"body": "矩阵"},
    "visit": {"satisfaction": 4},
    **{name: {"reason": "矩阵"} for name in ("return", "suspend", "reopen", "reject", "risk-flag")},
}
CASE_STEPS = [
    "notes",
    "accept",
    "assign",
    "sign",
    "return",
    "escalate",
    "extension-request",
    "extension-decision",
    "suspend",
    "resume",
    "feedback",
    "verify",
    "evaluate",
    "visit",
    "reopen",
    "reject",
    "supervise",
    "risk-flag",
]
TIP_BODIES = {
    "accept": {},
    "officials": {"officials_region_code": "", "officials_text": ""},
    # A tip the persona sees, so the merge target is found and the lookup decides.
    "merge": {"into": "{own_tip}"},
    "reject": {"reason": "矩阵"},
    "assign": {"unit": "{unit}"},
    "transfer": {"unit": "{unit}", "reason": "矩阵"},
    "start-verifying": {},
    "verification": {"outcome": "substantiated", "summary": "矩阵"},
    "disposal": {"disposal": "punished"},
    "close": {},
    "messages": {"body": "矩阵"},
    "notes": {"body": "矩阵"},
    "case-links": {"case_code": "330681-20260101-00001"},
    "reveal-requests": {"reason": "矩阵"},
    "reporter": {},
}

API_OBJECTS: dict[tuple[str, str], Entry] = {
    ("get", "/api/v1/regions/{code}"): Entry("region"),
    ("get", "/api/v1/regions/{code}/children"): Entry("region"),
    ("get", "/api/v1/regions/{code}/counts"): Entry("region"),
    ("get", "/api/v1/units/{public_id}"): Entry("unit"),
    ("get", "/api/v1/cases/{code}"): Entry("case"),
    ("get", "/api/v1/cases/{code}/timeline"): Entry("case"),
    **{
        ("post", f"/api/v1/cases/{{code}}/{step}"): Entry(
            "case", "post", STEP, body=CASE_BODIES.get(step, {})
        )
        for step in CASE_STEPS
    },
    ("get", "/api/v1/tips/statistics"): Entry("statistics", query=PERIOD),
    ("get", "/api/v1/tips/statistics.xlsx"): Entry("statistics", query=PERIOD),
    ("get", "/api/v1/tips/{public_id}"): Entry("tip"),
    ("get", "/api/v1/tips/{public_id}/candidates"): Entry("tip"),
    ("get", "/api/v1/tips/{public_id}/attachments/{attachment_id}"): Entry("tip_file"),
    **{
        ("post", f"/api/v1/tips/{{public_id}}/{step}"): Entry("tip", "post", STEP, body=body)
        for step, body in TIP_BODIES.items()
    },
    ("post", "/api/v1/tips/reveal-requests/{public_id}/decision"): Entry(
        "reveal", "post", STEP, body={"approve": False}
    ),
}

API_LISTS: dict[tuple[str, str], Listing] = {
    ("get", "/api/v1/units"): Listing(
        queries=(
            {"limit": "100", "region": "{own_code}", "kind": "{own_kind}"},
            {"limit": "100"},
            {"limit": "100", "region": "{outside_code}"},
        ),
        shows=("unit",),
    ),
    ("get", "/api/v1/cases"): Listing(
        queries=({"limit": "100"}, {"limit": "100", "region": "{outside_code}"}), shows=("case",)
    ),
    ("get", "/api/v1/tips"): Listing(
        queries=(
            {"limit": "100"},
            *({"limit": "100", "queue": key} for key in ("triage", "handling", "carded")),
        ),
        shows=("tip",),
    ),
}

API_NO_OBJECTS: dict[tuple[str, str], str] = {
    ("get", "/api/v1/me"): "the caller's own account",
    ("get", "/api/v1/ping"): "liveness",
    ("post", "/api/v1/cases"): "intake",
    ("post", "/api/v1/tips"): "the anonymous tip line: the receipt is the only key",
    ("post", "/api/v1/tips/lookup"): "the anonymous tip line: the receipt is the only key",
    ("post", "/api/v1/tips/lookup/reply"): "the anonymous tip line: the receipt is the only key",
    ("post", "/api/v1/tips/lookup/opinion"): "the anonymous tip line: the receipt is the only key",
    ("post", "/api/v1/tips/intake"): "operator intake",
}


# --- the shared objects -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One set of objects and logged-in personas for the whole module, rolled back at its end.

    Each test still runs in its own savepoint (``db``), and each request in one more."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


def _values(world: World, name: str, sample: str, where: str) -> dict[str, Any]:
    """URL values (HTML names and API names alike) of the persona's inside or outside object.

    ``where`` is "inside", "outside" or "mixed" (the persona's own parent, a foreign child)."""
    persona = world.personas[name]
    inside = where == "inside"
    place = world.inside_place(persona) if inside else world.outside_place(persona)
    own = world.inside_place(persona)
    tip = world.inside_tip(name) if inside else world.outside_tip(name)
    own_tip = world.inside_tip(name)
    values: dict[str, Any] = {
        "unit": str(own.unit.public_id),
        "own_tip": str(world.merge_target(name).tip.public_id),
        "outside_code": world.outside_place(persona).code,
        "own_code": persona.membership.region_code,
        "own_kind": persona.unit.kind,
    }
    if sample == "region" or sample == "statistics":
        values["code"] = persona.membership.region_code if inside else place.code
        values["region"] = values["code"]
    elif sample == "unit":
        values["public_id"] = (persona.unit if inside else place.unit).public_id
    elif sample in {"case", "case_file", "case_party"}:
        parent = own if where == "mixed" else place
        values["case_code"] = values["code"] = parent.case.code
        values["attachment_id"] = place.attachment.public_id
        values["party_id"] = place.party.public_id
    elif sample == "terminated":
        values["case_code"] = place.terminated.code
    elif sample in {"tip", "tip_file", "tip_reveal"}:
        parent = own_tip if where == "mixed" else tip
        values["tip_id"] = values["public_id"] = parent.tip.public_id
        values["file_id"] = values["attachment_id"] = tip.file.public_id
        values["reveal_id"] = tip.reveal.public_id
    elif sample == "reveal":
        values["public_id"] = tip.reveal.public_id
    elif sample == "notice":
        notice = world.notice_inside(persona) if inside else world.notice_outside(persona)
        values["public_id"] = notice.public_id
    elif sample == "token":
        values["prefix"] = world.tokens[name if inside else "near_user"]
    elif sample == "key":
        values["prefix"] = place.key_prefix
    elif sample == "user":
        values["public_id"] = (world.near_user if inside else world.far_user).public_id
        values["membership"] = (world.near_membership if inside else world.far_membership).pk
        values["session"] = world.sessions[(world.near_user if inside else world.far_user).pk]
    else:
        raise AssertionError(f"unknown sample {sample}")
    return values


def _fill(template: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.format(**values) if isinstance(value, str) else value
        for key, value in template.items()
    }


def _ask(client: Client, method: str, url: str, *, data: Any = None, api: bool = False):
    """One request in a savepoint that is rolled back: a step taken leaves no trace."""
    with transaction.atomic():
        if api and method == "post":
            response = client.post(url, data or {}, content_type="application/json")
        else:
            response = getattr(client, method)(url, data or {})
        transaction.set_rollback(True)
    return response


def _text(response) -> str:
    """Everything an answer shows: its text, or every cell of a workbook."""
    if response.get("Content-Type", "").startswith(XLSX):
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(response.content), read_only=True)
        return "\n".join(
            str(cell)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for cell in row
            if cell is not None
        )
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def _leaks(response, forbidden: dict[str, str]) -> list[str]:
    if not 200 <= response.status_code < 300:
        return []
    content_type = response.get("Content-Type", "")
    if not content_type.startswith(("text/", "application/json", XLSX, "application/xml")):
        return []  # PDFs and stored files: their names are checked through the routes instead
    text = _text(response)
    return [what for ident, what in forbidden.items() if ident and ident in text]


@functools.cache
def _cap_of(name: str) -> str | None:
    return _capability({route.name: route for route in iter_routes()}[name].callback)


@functools.cache
def _params() -> dict[str, set[str]]:
    return _route_params()


@functools.cache
def _api_gates() -> dict[tuple[str, str], str | None]:
    """(method, path) → the capability the operation's gate asks for (None: no gate)."""
    gates = {}
    for prefix, router in api._routers:
        for path, view in router.path_operations.items():
            for operation in view.operations:
                for method in operation.methods:
                    full = "/api/v1" + prefix + path
                    gates[(method.lower(), full)] = getattr(
                        operation.view_func, "fengqiao_capability", None
                    )
    return gates


# --- classification ---------------------------------------------------------------------------


def test_every_route_is_in_the_object_table():
    tables = [OBJECTS, PUBLIC_OBJECTS, LISTS, NO_OBJECTS]
    params = _route_params()
    names = {route.name for route in iter_routes() if not route.name.startswith("api-v1:")}
    missing = sorted(name for name in names if not any(name in table for table in tables))
    twice = sorted(name for name in names if sum(name in table for table in tables) > 1)
    gone = sorted(set().union(*tables) - names)
    assert not missing, f"routes missing from the object matrix: {missing}"
    assert not twice, f"routes in two tables: {twice}"
    assert not gone, f"object matrix names routes that no longer exist: {gone}"
    # An object in the URL cannot be waved through as "no objects".
    hidden = sorted(name for name in NO_OBJECTS if params[name] - CONFIG_PARAMS)
    assert not hidden, f"routes with object parameters listed as having none: {hidden}"


def test_every_api_operation_is_in_the_object_table():
    schema = api.get_openapi_schema()
    operations = {(method, path) for path, item in schema["paths"].items() for method in item}
    tables = [API_OBJECTS, API_LISTS, API_NO_OBJECTS]
    missing = sorted(op for op in operations if not any(op in table for table in tables))
    gone = sorted({op for table in tables for op in table} - operations)
    assert not missing, f"API operations missing from the object matrix: {missing}"
    assert not gone, f"object matrix names API operations that no longer exist: {gone}"
    assert set(_api_gates()) == operations
    hidden = sorted(op for op in API_NO_OBJECTS if "{" in op[1])
    assert not hidden, f"API operations with path parameters listed as having none: {hidden}"


# --- objects, inside and outside --------------------------------------------------------------


def _check_html(world: World, name: str, route: str, entry: Entry, cap: str | None) -> list[str]:
    persona = world.personas[name]
    holds = cap is None or persona.membership.can(cap)
    params = _params()[route]
    forbidden = world.forbidden(name)
    failures = []
    wheres = ["inside", "outside"]
    if holds and params & {"attachment_id", "party_id", "file_id", "reveal_id"}:
        wheres.append("mixed")
    for where in wheres:
        values = _values(world, name, entry.sample, where)
        url = reverse(route, kwargs={key: values[key] for key in params})
        data = _fill(entry.body if entry.method == "post" else entry.query, values)
        response = _ask(persona.client, entry.method, url, data=data)
        status = response.status_code
        expected = entry.ok if where == "inside" and holds else frozenset({404})
        if status not in expected:
            failures.append(f"{entry.method.upper()} {url} ({route}, {where}) → {status}")
        if leaks := _leaks(response, forbidden):
            failures.append(f"{route} ({where}) shows {leaks}")
    return failures


@pytest.mark.parametrize("name", PERSONA_NAMES)
def test_html_objects_outside_the_scope_are_404(world, db, name):
    failures = []
    for route, entry in OBJECTS.items():
        failures += _check_html(world, name, route, entry, _cap_of(route))
    assert not failures, "\n".join(failures)


def _api_url(path: str, values: dict[str, Any]) -> str:
    for key in ("code", "public_id", "attachment_id"):
        if "{" + key + "}" in path:
            path = path.replace("{" + key + "}", str(values[key]))
    return path


@pytest.mark.parametrize("name", PERSONA_NAMES)
def test_api_objects_outside_the_scope_are_404(world, db, name):
    persona = world.personas[name]
    gates = _api_gates()
    forbidden = world.forbidden(name)
    failures = []
    for (method, path), entry in API_OBJECTS.items():
        cap = gates[(method, path)]
        holds = cap is None or persona.membership.can(cap)
        wheres = ["inside", "outside"]
        if holds and "{attachment_id}" in path:
            wheres.append("mixed")
        for where in wheres:
            values = _values(world, name, entry.sample, where)
            url = _api_url(path, values)
            data = _fill(entry.body if method == "post" else entry.query, values)
            response = _ask(world.api_clients[name], method, url, data=data, api=True)
            status = response.status_code
            expected = entry.ok if where == "inside" and holds else frozenset({404})
            if status not in expected:
                failures.append(f"{method.upper()} {url} ({where}) → {status}")
            elif status == 404 and response.json().get("code") != "not_found":
                failures.append(f"{method.upper()} {url} ({where}) → 404 {response.json()}")
            if leaks := _leaks(response, forbidden):
                failures.append(f"{method.upper()} {path} ({where}) shows {leaks}")
    assert not failures, "\n".join(failures)


# --- lists, queues, exports -------------------------------------------------------------------


TIP_HANDLERS = {"police_fengqiao", "anti_gang_zhuji", "discipline_zhuji"}


def _own(world: World, name: str, kind: str) -> str | None:
    """How lists name the persona's own object of ``kind``; None when it has none."""
    persona = world.personas[name]
    place = world.inside_place(persona)
    in_region = place.code.startswith(persona.membership.scope_prefix)
    return {
        "case": lambda: place.case.code if in_region else None,
        "key": lambda: place.key_prefix if in_region else None,
        "tip": lambda: world.inside_tip(name).tip.reference if name in TIP_HANDLERS else None,
        "notice": lambda: world.notice_inside(persona).title,
        "token": lambda: world.tokens[name],
        "user": lambda: world.near_user.username,
        "unit": lambda: str(persona.unit.public_id),
    }[kind]()


def _check_listing(
    world: World, name: str, url: str, listing: Listing, cap: str | None, client: Client
) -> list[str]:
    """Every query of one list: 404 without the capability; else nothing from outside, and
    (first query) the persona's own object. A filter naming a region outside may be a 404."""
    persona = world.personas[name]
    holds = cap is None or persona.membership.can(cap)
    forbidden = world.forbidden(name)
    values = _values(world, name, "region", "outside")
    failures = []
    # Without the capability the gate answers before any query is read: one query is enough.
    queries = listing.queries if holds else listing.queries[:1]
    for index, query in enumerate(queries):
        data = _fill(query, values)
        response = _ask(client, "get", url, data=data)
        status = response.status_code
        refusable = "{outside_code}" in query.values()
        if not holds:
            if status != 404:
                failures.append(f"GET {url} {data} without {cap} → {status}")
            continue
        if status not in listing.ok and not (refusable and status == 404):
            failures.append(f"GET {url} {data} → {status}")
            continue
        if leaks := _leaks(response, forbidden):
            failures.append(f"GET {url} {data} shows {leaks}")
        if index == 0 and status == 200:
            text = _text(response)
            for kind in listing.shows:
                ident = _own(world, name, kind)
                if ident is not None and ident not in text:
                    failures.append(f"GET {url} {data} does not show own {kind} {ident}")
    return failures


@pytest.mark.parametrize("name", PERSONA_NAMES)
def test_lists_and_exports_name_nothing_outside_the_scope(world, db, name):
    failures = []
    for route, listing in LISTS.items():
        for params in listing.params:
            url = reverse(route, kwargs=params)
            failures += _check_listing(
                world, name, url, listing, _cap_of(route), world.personas[name].client
            )
    gates = _api_gates()
    for (method, path), listing in API_LISTS.items():
        failures += _check_listing(
            world, name, path, listing, gates[(method, path)], world.api_clients[name]
        )
    assert not failures, "\n".join(failures)


# --- public routes that name an object --------------------------------------------------------


def test_public_objects_and_open311_lists(world, db):
    """Open311 shows public-space cases only; tracking needs the case's own token."""
    # An address of its own, so the tracking rate limit counts these requests apart.
    anonymous = Client(REMOTE_ADDR="192.0.2.7")
    hazard, dispute = world.hazard, world.places["grid1"].case
    other = world.places["grid2"]
    failures = []
    asks = {
        "open311:request": [
            ({"service_request_id": hazard.code, "fmt": "json"}, 200),
            ({"service_request_id": dispute.code, "fmt": "json"}, 404),
            ({"service_request_id": dispute.code, "fmt": "xml"}, 404),
        ],
        "open311:token": [
            ({"token": str(hazard.public_id), "fmt": "json"}, 200),
            ({"token": str(dispute.public_id), "fmt": "json"}, 404),
        ],
        "cases_public:track": [
            ({"code": dispute.code, "token": world.places["grid1"].tracking_token}, 200),
            ({"code": dispute.code, "token": other.tracking_token}, 404),
            ({"code": other.case.code, "token": world.places["grid1"].tracking_token}, 404),
        ],
    }
    assert {*asks, "open311:requests"} == set(PUBLIC_OBJECTS)
    for route, cases in asks.items():
        for kwargs, expected in cases:
            response = _ask(anonymous, "get", reverse(route, kwargs=kwargs))
            if response.status_code != expected:
                failures.append(f"{route} {kwargs} → {response.status_code}, not {expected}")
    # The Open311 list, plainly and by id: public-space cases only.
    disputes = {
        case.code for place in world.places.values() for case in (place.case, place.terminated)
    }
    for fmt in ("json", "xml"):
        url = reverse("open311:requests", kwargs={"fmt": fmt})
        for query in ({}, {"service_request_id": ",".join(sorted(disputes | {hazard.code}))}):
            text = _text(_ask(anonymous, "get", url, data=query))
            if hazard.code not in text:
                failures.append(f"{url} {query} does not list the public case")
            if shown := sorted(code for code in disputes if code in text):
                failures.append(f"{url} {query} lists disputes {shown}")
    assert not failures, "\n".join(failures)
