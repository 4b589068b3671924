"""Cross-cutting request handling: request ids, deny-by-default, security headers, DB outages."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _

from fengqiao.core.access import is_public_view

logger = logging.getLogger(__name__)

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# Paths served without the session/OTP gate: static files, and the API, whose routers
# authenticate each operation themselves (token or verified session, see api.auth).
UNGATED_PREFIXES = ("/static/", "/api/")


def current_request_id() -> str:
    return _request_id.get()


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class RequestIdMiddleware:
    """Gives every request an id that ties its log lines and audit events together."""

    _valid = re.compile(r"^[A-Za-z0-9-]{8,64}$")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-Id", "")
        request_id = incoming if self._valid.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-Id"] = request_id
        return response


def is_database_outage(exception: BaseException) -> bool:
    return isinstance(exception, OperationalError | InterfaceError) or (
        isinstance(exception, DatabaseError) and "connection" in str(exception).lower()
    )


def outage_response(request: HttpRequest) -> HttpResponse:
    """503 for a database outage: the API's structured error, or a page that needs no database
    (no template: base.html's context processors would query it)."""
    logger.error("database unavailable on %s", request.path)
    if request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse(
            {
                "code": "service_unavailable",
                "message": "服务暂时不可用，请稍后重试",
                "request_id": getattr(request, "request_id", ""),
            },
            status=503,
        )
    else:
        title = _("Service temporarily unavailable")
        text = _("The service is temporarily unavailable. Nothing you sent was lost if you saw "
                 "no confirmation; please try again in a few minutes.")  # fmt: skip
        response = HttpResponse(
            f'<!doctype html><html lang="zh-Hans"><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><h1>{escape(title)}</h1><p>{escape(text)}</p></html>",
            status=503,
            content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = "5"
    return response


class DatabaseUnavailableMiddleware:
    """A database outage answers 503 with a structured error, never a stack trace (SECURITY 25).

    This catches outages in views; one raised inside another middleware (a session or token
    lookup) reaches ``core.views.server_error`` (``handler500``), which answers the same way.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_outage(exception):
            return outage_response(request)
        return None


class ApiErrorShapeMiddleware:
    """Every API error is ``{code, message}`` JSON, even ones raised outside the API's handlers.

    Django's resolver (unknown path → HTML 404) and ninja's method dispatch (plain-text 405)
    answer before any endpoint runs; clients must still get the stable code.
    """

    CODES = {
        400: ("bad_request", "请求有误"),
        401: ("unauthenticated", "未登录或凭证无效"),
        403: ("forbidden", "无权执行此操作"),
        404: ("not_found", "未找到"),
        405: ("method_not_allowed", "不支持的请求方法"),
        413: ("payload_too_large", "请求内容过大"),
        429: ("rate_limited", "请求过于频繁，请稍后再试"),
        500: ("server_error", "服务器内部错误"),
    }

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            code, message = self.CODES.get(response.status_code, ("error", "请求失败"))
            shaped = JsonResponse(
                {"code": code, "message": message},
                status=response.status_code,
                json_dumps_params={"ensure_ascii": False},
            )
            if response.has_header("Allow"):
                shaped["Allow"] = response["Allow"]
            return shaped
        return response


class DenyByDefaultMiddleware:
    """Every HTML view needs a verified (password + TOTP) session unless it is marked public.

    Views opt out with ``@public``; nothing is reachable by forgetting a decorator (SECURITY 6).
    A logged-in user who has not finished the second factor is sent to the OTP step.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if request.path.startswith(UNGATED_PREFIXES) or is_public_view(view_func):
            return None
        user = request.user
        if not user.is_authenticated:
            return redirect(f"{reverse(settings.LOGIN_URL)}?next={request.get_full_path()}")
        if not user.is_verified():
            return redirect("accounts:otp")
        return None


class SecurityHeadersMiddleware:
    """CSP without unsafe-inline, no framing, no caching of pages with personal data."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.setdefault("X-Content-Type-Options", "nosniff")
        response.setdefault("Referrer-Policy", settings.SECURE_REFERRER_POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)")
        if not request.path.startswith("/static/"):
            # Any page may show personal data once a person is logged in; none may be cached.
            response["Cache-Control"] = "no-store"
        return response
