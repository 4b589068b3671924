"""Writers for accounts: users, memberships, sessions, second factors, lockouts, API tokens.

Every change is a function here, keyword-only, atomic, and audited in the same transaction.
``membership`` is the acting membership of the person doing it through the web; it is ``None``
only for the command line, which is the one place the three administrator roles are granted,
changed or removed (SECURITY 9: the system administrator cannot make administrators).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib import import_module
from typing import TYPE_CHECKING, Any

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice

from fengqiao.accounts import session_keys, tokens
from fengqiao.accounts.models import ApiToken, Membership, TOTPAuthenticator, User, UserSession
from fengqiao.accounts.roles import ADMIN_ROLES, Role
from fengqiao.core import audit

if TYPE_CHECKING:
    from fengqiao.regions.models import Unit

TOKEN_LIFETIMES_DAYS = (30, 90, 180, 365)
ENROLMENT_DEVICE_NAME = "authenticator"


class AccountsError(Exception):
    """A change refused for a reason the person can act on; the message is shown as is."""


class AdminRoleRefused(AccountsError):
    """Administrator roles are granted, changed and removed only from the command line."""


def _session_store(session_key: str) -> SessionBase:
    engine = import_module(settings.SESSION_ENGINE)
    return engine.SessionStore(session_key=session_key)


def _refuse_admin_role(role: str, membership: Membership | None) -> None:
    if membership is not None and role in ADMIN_ROLES:
        raise AdminRoleRefused(
            _("Administrator roles can only be granted or changed on the command line.")
        )


def _holds_admin_role(user: User) -> bool:
    return user.memberships.filter(is_active=True, role__in=ADMIN_ROLES).exists()


def _in_scope(unit: Unit, membership: Membership | None) -> bool:
    return membership is None or unit.region_code.startswith(membership.scope_prefix)


# --- sessions -----------------------------------------------------------------------------------


@transaction.atomic
def register_session(
    *, user: User, session_key: str, ip_address: str | None = None, user_agent: str = ""
) -> UserSession:
    """Remember a fresh login session so it can be ended from outside (disable, role change)."""
    user_session, _created = UserSession.objects.update_or_create(
        session_key=session_key,
        defaults={
            "user": user,
            "last_seen_at": timezone.now(),
            "ip_address": ip_address or None,
            "user_agent": (user_agent or "")[:200],
        },
    )
    return user_session


@transaction.atomic
def rekey_session(*, old_key: str, new_key: str) -> None:
    """Follow a session whose key was cycled (password change keeps the person logged in)."""
    UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


def touch_session(*, session_key: str, now: datetime) -> None:
    """Record activity on a session (called at most once a minute per session)."""
    UserSession.objects.filter(session_key=session_key).update(last_seen_at=now)


@transaction.atomic
def forget_session(*, session_key: str) -> None:
    """Drop the record of a session that has ended by logout or timeout."""
    UserSession.objects.filter(session_key=session_key).delete()


def _end_sessions(user: User, *, keep: str | None = None) -> int:
    keys = list(
        UserSession.objects.of_user(user)
        .exclude(session_key=keep or "")
        .values_list("session_key", flat=True)
    )
    for key in keys:
        _session_store(key).delete()
    UserSession.objects.filter(session_key__in=keys).delete()
    return len(keys)


@transaction.atomic
def purge_expired_sessions() -> int:
    """Delete expired sessions and the records of sessions that no longer exist.

    Returns how many UserSession rows went. Idempotent, so a killed run is simply repeated.
    """
    Session.objects.filter(expire_date__lte=timezone.now()).delete()
    # session_key is the primary key of the session table: one indexed anti-join.
    stale = UserSession.objects.exclude(session_key__in=Session.objects.values("session_key"))
    count, _details = stale.delete()
    return count


@transaction.atomic
def end_user_sessions(
    *,
    user: User,
    actor: User | None,
    membership: Membership | None,
    request: HttpRequest | None = None,
) -> int:
    """End every session of ``user`` at once (security administrator); returns how many."""
    count = _end_sessions(user)
    audit.record(
        "accounts.sessions_ended",
        actor=actor,
        membership=membership,
        obj=user,
        detail={"sessions": count},
        request=request,
    )
    return count


@transaction.atomic
def end_session(
    *,
    user_session: UserSession,
    actor: User | None,
    membership: Membership | None,
    request: HttpRequest | None = None,
) -> None:
    """End one session of a user (security administrator)."""
    _session_store(user_session.session_key).delete()
    user = user_session.user
    user_session.delete()
    audit.record(
        "accounts.sessions_ended",
        actor=actor,
        membership=membership,
        obj=user,
        detail={"sessions": 1},
        request=request,
    )


@transaction.atomic
def switch_membership(
    *, session: SessionBase, user: User, target: Membership, request: HttpRequest | None = None
) -> Membership:
    """Make ``target`` (one of the user's active memberships) the one the person acts in."""
    if target.user_id != user.pk or not target.is_active or not target.unit.is_active:
        raise AccountsError(_("This role is not available to you."))
    session[session_keys.ACTIVE_MEMBERSHIP] = target.pk
    audit.record(
        "accounts.membership_switched",
        actor=user,
        membership=target,
        obj=target,
        request=request,
    )
    return target


# --- users and passwords ------------------------------------------------------------------------


@transaction.atomic
def create_user(
    *,
    username: str,
    full_name: str,
    password: str,
    actor: User | None,
    membership: Membership | None,
    request: HttpRequest | None = None,
) -> User:
    """Create a staff account with an initial password (初始密码).

    The person must choose their own password and enrol a TOTP authenticator at first login.
    """
    user = User(username=username, full_name=full_name)
    password_validation.validate_password(password, user=user)
    user.set_password(password)
    user.password_changed_at = timezone.now()
    user.password_must_change = True
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise AccountsError(_("A user with that username already exists.")) from exc
    audit.record(
        "accounts.user_created", actor=actor, membership=membership, obj=user, request=request
    )
    return user


@transaction.atomic
def set_initial_password(
    *,
    user: User,
    password: str,
    actor: User | None,
    membership: Membership | None,
    request: HttpRequest | None = None,
) -> User:
    """An administrator sets a new initial password; the person must change it at next login."""
    if membership is not None and _holds_admin_role(user):
        raise AdminRoleRefused(_("Administrator accounts are managed on the command line."))
    password_validation.validate_password(password, user=user)
    user.set_password(password)
    user.password_changed_at = timezone.now()
    user.password_must_change = True
    user.save(update_fields=["password", "password_changed_at", "password_must_change"])
    _end_sessions(user)
    audit.record(
        "accounts.password_reset", actor=actor, membership=membership, obj=user, request=request
    )
    return user


@transaction.atomic
def change_password(
    *,
    user: User,
    new_password: str,
    keep_session_key: str | None,
    request: HttpRequest | None = None,
) -> User:
    """A person changes their own password; every other session of theirs ends."""
    password_validation.validate_password(new_password, user=user)
    user.set_password(new_password)
    user.password_changed_at = timezone.now()
    user.password_must_change = False
    user.save(update_fields=["password", "password_changed_at", "password_must_change"])
    ended = _end_sessions(user, keep=keep_session_key)
    audit.record(
        "accounts.password_changed",
        actor=user,
        obj=user,
        detail={"other_sessions_ended": ended},
        request=request,
    )
    return user


def password_change_due(user: User, now: datetime | None = None) -> bool:
    """Whether the person must change their password before doing anything else."""
    if user.password_must_change:
        return True
    days = int(getattr(settings, "PASSWORD_EXPIRY_DAYS", 0) or 0)
    if days <= 0:
        return False
    changed = user.password_changed_at or user.date_joined
    return (now or timezone.now()) - changed >= timedelta(days=days)


@transaction.atomic
def disable_user(
    *,
    user: User,
    actor: User | None,
    membership: Membership | None,
    request: HttpRequest | None = None,
) -> User:
    """Disable an account (停用): its sessions and API tokens end at once."""
    if membership is not None and _holds_admin_role(user):
        raise AdminRoleRefused(_("Administrator accounts are managed on the command line."))
    if actor is not None and actor.pk == user.pk:
        raise AccountsError(_("You cannot disable your own account."))
    user.is_active = False
    user.save(update_fields=["is_active"])
    ended = _end_sessions(user)
    revoked = _revoke_tokens(ApiToken.objects.of_user(user))
    audit.record(
        "accounts.user_disabled",
        actor=actor,
        membership=membership,
        obj=user,
        detail={"sessions_ended": ended, "tokens_revoked": revoked},
        request=request,
    )
    return user


@transaction.atomic
def enable_user(
    *,
    user: User,
    actor: User | None,
    membership: Membership | None,
    request: HttpRequest | None = None,
) -> User:
    """Enable a disabled account again. Revoked tokens stay revoked."""
    if membership is not None and _holds_admin_role(user):
        raise AdminRoleRefused(_("Administrator accounts are managed on the command line."))
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit.record(
        "accounts.user_enabled", actor=actor, membership=membership, obj=user, request=request
    )
    return user


# --- memberships --------------------------------------------------------------------------------


def _membership_detail(target: Membership, **extra: Any) -> dict[str, Any]:
    return {"unit": str(target.unit.public_id), "role": target.role, **extra}


def _add_membership(*, user: User, unit: Unit, role: str) -> Membership:
    if role not in Role.values:
        raise AccountsError(_("Unknown role."))
    existing = Membership.objects.filter(user=user, unit=unit, role=role).first()
    if existing is not None:
        if existing.is_active:
            raise AccountsError(_("This person already holds this role in this unit."))
        existing.is_active = True
        existing.region_code = unit.region_code
        existing.save(update_fields=["is_active", "region_code", "updated_at"])
        return existing
    return Membership.objects.create(user=user, unit=unit, role=role, region_code=unit.region_code)


@transaction.atomic
def add_membership(
    *,
    user: User,
    unit: Unit,
    role: str,
    actor: User | None,
    membership: Membership | None,
    request: HttpRequest | None = None,
) -> Membership:
    """Give a person a (non-administrator) role in a unit inside the actor's region."""
    if role in ADMIN_ROLES:
        raise AdminRoleRefused(
            _("Administrator roles can only be granted or changed on the command line.")
        )
    if not _in_scope(unit, membership):
        raise AccountsError(_("This unit is outside your region."))
    if not unit.is_active:
        raise AccountsError(_("This unit is no longer active."))
    created = _add_membership(user=user, unit=unit, role=role)
    audit.record(
        "accounts.membership_added",
        actor=actor,
        membership=membership,
        obj=user,
        detail=_membership_detail(created),
        request=request,
    )
    return created


@transaction.atomic
def remove_membership(
    *,
    target: Membership,
    actor: User | None,
    membership: Membership | None,
    request: HttpRequest | None = None,
) -> Membership:
    """Take a role away (deactivate the membership); the person's sessions end at once."""
    _refuse_admin_role(target.role, membership)
    if not _in_scope(target.unit, membership):
        raise AccountsError(_("This unit is outside your region."))
    target.is_active = False
    target.save(update_fields=["is_active", "updated_at"])
    ended = _end_sessions(target.user)
    revoked = _revoke_tokens(ApiToken.objects.filter(membership=target))
    audit.record(
        "accounts.membership_removed",
        actor=actor,
        membership=membership,
        obj=target.user,
        detail=_membership_detail(target, sessions_ended=ended, tokens_revoked=revoked),
        request=request,
    )
    return target


@transaction.atomic
def change_membership_role(
    *,
    target: Membership,
    role: str,
    actor: User | None,
    membership: Membership | None,
    request: HttpRequest | None = None,
) -> Membership:
    """Change the role of a membership; the person's sessions and its tokens end at once."""
    if role not in Role.values:
        raise AccountsError(_("Unknown role."))
    _refuse_admin_role(target.role, membership)
    _refuse_admin_role(role, membership)
    if not _in_scope(target.unit, membership):
        raise AccountsError(_("This unit is outside your region."))
    if role == target.role:
        return target
    if Membership.objects.filter(user=target.user, unit=target.unit, role=role).exists():
        raise AccountsError(_("This person already holds this role in this unit."))
    old_role = target.role
    target.role = role
    target.save(update_fields=["role", "updated_at"])
    ended = _end_sessions(target.user)
    # A token acts with its membership's capabilities; a new role must not inherit old tokens.
    revoked = _revoke_tokens(ApiToken.objects.filter(membership=target))
    audit.record(
        "accounts.membership_role_changed",
        actor=actor,
        membership=membership,
        obj=target.user,
        detail=_membership_detail(
            target, old_role=old_role, sessions_ended=ended, tokens_revoked=revoked
        ),
        request=request,
    )
    return target


@transaction.atomic
def grant_admin_role(*, user: User, role: str, unit: Unit) -> Membership:
    """Grant an administrator role (command line only, SECURITY 9)."""
    if role not in ADMIN_ROLES:
        raise AccountsError(_("Not an administrator role."))
    granted = _add_membership(user=user, unit=unit, role=role)
    _end_sessions(user)
    audit.record(
        "accounts.admin_role_granted", obj=user, detail=_membership_detail(granted, via="cli")
    )
    return granted


@transaction.atomic
def revoke_admin_role(*, target: Membership) -> Membership:
    """Remove an administrator role (command line only)."""
    if target.role not in ADMIN_ROLES:
        raise AccountsError(_("Not an administrator role."))
    target.is_active = False
    target.save(update_fields=["is_active", "updated_at"])
    _end_sessions(target.user)
    audit.record(
        "accounts.admin_role_revoked",
        obj=target.user,
        detail=_membership_detail(target, via="cli"),
    )
    return target


# --- second factor and lockouts -----------------------------------------------------------------


@transaction.atomic
def enrol_totp_device(
    *, user: User, key: str, last_t: int, request: HttpRequest | None = None
) -> TOTPAuthenticator:
    """Store the authenticator a person just proved they hold (a code from it was accepted).

    ``last_t`` is the time step of that code, so the same code cannot log in again.
    """
    TOTPAuthenticator.objects.filter(user=user, confirmed=False).delete()
    device = TOTPAuthenticator.objects.create(
        user=user, name=ENROLMENT_DEVICE_NAME, key=key, confirmed=True, last_t=last_t
    )
    audit.record("accounts.totp_enrolled", actor=user, obj=user, request=request)
    return device


@transaction.atomic
def reset_second_factor(
    *,
    user: User,
    actor: User | None,
    membership: Membership | None,
    request: HttpRequest | None = None,
) -> int:
    """Delete a person's authenticators (lost phone): they enrol again at next login."""
    count, _details = TOTPAuthenticator.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    ended = _end_sessions(user)
    audit.record(
        "accounts.second_factor_reset",
        actor=actor,
        membership=membership,
        obj=user,
        detail={"sessions_ended": ended},
        request=request,
    )
    return count


@transaction.atomic
def reset_lockout(
    *,
    attempt: AccessAttempt,
    actor: User | None,
    membership: Membership | None,
    request: HttpRequest | None = None,
) -> None:
    """Lift a login lockout (one account + address pair) before its 15 minutes are over."""
    username = attempt.username or ""
    AccessAttempt.objects.filter(username=attempt.username, ip_address=attempt.ip_address).delete()
    audit.record(
        "accounts.lockout_reset",
        actor=actor,
        membership=membership,
        obj=("axes.accessattempt", attempt.pk),
        detail={"username": username[:150]},
        request=request,
    )


# --- API tokens ---------------------------------------------------------------------------------


def _revoke_tokens(queryset: QuerySet[ApiToken]) -> int:
    return queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


@transaction.atomic
def create_token(
    *,
    user: User,
    membership: Membership,
    name: str,
    lifetime_days: int,
    request: HttpRequest | None = None,
) -> tuple[ApiToken, str]:
    """Issue a personal API token for one membership; returns (token, raw value shown once)."""
    if membership.user_id != user.pk or not membership.is_active:
        raise AccountsError(_("This role is not available to you."))
    if lifetime_days not in TOKEN_LIFETIMES_DAYS:
        raise AccountsError(_("Choose one of the offered lifetimes."))
    prefix, raw = tokens.new_raw_token()
    while ApiToken.objects.filter(prefix=prefix).exists():
        prefix, raw = tokens.new_raw_token()
    token = ApiToken.objects.create(
        user=user,
        membership=membership,
        name=name,
        prefix=prefix,
        token_hash=tokens.hash_token(raw),
        expires_at=timezone.now() + timedelta(days=lifetime_days),
    )
    audit.record(
        "accounts.token_created",
        actor=user,
        membership=membership,
        obj=("accounts.apitoken", prefix),
        detail={"lifetime_days": lifetime_days},
        request=request,
    )
    return token, raw


@transaction.atomic
def revoke_token(
    *, api_token: ApiToken, actor: User, request: HttpRequest | None = None
) -> ApiToken:
    """Revoke a token now; it stops working on the next request."""
    if api_token.revoked_at is None:
        api_token.revoked_at = timezone.now()
        api_token.save(update_fields=["revoked_at"])
        audit.record(
            "accounts.token_revoked",
            actor=actor,
            membership=api_token.membership,
            obj=("accounts.apitoken", api_token.prefix),
            request=request,
        )
    return api_token
