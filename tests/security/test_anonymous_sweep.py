"""SECURITY 6: deny by default. An anonymous visitor gets no 2xx from any non-public route.

The public routes are listed here by name; a new route is private unless it is added to this
list on purpose, so forgetting a decorator can never publish a page.
"""

from __future__ import annotations

import pytest

from fengqiao.core.access import is_public_view
from security.urlwalk import iter_routes

# Reachable without a session, by design.
PUBLIC_ROUTES = {
    "accounts:login",
    "accounts:otp",
    "accounts:enrol",
    "set_language",
    "api-v1:openapi-json",
    "api-v1:openapi-view",
    # Open311 GeoReport v2: anonymous reads by the spec; POST needs an api_key (403 without).
    "open311:discovery",
    "open311:services",
    "open311:service_definition",
    "open311:requests",
    "open311:request",
    "open311:token",
    "open311:not_found",
    # Citizen case pages: report, region picker, tracking lookup, tracking by code + token.
    "cases_public:report",
    "cases_public:regions",
    "cases_public:lookup",
    "cases_public:track",
    # The anonymous tip line: explanation, tip form, region picker, receipt lookup, reply,
    # opinion (no account, no cookies, stateless CSRF: tips/views/public.py).
    "tips_public:about",
    "tips_public:report",
    "tips_public:regions",
    "tips_public:lookup",
    "tips_public:reply",
    "tips_public:opinion",
}


def test_every_public_view_is_listed():
    public = {r.name for r in iter_routes() if is_public_view(r.callback)}
    assert public <= PUBLIC_ROUTES, f"unlisted public views: {sorted(public - PUBLIC_ROUTES)}"


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_gets_no_success_from_private_routes(client, method):
    checked = 0
    for route in iter_routes():
        if route.name in PUBLIC_ROUTES:
            continue
        response = getattr(client, method)(route.url)
        assert not 200 <= response.status_code < 300, (
            f"{method.upper()} {route.url} ({route.name}) answered {response.status_code}"
        )
        checked += 1
    assert checked > 10


@pytest.mark.django_db
def test_anonymous_api_answers_structured_401(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert response.json()["message"]
