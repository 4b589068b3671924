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
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from fengqiao.accounts.models import Membership, User
from fengqiao.accounts.roles import CAPABILITIES, Cap, Role
from fengqiao.core import services as core_services
from fengqiao.core.models import CalendarDay
from fengqiao.regions.models import Level, Region, Unit, UnitKind
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
}

# A city outside Shaoxing, so even city-wide personas have somewhere they may not look.
HANGZHOU = "330100"
NATIONAL_DAY = datetime.date(2026, 10, 1)

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


def _url(name: str, params: set[str], persona: Persona, world: dict, *, inside: bool) -> str:
    """The route's URL with real objects, inside the persona's scope or just outside it."""
    scope = persona.membership.scope_prefix
    values = {
        "code": persona.membership.region_code if inside else _outside(scope),
        "public_id": (world["near_user"] if inside else world["far_user"]).public_id,
        "day": world["day"].date.isoformat(),
        "year": world["day"].date.year,
        "prefix": "0" * 12,
    }
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
        if not persona.membership.can(cap) or not params[name] & {"code", "public_id"}:
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
        ("system_admin", ("accounts.", "core.", "regions.")),
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
    for method, path in API_OPERATIONS:
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
