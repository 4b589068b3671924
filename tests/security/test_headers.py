"""SECURITY 20: security headers on every HTML response."""

from __future__ import annotations

import pytest


def assert_security_headers(response) -> None:
    csp = response["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"  # never to another site
    assert response["X-Frame-Options"] == "DENY"
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_login_page_carries_security_headers(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert_security_headers(response)


@pytest.mark.django_db
def test_workbench_carries_security_headers(town_operator_fengqiao):
    response = town_operator_fengqiao.client.get("/workbench/")
    assert response.status_code == 200
    assert_security_headers(response)


@pytest.mark.django_db
def test_redirects_and_errors_carry_security_headers(client, town_operator_fengqiao):
    assert_security_headers(client.get("/workbench/"))
    assert_security_headers(town_operator_fengqiao.client.get("/regions/999999/"))


@pytest.mark.django_db
def test_html_pages_never_inline_scripts_or_styles(town_operator_fengqiao):
    html = town_operator_fengqiao.client.get("/workbench/").content.decode()
    assert "<script>" not in html and " style=" not in html and "onclick=" not in html


def test_database_outage_answers_structured_503(rf):
    """A lost database connection answers 503 with a stable code, never a stack trace: JSON for
    the API, a page needing no database for people."""
    from django.db import OperationalError

    from fengqiao.core.middleware import DatabaseUnavailableMiddleware

    middleware = DatabaseUnavailableMiddleware(lambda r: None)
    outage = OperationalError("connection refused")
    api = rf.get("/api/v1/cases")
    api.request_id = "abc12345"
    response = middleware.process_exception(api, outage)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    body = response.content.decode()
    assert '"code": "service_unavailable"' in body and "Traceback" not in body
    assert '"request_id": "abc12345"' in body
    page = middleware.process_exception(rf.get("/workbench/"), outage)
    assert page.status_code == 503 and page["Content-Type"].startswith("text/html")
    assert "服务暂时不可用" in page.content.decode() and "Traceback" not in page.content.decode()


def test_an_outage_raised_outside_a_view_still_answers_503(rf):
    """Middleware runs before process_exception can see an error; handler500 catches those."""
    from django.db import InterfaceError

    from fengqiao.core.views import server_error

    try:
        raise InterfaceError("connection already closed")
    except InterfaceError:
        response = server_error(rf.get("/api/v1/me"))
    assert response.status_code == 503 and b"service_unavailable" in response.content
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(rf.get("/api/v1/me"))
    assert response.status_code == 500 and b"a bug" not in response.content


def test_ordinary_errors_are_not_masked_as_outages(rf):
    from fengqiao.core.middleware import DatabaseUnavailableMiddleware

    middleware = DatabaseUnavailableMiddleware(lambda r: None)
    assert middleware.process_exception(rf.get("/"), ValueError("bug")) is None
