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
    """A lost database connection answers 503 JSON with a stable code, never a stack trace."""
    from django.db import OperationalError

    from fengqiao.core.middleware import DatabaseUnavailableMiddleware

    request = rf.get("/workbench/")
    request.request_id = "abc12345"
    middleware = DatabaseUnavailableMiddleware(lambda r: None)
    response = middleware.process_exception(request, OperationalError("connection refused"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.content.decode()
    assert '"code": "service_unavailable"' in body and "Traceback" not in body


def test_ordinary_errors_are_not_masked_as_outages(rf):
    from fengqiao.core.middleware import DatabaseUnavailableMiddleware

    middleware = DatabaseUnavailableMiddleware(lambda r: None)
    assert middleware.process_exception(rf.get("/"), ValueError("bug")) is None
