"""API authentication: a personal token (Bearer) or a verified browser session.

Both end with ``request.user`` and ``request.membership`` set, so endpoints scope with
``Model.objects.visible_to(request.membership)`` exactly like the HTML views.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from django.conf import settings
from django.http import Http404, HttpRequest
from ninja.security import APIKeyCookie, HttpBearer

from fengqiao.accounts.tokens import authenticate_token


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``; the token is bound to one membership."""

    def authenticate(self, request: HttpRequest, token: str):
        api_token = authenticate_token(token)
        if api_token is None:
            return None
        request.user = api_token.user
        request.membership = api_token.membership
        request.user.active_membership = api_token.membership
        return api_token


class VerifiedSessionAuth(APIKeyCookie):
    """The browser's own session, only once password and TOTP have both passed.

    APIKeyCookie checks CSRF on unsafe methods, as SECURITY 11 asks.
    """

    param_name = "sessionid"

    def __init__(self) -> None:
        self.param_name = settings.SESSION_COOKIE_NAME
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a session cookie there is no ambient credential to forge a request with, so
        # no CSRF check: the caller gets 401 (no credentials), not 403 (failed CSRF).
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None):
        user = getattr(request, "user", None)
        membership = getattr(request, "membership", None)
        if user is None or not user.is_authenticated or not user.is_verified():
            return None
        if membership is None:
            return None
        return user


F = TypeVar("F", bound=Callable)

token_auth = TokenAuth()
session_auth = VerifiedSessionAuth()
STAFF_AUTH = [token_auth, session_auth]


def requires(capability: str) -> Callable[[F], F]:
    """Gate an API operation on the active membership's capability, like core.access.requires.

    Without it the answer is 404 (via the API's Http404 handler), the same as for an object out
    of scope, so the API discloses no more than the HTML pages do.
    """

    def decorator(operation: F) -> F:
        @wraps(operation)
        def wrapped(request: HttpRequest, *args, **kwargs):
            membership = getattr(request, "membership", None)
            if membership is None or not membership.can(capability):
                raise Http404
            return operation(request, *args, **kwargs)

        wrapped.fengqiao_capability = capability  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator
