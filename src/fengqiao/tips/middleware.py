"""The anonymous tip line's routes leave no trace of who used them (SECURITY 19).

``AnonymousIntakeMiddleware`` runs first. For the reporter's routes — the public pages under
``/tips/public/``, ``POST /api/v1/tips`` and ``/api/v1/tips/lookup…`` — it removes from the request,
before any other code can read, log or store them:

- the client address (``REMOTE_ADDR`` becomes ``0.0.0.0``) and forwarding headers
  (``X-Forwarded-For``, ``X-Real-IP``, ``Forwarded``);
- the user agent, and the referrer of page loads (form posts keep it: under the platform's
  ``same-origin`` referrer policy it is our own page, and Django's CSRF check on HTTPS needs it);
- the client's ``X-Request-Id`` (a proxy could log it beside the address) and any
  ``Authorization`` header (the routes take none);
- the session cookie: a staff member who files a tip from a logged-in browser is anonymous
  here, so no session row is touched at the moment of the tip.

On the way out it drops the ``X-Request-Id`` response header, so the id the audit event carries
appears in no proxy log either. Other cookies the browser sends (CSRF, language) are read but
never stored. Deployments must not write access logs for these paths at the proxy.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

PUBLIC_PAGE_PREFIX = "/tips/public/"
LOOKUP_PREFIX = "/api/v1/tips/lookup"
SUBMIT_PATH = "/api/v1/tips"
_STRIPPED = (
    "HTTP_USER_AGENT",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
    "HTTP_X_REQUEST_ID",
    "HTTP_AUTHORIZATION",
)
NO_ADDRESS = "0.0.0.0"  # noqa: S104 (a placeholder value, never bound)


def is_anonymous_intake(request: HttpRequest) -> bool:
    """Whether the request is one of the reporter's routes."""
    path = request.path
    return (
        path.startswith(PUBLIC_PAGE_PREFIX)
        or path.startswith(LOOKUP_PREFIX)
        or (path.rstrip("/") == SUBMIT_PATH and request.method == "POST")
    )


class AnonymousIntakeMiddleware:
    """Strips identifying request data on the tip line's anonymous routes (see above)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_anonymous_intake(request):
            return self.get_response(request)
        meta = request.META
        meta["REMOTE_ADDR"] = NO_ADDRESS
        for key in _STRIPPED:
            meta.pop(key, None)
        if request.method in ("GET", "HEAD"):
            meta.pop("HTTP_REFERER", None)
        cookies = request.COOKIES
        if cookies.pop(settings.SESSION_COOKIE_NAME, None) is not None:
            meta["HTTP_COOKIE"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        request.fengqiao_anonymous_intake = True
        response = self.get_response(request)
        if response.has_header("X-Request-Id"):
            del response["X-Request-Id"]
        return response
