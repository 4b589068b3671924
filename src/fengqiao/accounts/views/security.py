"""Security administrator pages: lockouts, sessions, second factors (SECURITY 2, 4, 9).

The security administrator cannot create users or change roles; they see accounts only to end
sessions and reset authenticators.
"""

from __future__ import annotations

from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import messages
from django.contrib.sessions.models import Session
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from fengqiao.accounts import services
from fengqiao.accounts.forms import UserSearchForm
from fengqiao.accounts.models import TOTPAuthenticator, User, UserSession
from fengqiao.accounts.roles import Cap
from fengqiao.core.access import requires

PAGE_SIZE = 50
LOCKOUT_ROWS = 200


def _post_pk(request: HttpRequest, field: str) -> int:
    try:
        return int(request.POST.get(field, ""))
    except ValueError as exc:
        raise Http404 from exc


@requires(Cap.LOCKOUTS_MANAGE)
@require_http_methods(["GET"])
def lockout_list(request: HttpRequest) -> HttpResponse:
    """Recent failed-login counters; those at the limit within the cool-off are locked."""
    cooloff_start = timezone.now() - timedelta(hours=settings.AXES_COOLOFF_TIME)
    attempts = AccessAttempt.objects.order_by("-attempt_time")[:LOCKOUT_ROWS]
    rows = [
        {
            "attempt": attempt,
            "locked": attempt.failures_since_start >= settings.AXES_FAILURE_LIMIT
            and attempt.attempt_time >= cooloff_start,
        }
        for attempt in attempts
    ]
    return render(
        request,
        "accounts/security/lockouts.html",
        {"rows": rows, "limit": settings.AXES_FAILURE_LIMIT},
    )


@requires(Cap.LOCKOUTS_MANAGE)
@require_POST
def lockout_reset(request: HttpRequest) -> HttpResponse:
    attempt = get_object_or_404(AccessAttempt, pk=_post_pk(request, "attempt"))
    services.reset_lockout(
        attempt=attempt, actor=request.user, membership=request.membership, request=request
    )
    messages.success(request, _("The lockout has been lifted."))
    return redirect("accounts:security_lockouts")


def _users(request: HttpRequest):
    return User.objects.manageable_by(request.membership)


@requires(Cap.SESSIONS_MANAGE)
@require_http_methods(["GET"])
def security_user_list(request: HttpRequest) -> HttpResponse:
    form = UserSearchForm(request.GET or None)
    users = _users(request)
    if form.is_valid():
        users = users.search(form.cleaned_data["q"])
    page = Paginator(users.order_by("username"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "accounts/security/user_list.html", {"form": form, "page": page})


def _live_sessions(user: User) -> list[UserSession]:
    rows = list(UserSession.objects.of_user(user).order_by("-created_at"))
    alive = set(
        Session.objects.filter(
            session_key__in=[row.session_key for row in rows], expire_date__gt=timezone.now()
        ).values_list("session_key", flat=True)
    )
    return [row for row in rows if row.session_key in alive]


@requires(Cap.SESSIONS_MANAGE)
@require_http_methods(["GET"])
def security_user_detail(request: HttpRequest, public_id) -> HttpResponse:
    user = get_object_or_404(_users(request), public_id=public_id)
    return render(
        request,
        "accounts/security/user_detail.html",
        {
            "subject": user,
            "sessions": _live_sessions(user),
            "devices": TOTPAuthenticator.objects.filter(user=user).order_by("id"),
            "can_reset_totp": request.membership.can(Cap.SECOND_FACTOR_RESET),
        },
    )


@requires(Cap.SESSIONS_MANAGE)
@require_POST
def session_end(request: HttpRequest, public_id) -> HttpResponse:
    user = get_object_or_404(_users(request), public_id=public_id)
    user_session = get_object_or_404(
        UserSession.objects.of_user(user), pk=_post_pk(request, "session")
    )
    services.end_session(
        user_session=user_session,
        actor=request.user,
        membership=request.membership,
        request=request,
    )
    messages.success(request, _("The session has ended."))
    return redirect("accounts:security_user", public_id=user.public_id)


@requires(Cap.SESSIONS_MANAGE)
@require_POST
def sessions_end_all(request: HttpRequest, public_id) -> HttpResponse:
    user = get_object_or_404(_users(request), public_id=public_id)
    count = services.end_user_sessions(
        user=user, actor=request.user, membership=request.membership, request=request
    )
    messages.success(request, _("%(count)d session(s) ended.") % {"count": count})
    return redirect("accounts:security_user", public_id=user.public_id)


@requires(Cap.SECOND_FACTOR_RESET)
@require_POST
def totp_reset(request: HttpRequest, public_id) -> HttpResponse:
    user = get_object_or_404(_users(request), public_id=public_id)
    services.reset_second_factor(
        user=user, actor=request.user, membership=request.membership, request=request
    )
    messages.success(
        request, _("The authenticator has been reset; the user enrols again at next login.")
    )
    return redirect("accounts:security_user", public_id=user.public_id)
