"""Login, second factor, enrolment, logout and password change (SECURITY 1–5).

Each failure at the password step answers the same page whatever the cause (unknown user, wrong
password, disabled account, lockout), so the response tells an attacker nothing (ASVS 6.3.1).
"""

from __future__ import annotations

import base64
from binascii import unhexlify

import django_otp
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.oath import TOTP

from fengqiao.accounts import services, session_keys
from fengqiao.accounts.authentication import (
    complete_login,
    offer_enrol_key,
    pending_user,
    start_pending,
)
from fengqiao.accounts.forms import CodeForm, LoginForm, PasswordChangeForm
from fengqiao.accounts.middleware import (
    REASON_ABSOLUTE,
    REASON_ENDED,
    REASON_IDLE,
    REASON_NO_ROLE,
)
from fengqiao.accounts.models import TOTPAuthenticator, User
from fengqiao.core import audit
from fengqiao.core.access import public
from fengqiao.core.qrcodes import qr_data_uri

REASON_LOGGED_OUT = "logged_out"
REASON_PENDING = "pending"


def _reason_message(reason: str) -> str | None:
    return {
        REASON_IDLE: _("You were logged out after 15 minutes without activity."),
        REASON_ABSOLUTE: _("Your session reached its 12-hour limit. Please log in again."),
        REASON_ENDED: _("Your session has ended. Please log in again."),
        REASON_NO_ROLE: _("You have no active role any more. Ask your system administrator."),
        REASON_LOGGED_OUT: _("You have logged out."),
        REASON_PENDING: _("The login took too long. Please enter your password again."),
    }.get(reason)


def _safe_next(request: HttpRequest, candidate: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _login_page(request: HttpRequest, form: LoginForm, *, failed: bool = False) -> HttpResponse:
    return render(
        request,
        "accounts/login.html",
        {
            "form": form,
            "failed": failed,
            "next": _safe_next(request, request.POST.get("next") or request.GET.get("next", "")),
            "reason_message": _reason_message(request.GET.get("reason", "")),
            "demo_mode": settings.DEMO_MODE,
        },
    )


def failed_login_response(request: HttpRequest, username: str) -> HttpResponse:
    """The one answer to every failed password step, including a lockout."""
    form = LoginForm(initial={"username": username[:150]})
    return _login_page(request, form, failed=True)


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """django-axes AXES_LOCKOUT_CALLABLE: a locked account looks like a wrong password."""
    username = ""
    if isinstance(credentials, dict):
        username = str(credentials.get("username") or "")
    username = username or request.POST.get("username", "")
    return failed_login_response(request, username)


def _record_password_failure(request: HttpRequest, username: str) -> None:
    known = User.objects.filter(username=username).first()
    locked = bool(getattr(request, "axes_locked_out", False))
    audit.record(
        "accounts.lockout" if locked else "accounts.login_failed",
        actor=known,
        obj=known,
        outcome="denied",
        # Never the password, and never a username nobody has: it may be a mistyped password.
        detail={"stage": "password", "known_user": known is not None},
        request=request,
    )


def _after_login(request: HttpRequest, next_url: str) -> HttpResponse:
    user = request.user
    if services.password_change_due(user):
        return redirect("accounts:password_change")
    return redirect(_safe_next(request, next_url) or reverse("accounts:workbench"))


@public
@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Step 1: username and password. Success only remembers a pending user."""
    if request.user.is_authenticated and getattr(request, "membership", None) is not None:
        return redirect("accounts:workbench")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        user = auth.authenticate(request, username=username, password=form.cleaned_data["password"])
        if user is None:
            _record_password_failure(request, username)
            return failed_login_response(request, username)
        start_pending(request, user, _safe_next(request, request.POST.get("next", "")))
        if TOTPAuthenticator.objects.devices_for_user(user, confirmed=True).exists():
            return redirect("accounts:otp")
        return redirect("accounts:enrol")
    return _login_page(request, form)


def _no_role_response(request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse('accounts:login')}?reason={REASON_NO_ROLE}")


def _verify_code(user: User, code: str) -> tuple[TOTPAuthenticator | None, bool]:
    """(device that accepted the code, whether any device was throttled)."""
    throttled = False
    for device in TOTPAuthenticator.objects.devices_for_user(user, confirmed=True):
        allowed, _info = device.verify_is_allowed()
        throttled = throttled or not allowed
        verified = django_otp.verify_token(user, device.persistent_id, code)
        if verified is not None:
            return verified, False
    return None, throttled


@public
@never_cache
@sensitive_post_parameters("otp_token")
@require_http_methods(["GET", "POST"])
def otp_view(request: HttpRequest) -> HttpResponse:
    """Step 2: a TOTP code. Each code logs in once (django-otp keeps the last time step)."""
    user = pending_user(request)
    if user is None:
        return redirect(f"{reverse('accounts:login')}?reason={REASON_PENDING}")
    if not TOTPAuthenticator.objects.devices_for_user(user, confirmed=True).exists():
        return redirect("accounts:enrol")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device, throttled = _verify_code(user, form.cleaned_data["otp_token"])
        if device is not None:
            logged_in, next_url = complete_login(request, user, device)
            if not logged_in:
                return _no_role_response(request)
            return _after_login(request, next_url)
        audit.record(
            "accounts.otp_failed",
            actor=user,
            obj=user,
            outcome="denied",
            detail={"stage": "otp", "throttled": throttled},
            request=request,
        )
        form.add_error(
            "otp_token",
            _("Too many wrong codes. Wait a little and try the next code.")
            if throttled
            else _("The code is not correct or was already used. Try the next code."),
        )
    return render(request, "accounts/otp.html", {"form": form})


def _grouped_secret(key_hex: str) -> str:
    secret = base64.b32encode(unhexlify(key_hex)).decode("ascii")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@public
@never_cache
@sensitive_post_parameters("otp_token")
@require_http_methods(["GET", "POST"])
def enrol_view(request: HttpRequest) -> HttpResponse:
    """First login (or after a reset): scan a QR code, confirm one code, and be logged in."""
    user = pending_user(request)
    if user is None:
        return redirect(f"{reverse('accounts:login')}?reason={REASON_PENDING}")
    if TOTPAuthenticator.objects.devices_for_user(user, confirmed=True).exists():
        return redirect("accounts:otp")
    # The secret lives (encrypted) in the pending session until confirmed; a GET writes no device.
    key = offer_enrol_key(request, user)
    candidate = TOTPAuthenticator(user=user, key=key, name=services.ENROLMENT_DEVICE_NAME)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        totp = TOTP(candidate.bin_key, candidate.step, candidate.t0, candidate.digits)
        if totp.verify(int(form.cleaned_data["otp_token"]), tolerance=candidate.tolerance):
            with transaction.atomic():
                device = services.enrol_totp_device(
                    user=user, key=key, last_t=totp.t(), request=request
                )
            request.session.pop(session_keys.ENROL_KEY, None)
            logged_in, next_url = complete_login(request, user, device)
            if not logged_in:
                return _no_role_response(request)
            return _after_login(request, next_url)
        audit.record(
            "accounts.otp_failed",
            actor=user,
            obj=user,
            outcome="denied",
            detail={"stage": "enrolment"},
            request=request,
        )
        form.add_error(
            "otp_token", _("The code is not correct. Check the time on your phone and try again.")
        )
    return render(
        request,
        "accounts/enrol.html",
        {
            "form": form,
            "qr_uri": qr_data_uri(candidate.config_url),
            "secret": _grouped_secret(key),
            "issuer": settings.OTP_TOTP_ISSUER,
            "username": user.username,
        },
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """Logout kills the server-side session (POST with CSRF only, SECURITY 11)."""
    session_key = request.session.session_key
    if request.user.is_authenticated:
        audit.record("accounts.logout", request=request)
    auth.logout(request)
    if session_key:
        services.forget_session(session_key=session_key)
    return redirect(f"{reverse('accounts:login')}?reason={REASON_LOGGED_OUT}")


@never_cache
@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def password_change_view(request: HttpRequest) -> HttpResponse:
    """Change one's own password; forced when an administrator set it or it has expired."""
    user = request.user
    due = services.password_change_due(user)
    form = PasswordChangeForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        old_key = request.session.session_key
        try:
            services.change_password(
                user=user,
                new_password=form.cleaned_data["new_password1"],
                keep_session_key=old_key,
                request=request,
            )
        except ValidationError as exc:
            form.add_error("new_password1", exc)
        else:
            update_session_auth_hash(request, user)  # cycles the key, keeps this session
            if old_key and request.session.session_key != old_key:
                request.session.save()
                services.rekey_session(old_key=old_key, new_key=request.session.session_key)
            messages.success(request, _("Your password has been changed."))
            return redirect("accounts:workbench")
    return render(
        request,
        "accounts/password_change.html",
        {"form": form, "due": due, "expiry_days": settings.PASSWORD_EXPIRY_DAYS},
    )
