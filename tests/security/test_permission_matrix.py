"""SECURITY 7 and 9: role × region × action over every HTML route and every API operation.

Every route is classified here or in the anonymous sweep: public, gated by one capability
(``@requires`` marks the view), open to any verified staff member, or part of the JSON API (whose
operations are classified from the OpenAPI schema). An unclassified route fails the suite, so a
new URL cannot ship without someone deciding who may use it. Each persona then walks every
gated route with real objects inside and outside its region: without the capability the answer
is 404, with it the page works; out of scope is 404 as well.
"""

from __future__ import annotations

import datetime
import hashlib
import uuid

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from fengqiao.accounts.models import Membership, User
from fengqiao.accounts.roles import CAPABILITIES, Cap, Role
from fengqiao.cases import services as case_services
from fengqiao.cases.models import Attachment, Case, Category, Channel
from fengqiao.core import services as core_services
from fengqiao.core.models import CalendarDay
from fengqiao.regions.models import Level, Region, Unit, UnitKind
from fengqiao.tips import services as tip_services
from fengqiao.tips.attachments import IncomingFile
from fengqiao.tips.models import Tip
from personas import (
    DIANKOU_TOWN,
    FENGQIAO_TOWN,
    FENGYUAN_VILLAGE,
    PERSONA_NAMES,
    YUECHENG,
    Persona,
)
from security.test_anonymous_sweep import PUBLIC_ROUTES
from security.urlwalk import iter_routes

# Any verified staff member may use these; each does its own per-person work (or none).
STAFF_ROUTES = {
    "accounts:home",
    "accounts:workbench",
    "accounts:logout",
    "accounts:password_change",
    "accounts:switch_membership",
}

API_NAMESPACE = "api-v1:"

# Every operation of the JSON API, by what it reads. "self": the caller's own account;
# "region": one region by code, scoped; "unit_list" / "unit": units, scoped.
API_OPERATIONS = {
    ("get", "/api/v1/me"): "self",
    ("get", "/api/v1/regions/{code}"): "region",
    ("get", "/api/v1/regions/{code}/children"): "region",
    ("get", "/api/v1/regions/{code}/counts"): "region",
    ("get", "/api/v1/units"): "unit_list",
    ("get", "/api/v1/units/{public_id}"): "unit",
    # Cases (api/cases/; scoping per persona in tests/api/test_cases_scoping.py): "case_list",
    # "case" (one case by code, scoped), "case_create", "case_action" (one transition each).
    ("get", "/api/v1/ping"): "self",
    ("get", "/api/v1/cases"): "case_list",
    ("post", "/api/v1/cases"): "case_create",
    ("get", "/api/v1/cases/{code}"): "case",
    ("get", "/api/v1/cases/{code}/timeline"): "case",
    ("post", "/api/v1/cases/{code}/notes"): "case_action",
    ("post", "/api/v1/cases/{code}/accept"): "case_action",
    ("post", "/api/v1/cases/{code}/assign"): "case_action",
    ("post", "/api/v1/cases/{code}/sign"): "case_action",
    ("post", "/api/v1/cases/{code}/return"): "case_action",
    ("post", "/api/v1/cases/{code}/escalate"): "case_action",
    ("post", "/api/v1/cases/{code}/extension-request"): "case_action",
    ("post", "/api/v1/cases/{code}/extension-decision"): "case_action",
    ("post", "/api/v1/cases/{code}/suspend"): "case_action",
    ("post", "/api/v1/cases/{code}/resume"): "case_action",
    ("post", "/api/v1/cases/{code}/feedback"): "case_action",
    ("post", "/api/v1/cases/{code}/verify"): "case_action",
    ("post", "/api/v1/cases/{code}/evaluate"): "case_action",
    ("post", "/api/v1/cases/{code}/visit"): "case_action",
    ("post", "/api/v1/cases/{code}/reopen"): "case_action",
    ("post", "/api/v1/cases/{code}/reject"): "case_action",
    ("post", "/api/v1/cases/{code}/supervise"): "case_action",
    ("post", "/api/v1/cases/{code}/risk-flag"): "case_action",
    # Tips (api/tips/; the access matrix per persona is tests/tips/test_access.py and
    # tests/tips/test_api.py): "tip_public" needs no account (the reporter's receipt routes);
    # "tip_list" / "tip" / "tip_action": assignment-scoped (tips.handle); "tip_stats" and
    # "tip_intake": tips.statistics and tips.intake.
    ("post", "/api/v1/tips"): "tip_public",
    ("post", "/api/v1/tips/lookup"): "tip_public",
    ("post", "/api/v1/tips/lookup/reply"): "tip_public",
    ("post", "/api/v1/tips/lookup/opinion"): "tip_public",
    ("get", "/api/v1/tips"): "tip_list",
    ("post", "/api/v1/tips/intake"): "tip_intake",
    ("get", "/api/v1/tips/statistics"): "tip_stats",
    ("get", "/api/v1/tips/statistics.xlsx"): "tip_stats",
    ("get", "/api/v1/tips/{public_id}"): "tip",
    ("get", "/api/v1/tips/{public_id}/candidates"): "tip",
    ("get", "/api/v1/tips/{public_id}/attachments/{attachment_id}"): "tip",
    ("post", "/api/v1/tips/{public_id}/accept"): "tip_action",
    ("post", "/api/v1/tips/{public_id}/officials"): "tip_action",
    ("post", "/api/v1/tips/{public_id}/merge"): "tip_action",
    ("post", "/api/v1/tips/{public_id}/reject"): "tip_action",
    ("post", "/api/v1/tips/{public_id}/assign"): "tip_action",
    ("post", "/api/v1/tips/{public_id}/transfer"): "tip_action",
    ("post", "/api/v1/tips/{public_id}/start-verifying"): "tip_action",
    ("post", "/api/v1/tips/{public_id}/verification"): "tip_action",
    ("post", "/api/v1/tips/{public_id}/disposal"): "tip_action",
    ("post", "/api/v1/tips/{public_id}/close"): "tip_action",
    ("post", "/api/v1/tips/{public_id}/messages"): "tip_action",
    ("post", "/api/v1/tips/{public_id}/notes"): "tip_action",
    ("post", "/api/v1/tips/{public_id}/case-links"): "tip_action",
    ("post", "/api/v1/tips/{public_id}/reveal-requests"): "tip_action",
    ("post", "/api/v1/tips/reveal-requests/{public_id}/decision"): "tip_action",
    ("post", "/api/v1/tips/{public_id}/reporter"): "tip_action",
}

# A city outside Shaoxing, so even city-wide personas have somewhere they may not look.
HANGZHOU = "330100"
NATIONAL_DAY = datetime.date(2026, 10, 1)
SAMPLE_PDF = b"%PDF-1.4\n%%EOF\n"

# A persona with the capability may get a page, be redirected, or be told to POST instead.
WORKING = {200, 302, 405}

KNOWN_CAPABILITIES = frozenset().union(*CAPABILITIES.values())


def _route_params() -> dict[str, set[str]]:
    """Route name → names of its URL parameters (path converters and regex groups alike)."""
    params: dict[str, set[str]] = {}

    def walk(patterns, namespace: str, inherited: set[str]) -> None:
        for entry in patterns:
            own = set(entry.pattern.regex.groupindex)
            if isinstance(entry, URLResolver):
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, ns, inherited | own)
            elif isinstance(entry, URLPattern) and entry.name:
                params[f"{namespace}{entry.name}"] = inherited | own

    walk(get_resolver().url_patterns, "", set())
    return params


def _capability(callback) -> str | None:
    view_class = getattr(callback, "view_class", None)
    return getattr(callback, "fengqiao_capability", None) or getattr(
        view_class, "fengqiao_capability", None
    )


def _gated_routes() -> list[tuple[str, str]]:
    return sorted(
        (route.name, cap) for route in iter_routes() if (cap := _capability(route.callback))
    )


def _outside(prefix: str) -> str:
    """A region code outside ``prefix``: a neighbour where there is one, else another city."""
    for code in (FENGYUAN_VILLAGE, DIANKOU_TOWN, YUECHENG, HANGZHOU):
        if not code.startswith(prefix):
            return code
    raise AssertionError(f"no region outside {prefix}")


@pytest.fixture
def world(db):
    """Objects for the URLs: Hangzhou (outside every persona), users in and out of scope, a day."""
    hangzhou = Region.objects.create(
        code=HANGZHOU, name="杭州市", place_name="杭州市", level=Level.CITY
    )
    far_unit = Unit.objects.create(
        name="杭州市社会治理中心", kind=UnitKind.GOVERNANCE_CENTRE, region=hangzhou
    )
    near_unit = Unit.objects.get(kind=UnitKind.COMMAND_ROOM, region__code=FENGQIAO_TOWN)
    near_user = User.objects.create_user(username="matrix_near", password=None, full_name="近")
    Membership.objects.create(
        user=near_user, unit=near_unit, role=Role.GRID_WORKER, region_code=near_unit.region_code
    )
    far_user = User.objects.create_user(username="matrix_far", password=None, full_name="远")
    Membership.objects.create(
        user=far_user, unit=far_unit, role=Role.GRID_WORKER, region_code=far_unit.region_code
    )
    # The shipped calendar may already hold the day; either way the edit pages need a real one.
    day = CalendarDay.objects.filter(date=NATIONAL_DAY).first() or core_services.save_calendar_day(
        day=NATIONAL_DAY, kind=CalendarDay.Kind.HOLIDAY, name="国庆节"
    )
    return {"near_user": near_user, "far_user": far_user, "far_unit": far_unit, "day": day}


def _sample_case(world: dict, region_code: str) -> tuple[Case, Attachment]:
    """A case seated in ``region_code`` with one attachment, made once per region and test."""
    made = world.setdefault("cases", {})
    if region_code not in made:
        category = Category.objects.reportable().order_by("code").first()
        case = case_services.report_case(
            data=case_services.IntakeData(
                category=category,
                channel=Channel.WEB,
                title="矩阵样例",
                description="权限矩阵的样例案件",
                region_code=region_code,
            )
        )
        attachment = Attachment(
            case=case,
            original_name="sample.pdf",
            content_type="application/pdf",
            size=len(SAMPLE_PDF),
            sha256=hashlib.sha256(SAMPLE_PDF).hexdigest(),
        )
        attachment.file.save("sample.pdf", ContentFile(SAMPLE_PDF), save=False)
        attachment.save()
        made[region_code] = (case, attachment)
    return made[region_code]


def _sample_tip(world: dict, persona: Persona, *, inside: bool) -> tuple[Tip, object]:
    """A tip with one file. Tips are need-to-know, so "inside" is a tip assigned to the persona's
    own unit; "outside" is one routed to a unit in another city (no unit of theirs sees it)."""
    made = world.setdefault("tips", {})
    key = persona.unit.pk if inside else None
    if key not in made:
        tip = tip_services.submit_tip(
            description="权限矩阵的样例线索",
            region_code=FENGYUAN_VILLAGE,
            attachments=[IncomingFile("note.txt", "样例材料".encode())],
        ).tip
        # Test data only: place the tip directly instead of walking the workflow.
        if inside:
            Tip.objects.filter(pk=tip.pk).update(assigned_unit=persona.unit, status="assigned")
        else:
            Tip.objects.filter(pk=tip.pk).update(routed_unit=world["far_unit"])
        made[key] = (tip, tip.attachments.get())
    return made[key]


def _url(name: str, params: set[str], persona: Persona, world: dict, *, inside: bool) -> str:
    """The route's URL with real objects, inside the persona's scope or just outside it."""
    scope = persona.membership.scope_prefix
    values = {
        "code": persona.membership.region_code if inside else _outside(scope),
        "public_id": (world["near_user"] if inside else world["far_user"]).public_id,
        "day": world["day"].date.isoformat(),
        "year": world["day"].date.year,
        "prefix": "0" * 12,
        "queue": "to-accept",
        # Shipped by the cases 0002 data migration.
        "category_code": "dispute.neighbour",
        "policy_code": "standard",
    }
    if params & {"case_code", "attachment_id", "party_id"}:
        case, attachment = _sample_case(
            world, persona.membership.region_code if inside else _outside(scope)
        )
        values["case_code"] = case.code
        values["attachment_id"] = str(attachment.public_id)
        # Only POST routes take a party; their GET answers 405 before any lookup.
        values["party_id"] = str(uuid.UUID(int=7))
    if params & {"tip_id", "file_id", "reveal_id"}:
        tip, tip_file = _sample_tip(world, persona, inside=inside)
        values["tip_id"] = str(tip.public_id)
        values["file_id"] = str(tip_file.public_id)
        # Only POST routes take a reveal request; their GET answers 405 before any lookup.
        values["reveal_id"] = str(uuid.UUID(int=9))
    unknown = params - set(values)
    assert not unknown, f"{name}: no sample value for URL parameters {sorted(unknown)}"
    return reverse(name, kwargs={key: values[key] for key in params})


# --- classification ---------------------------------------------------------------------------


def test_every_route_is_classified():
    unclassified = [
        route.name
        for route in iter_routes()
        if route.name not in PUBLIC_ROUTES
        and route.name not in STAFF_ROUTES
        and not route.name.startswith(API_NAMESPACE)
        and _capability(route.callback) is None
    ]
    assert not unclassified, f"routes nobody classified: {unclassified}"


def test_staff_routes_exist_and_carry_no_capability():
    routes = {route.name: route for route in iter_routes()}
    assert set(routes) >= STAFF_ROUTES, sorted(STAFF_ROUTES - set(routes))
    assert not [name for name in STAFF_ROUTES if _capability(routes[name].callback)]


def test_every_gate_names_a_capability_some_role_holds():
    gated = _gated_routes()
    assert len(gated) > 20
    assert not [(name, cap) for name, cap in gated if cap not in KNOWN_CAPABILITIES]


@pytest.mark.django_db
def test_every_api_operation_is_classified(client):
    schema = client.get("/api/v1/openapi.json").json()
    operations = {(method, path) for path, item in schema["paths"].items() for method in item}
    assert operations == set(API_OPERATIONS), (
        f"unclassified: {sorted(operations - set(API_OPERATIONS))}; "
        f"gone: {sorted(set(API_OPERATIONS) - operations)}"
    )


# --- HTML -------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONA_NAMES, indirect=True)
def test_gated_routes_answer_404_without_the_capability_and_work_with_it(persona, world):
    params = _route_params()
    failures = []
    for name, cap in _gated_routes():
        url = _url(name, params[name], persona, world, inside=True)
        if persona.membership.can(cap):
            status = persona.client.get(url).status_code
            if status not in WORKING:
                failures.append(f"GET {url} ({name}, holds {cap}) → {status}")
        else:
            for method in ("get", "post"):
                status = getattr(persona.client, method)(url).status_code
                if status != 404:
                    failures.append(f"{method.upper()} {url} ({name}, lacks {cap}) → {status}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("persona", PERSONA_NAMES, indirect=True)
def test_gated_routes_answer_404_for_objects_outside_the_region(persona, world):
    params = _route_params()
    checked = 0
    failures = []
    for name, cap in _gated_routes():
        if not persona.membership.can(cap) or not params[name] & {
            "code",
            "public_id",
            "case_code",
            "tip_id",
        }:
            continue
        url = _url(name, params[name], persona, world, inside=False)
        response = persona.client.get(url)
        # A POST-only action answers 405 before looking anything up; its GET reveals nothing.
        if response.status_code not in {404, 405}:
            failures.append(f"GET {url} ({name}) → {response.status_code}")
        checked += 1
    assert not failures, "\n".join(failures)
    if persona.membership.can(Cap.REGIONS_BROWSE) or persona.membership.can(Cap.USERS_MANAGE):
        assert checked


@pytest.mark.parametrize("persona", PERSONA_NAMES, indirect=True)
def test_region_page_opens_inside_the_region_only(persona, world):
    inside = persona.client.get(reverse("regions:detail", args=[persona.membership.region_code]))
    outside = persona.client.get(
        reverse("regions:detail", args=[_outside(persona.membership.scope_prefix)])
    )
    if persona.membership.can(Cap.REGIONS_BROWSE):
        assert inside.status_code == 200
    else:
        assert inside.status_code == 404
    assert outside.status_code == 404


@pytest.mark.parametrize("persona", PERSONA_NAMES, indirect=True)
def test_staff_routes_work_for_every_verified_persona(persona):
    failures = [
        f"GET {reverse(name)} → {status}"
        for name in sorted(STAFF_ROUTES)
        if (status := persona.client.get(reverse(name)).status_code) not in WORKING
    ]
    assert not failures, "\n".join(failures)


def _names_with(prefix: str) -> set[str]:
    return {name for name, cap in _gated_routes() if cap.startswith(prefix)}


@pytest.mark.parametrize(
    ("persona", "reachable"),
    [
        ("system_admin", ("accounts.", "core.", "regions.", "cases.manage_taxonomy")),
        ("audit_admin", ("audit.",)),
        ("security_admin", ("security.",)),
    ],
    indirect=["persona"],
)
def test_administrators_reach_only_their_own_pages(persona, reachable, world):
    """SECURITY 9: the three administrators are kept apart; no one sees the others' pages."""
    params = _route_params()
    own = {name for prefix in reachable for name in _names_with(prefix)}
    assert own
    failures = []
    for name, _cap in _gated_routes():
        status = persona.client.get(_url(name, params[name], persona, world, inside=True))
        code = status.status_code
        if name in own and code not in WORKING:
            failures.append(f"{name}: own page answered {code}")
        if name not in own and code != 404:
            failures.append(f"{name}: another administrator's page answered {code}")
    assert not failures, "\n".join(failures)


# --- API --------------------------------------------------------------------------------------


def _api_path(path: str, *, code: str, public_id: uuid.UUID) -> str:
    return path.replace("{code}", code).replace("{public_id}", str(public_id))


@pytest.mark.django_db
def test_anonymous_gets_structured_401_from_every_api_operation(client):
    unit = Unit.objects.get(kind=UnitKind.COMMAND_ROOM, region__code=FENGQIAO_TOWN)
    for (method, path), kind in API_OPERATIONS.items():
        if kind == "tip_public":
            continue  # the reporter's routes take no account (tests/tips/test_api.py)
        url = _api_path(path, code=FENGQIAO_TOWN, public_id=unit.public_id)
        response = getattr(client, method)(url)
        assert response.status_code == 401, url
        body = response.json()
        assert body["code"] == "unauthenticated", url
        assert body["message"], url


def _assert_not_found(response, what: str) -> None:
    assert response.status_code == 404, f"{what} → {response.status_code}"
    assert response.json()["code"] == "not_found", what


@pytest.mark.parametrize("persona", PERSONA_NAMES, indirect=True)
def test_api_operations_are_scoped_to_the_persona(persona, world):
    membership = persona.membership
    prefix = membership.scope_prefix
    api = persona.client

    me = api.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["active_membership"]["id"] == membership.pk

    inside_unit = Unit.objects.filter(region_code__startswith=prefix).order_by("pk").first()
    outside_code = _outside(prefix)
    outside_unit = Unit.objects.exclude(region_code__startswith=prefix).order_by("pk").first()
    # Without regions.browse (audit and security administrators) every region read is a 404.
    browses = membership.can(Cap.REGIONS_BROWSE)
    for (method, path), kind in API_OPERATIONS.items():
        if kind == "region":
            inside = getattr(api, method)(
                _api_path(path, code=membership.region_code, public_id=inside_unit.public_id)
            )
            if browses:
                assert inside.status_code == 200, path
            else:
                _assert_not_found(inside, f"{path} without regions.browse")
            outside = getattr(api, method)(
                _api_path(path, code=outside_code, public_id=outside_unit.public_id)
            )
            _assert_not_found(outside, f"{path} for {outside_code}")
        elif kind == "unit":
            inside = api.get(_api_path(path, code="", public_id=inside_unit.public_id))
            if browses:
                assert inside.status_code == 200
                assert inside.json()["id"] == str(inside_unit.public_id)
            else:
                _assert_not_found(inside, "unit without regions.browse")
            outside = api.get(_api_path(path, code="", public_id=outside_unit.public_id))
            _assert_not_found(outside, f"unit {outside_unit.region_code}")

    # Lists: no out-of-scope ids, whether asked plainly or for a region outside.
    listed = api.get("/api/v1/units", {"limit": 100})
    if not browses:
        _assert_not_found(listed, "unit list without regions.browse")
        return
    assert listed.status_code == 200
    page = listed.json()
    assert page["items"]
    assert all(item["region_code"].startswith(prefix) for item in page["items"])
    assert page["count"] == Unit.objects.filter(region_code__startswith=prefix).count()
    assert str(world["far_unit"].public_id) not in {item["id"] for item in page["items"]}
    filtered = api.get("/api/v1/units", {"region": outside_code, "limit": 100})
    if filtered.status_code == 200:
        assert all(item["region_code"].startswith(prefix) for item in filtered.json()["items"])
    else:
        _assert_not_found(filtered, f"units?region={outside_code}")


@pytest.mark.parametrize("persona", ["audit_admin", "security_admin"], indirect=True)
def test_api_region_reads_need_regions_browse_like_the_html_pages(persona):
    assert persona.client.get(reverse("regions:browser")).status_code == 404
    response = persona.client.get(f"/api/v1/regions/{persona.membership.region_code}")
    _assert_not_found(response, "regions API without regions.browse")
