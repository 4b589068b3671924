"""The login sequence: password, then TOTP (or TOTP enrolment), then — only then — a session.

A password alone never makes a logged-in session (SECURITY 1): the password step keeps the user's
id in ``session[PENDING_USER]`` for a few minutes, and ``complete_login`` is the one function that
calls ``django.contrib.auth.login``. It may be called only from the views named in
``LOGIN_PATHS``; tests walk the URL resolver and the source tree to hold that line.
"""

from __future__ import annotations

import time

import django_otp
from django.contrib import auth
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django_otp.models import Device

from fengqiao.accounts import services, session_keys
from fengqiao.accounts.models import Membership, User, new_totp_key
from fengqiao.core import audit, crypto

# URL names of every view that creates a session or a credential, and what it creates. Each one
# runs only after the second factor: the OTP and enrolment steps check a TOTP code themselves,
# and token creation sits behind the deny-by-default gate, which requires a verified session.
LOGIN_PATHS: dict[str, str] = {
    "accounts:otp": "session",
    "accounts:enrol": "session",
    "accounts:token_create": "token",
}

# How long a password stays accepted while the person finds their authenticator.
PENDING_SECONDS = 5 * 60
# The authentication backend named on the session (the user was already checked by password).
BACKEND = "django.contrib.auth.backends.ModelBackend"


def client_ip(request: HttpRequest) -> str | None:
    # Same source as axes (AXES_IPWARE_META_PRECEDENCE_ORDER): the proxy sets REMOTE_ADDR.
    return request.META.get("REMOTE_ADDR") or None


def start_pending(request: HttpRequest, user: User, next_url: str) -> None:
    """Remember that ``user`` passed the password step; nothing more."""
    request.session.cycle_key()
    request.session[session_keys.PENDING_USER] = user.pk
    request.session[session_keys.PENDING_AT] = int(time.time())
    request.session[session_keys.PENDING_NEXT] = next_url


def pending_user(request: HttpRequest) -> User | None:
    """The user between password and second factor, if that state is still fresh."""
    user_id = request.session.get(session_keys.PENDING_USER)
    started = request.session.get(session_keys.PENDING_AT)
    if user_id is None or started is None:
        return None
    if time.time() - float(started) > PENDING_SECONDS:
        clear_pending(request)
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def clear_pending(request: HttpRequest) -> str:
    """Forget the pending state; returns where the person wanted to go."""
    request.session.pop(session_keys.PENDING_USER, None)
    request.session.pop(session_keys.PENDING_AT, None)
    return request.session.pop(session_keys.PENDING_NEXT, "") or ""


def _enrol_key_binding(user: User) -> crypto.Binding:
    # Bound to the person: a secret copied into another user's pending session does not open.
    return crypto.Binding(
        table="django_session", column=session_keys.ENROL_KEY, row=str(user.public_id)
    )


def offered_enrol_key(session: SessionBase, user: User) -> str | None:
    """The hex TOTP secret offered to ``user`` on the enrolment page, if one is pending."""
    token = session.get(session_keys.ENROL_KEY)
    if not token:
        return None
    try:
        return crypto.provider().decrypt(token, binding=_enrol_key_binding(user))
    except crypto.CryptoError:
        return None


def offer_enrol_key(request: HttpRequest, user: User) -> str:
    """The secret to enrol with: the pending one, or a new one kept encrypted in the session.

    The session store is the database, so the seed is sealed like any stored seed (SECURITY 5).
    """
    key = offered_enrol_key(request.session, user)
    if key is None:
        key = new_totp_key()
        request.session[session_keys.ENROL_KEY] = crypto.provider().encrypt(
            key, binding=_enrol_key_binding(user)
        )
    return key


def first_active_membership(user: User) -> Membership | None:
    return (
        Membership.objects.active().of_user(user).with_unit().order_by("region_code", "pk").first()
    )


def complete_login(request: HttpRequest, user: User, device: Device) -> tuple[bool, str]:
    """Turn a pending login whose second factor just passed into a session.

    Returns (logged_in, next_url). Refuses (and audits) a person with no active membership:
    they would have nothing they may do.
    """
    membership = first_active_membership(user)
    next_url = clear_pending(request)
    if membership is None:
        audit.record(
            "accounts.login",
            actor=user,
            obj=user,
            outcome="denied",
            detail={"reason": "no_active_membership"},
            request=request,
        )
        return False, ""
    auth.login(request, user, backend=BACKEND)  # cycles the session key
    django_otp.login(request, device)
    now = int(time.time())
    request.session[session_keys.LOGIN_AT] = now
    request.session[session_keys.LAST_SEEN] = now
    request.session[session_keys.SESSION_TOUCHED] = now
    request.session[session_keys.ACTIVE_MEMBERSHIP] = membership.pk
    request.session.save()
    services.register_session(
        user=user,
        session_key=request.session.session_key,
        ip_address=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
    )
    request.membership = membership
    audit.record("accounts.login", actor=user, membership=membership, obj=user, request=request)
    return True, next_url
