"""Session policy: idle and absolute timeouts, the active membership, forced password change.

Runs after the authentication and OTP middleware and before deny-by-default (SECURITY 4):

- an authenticated session older than SESSION_ABSOLUTE_SECONDS, or idle longer than
  SESSION_IDLE_SECONDS, is logged out and sent to the login page with a message;
- an authenticated session without a verified second factor cannot exist in our login flow, so
  it is logged out too;
- ``request.membership`` (and ``request.user.active_membership``) is the session's membership,
  re-read from the database on every request: if it was removed or deactivated, the person is
  moved to another active membership of theirs, or logged out when none is left;
- a person whose password must change may reach only the password page and logout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from fengqiao.accounts import services, session_keys
from fengqiao.accounts.models import Membership
from fengqiao.core.access import is_public_view
from fengqiao.core.middleware import UNGATED_PREFIXES

# Reasons shown on the login page after a session ended (the page maps them to fixed texts).
REASON_IDLE = "idle"
REASON_ABSOLUTE = "absolute"
REASON_ENDED = "ended"
REASON_NO_ROLE = "no_role"
# The session's last activity and UserSession.last_seen_at are written at most this often.
TOUCH_SECONDS = 60
# Views a person with a password to change may still use.
PASSWORD_CHANGE_ALLOWED = frozenset({"accounts:password_change", "accounts:logout"})


def login_redirect(reason: str) -> HttpResponse:
    return redirect(f"{reverse(settings.LOGIN_URL)}?reason={reason}")


class SessionPolicyMiddleware:
    """Enforces the session rules above on every request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None
        had_cookie = settings.SESSION_COOKIE_NAME in request.COOKIES
        if request.user.is_authenticated:
            reason = self._check_session(request)
            if reason is not None:
                self._end(request)
                if request.path.startswith(UNGATED_PREFIXES):
                    return self.get_response(request)
                return login_redirect(reason)
        elif had_cookie and request.session.is_empty():
            # The cookie names a session the server no longer has: it expired (idle) or was
            # ended by an administrator. process_view tells the person why on private pages.
            request.fengqiao_session_gone = True
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if request.path.startswith(UNGATED_PREFIXES) or is_public_view(view_func):
            return None
        if getattr(request, "fengqiao_session_gone", False):
            return login_redirect(REASON_ENDED)
        user = request.user
        if not user.is_authenticated or request.membership is None:
            return None
        match = request.resolver_match
        view_name = match.view_name if match is not None else ""
        if view_name not in PASSWORD_CHANGE_ALLOWED and services.password_change_due(user):
            return redirect("accounts:password_change")
        return None

    def _check_session(self, request: HttpRequest) -> str | None:
        session = request.session
        now = time.time()
        if not request.user.is_verified():
            return REASON_ENDED
        login_at = session.get(session_keys.LOGIN_AT)
        if login_at is None or now - float(login_at) > settings.SESSION_ABSOLUTE_SECONDS:
            return REASON_ABSOLUTE
        last_seen = session.get(session_keys.LAST_SEEN, now)
        if now - float(last_seen) > settings.SESSION_IDLE_SECONDS:
            return REASON_IDLE
        membership = self._membership(request)
        if membership is None:
            return REASON_NO_ROLE
        if now - float(last_seen) >= TOUCH_SECONDS or session_keys.LAST_SEEN not in session:
            # Writing the time marks the session modified, and a modified session is saved
            # (an UPDATE of its row): once a minute, not on every page. The idle limit then
            # counts from activity recorded to within a minute, so it ends at most a minute early.
            session[session_keys.LAST_SEEN] = int(now)
        touched = session.setdefault(session_keys.SESSION_TOUCHED, int(now))
        if now - float(touched) >= TOUCH_SECONDS and session.session_key:
            session[session_keys.SESSION_TOUCHED] = int(now)
            services.touch_session(
                session_key=session.session_key, now=datetime.fromtimestamp(now, tz=UTC)
            )
        request.membership = membership
        request.user.active_membership = membership
        return None

    def _membership(self, request: HttpRequest) -> Membership | None:
        # All of the person's active memberships in one query: the page's membership switcher
        # shows them (``context_processors.memberships`` reads ``request.active_memberships``).
        memberships = list(
            Membership.objects.active()
            .of_user(request.user)
            .with_unit()
            .order_by("region_code", "pk")
        )
        request.active_memberships = memberships
        wanted = request.session.get(session_keys.ACTIVE_MEMBERSHIP)
        membership = next((m for m in memberships if str(m.pk) == str(wanted)), None)
        if membership is None and memberships:
            # The active one was removed or deactivated: fall back to another, if any.
            membership = memberships[0]
            request.session[session_keys.ACTIVE_MEMBERSHIP] = membership.pk
        return membership

    def _end(self, request: HttpRequest) -> None:
        session_key = request.session.session_key
        auth.logout(request)
        if session_key:
            services.forget_session(session_key=session_key)
        request.membership = None
