"""People and their roles: users, memberships (user × unit × role), API tokens, sessions, TOTP."""

from __future__ import annotations

import time
import uuid
from base64 import b32encode
from binascii import unhexlify
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.util import hex_validator, random_hex

from fengqiao.accounts.querysets import (
    ApiTokenQuerySet,
    MembershipQuerySet,
    UserManager,
    UserSessionQuerySet,
)
from fengqiao.accounts.roles import Role, capabilities_of
from fengqiao.core.fields import EncryptedTextField
from fengqiao.core.models import PublicId, TimeStamped


class User(AbstractUser):
    """A staff account (工作人员账号). Citizens never have one; they use public pages.

    ``is_superuser`` is never set in daily use (SECURITY 9); power comes from memberships.
    """

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    full_name = models.CharField(_("full name"), max_length=100, blank=True)
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)
    # Set when an administrator chose the password (new account, reset): the person must pick
    # their own before doing anything else.
    password_must_change = models.BooleanField(_("password must change"), default=False)
    is_demo = models.BooleanField(_("demo account"), default=False)

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.username


class Membership(TimeStamped):
    """A person's role in a unit (任职): the unit's region is the scope of what they see.

    A membership is never deleted: removing it deactivates the row, so audit events and work
    done in it keep pointing at who acted in which role.
    """

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="memberships"
    )
    unit = models.ForeignKey(
        "regions.Unit",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    role = models.CharField(_("role"), max_length=40, choices=Role.choices)
    region_code = models.CharField(_("region code"), max_length=15, db_index=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["user_id", "region_code", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "unit", "role"], name="membership_unique_user_unit_role"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} · {self.get_role_display()}"

    @property
    def scope_prefix(self) -> str:
        return self.unit.scope_prefix

    @property
    def capabilities(self) -> frozenset[str]:
        return capabilities_of(self.role)

    def can(self, capability: str) -> bool:
        return capability in self.capabilities


class UserSession(models.Model):
    """A live login session of a user (登录会话), so services can end them at once.

    Filled at login; disabling a user or changing a membership deletes the user's sessions from
    the session store and these rows with them (SECURITY 4).
    """

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="login_sessions"
    )
    session_key = models.CharField(_("session key"), max_length=40, unique=True)
    created_at = models.DateTimeField(_("logged in at"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen at"))
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=200, blank=True)

    objects = UserSessionQuerySet.as_manager()

    class Meta:
        verbose_name = _("login session")
        verbose_name_plural = _("login sessions")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.created_at:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """A personal API token (个人接口令牌), bound to one membership and shown once.

    Only a hash of the token is stored; ``prefix`` is the public, indexed part used to find the
    row before the constant-time comparison of the hash.
    """

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    membership = models.ForeignKey(
        Membership,
        verbose_name=_("membership"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    token_hash = models.CharField(_("token hash"), max_length=80)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]
        indexes = [
            # The token page: ApiToken.objects.of_user(user) newest first.
            models.Index(fields=["user", "-created_at"], name="apitoken_user_created"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


def new_totp_key() -> str:
    """A fresh hex TOTP seed of 20 random bytes (160 bits, as RFC 4226 recommends)."""
    return random_hex(20)


def validate_totp_key(value: str) -> None:
    hex_validator()(value)


class TOTPAuthenticator(TimestampMixin, ThrottlingMixin, Device):
    """A person's TOTP authenticator app (身份验证器), with its seed stored encrypted.

    Behaves like django-otp's ``TOTPDevice`` (same fields, verification, throttling and
    replay protection through ``last_t``), but ``key`` is an ``EncryptedTextField`` bound to
    ``public_id``, so the database never holds a usable seed (SECURITY 5).
    """

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    key = EncryptedTextField(
        _("secret key"),
        default=new_totp_key,
        validators=[validate_totp_key],
        help_text=_("A hex-encoded secret key of up to 40 bytes."),
    )
    step = models.PositiveSmallIntegerField(_("time step (seconds)"), default=30)
    t0 = models.BigIntegerField(_("start time (Unix seconds)"), default=0)
    digits = models.PositiveSmallIntegerField(_("digits"), choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(_("tolerance (steps)"), default=1)
    drift = models.SmallIntegerField(_("drift (steps)"), default=0)
    # Time step of the last accepted code: only later steps verify, so a code works once.
    last_t = models.BigIntegerField(_("last time step used"), default=-1)

    class Meta(Device.Meta):
        verbose_name = _("TOTP authenticator")
        verbose_name_plural = _("TOTP authenticators")

    @property
    def bin_key(self) -> bytes:
        return unhexlify(self.key.encode())

    def verify_token(self, token) -> bool:
        allowed, _details = self.verify_is_allowed()
        if not allowed:
            return False
        try:
            code = int(token)
        except (TypeError, ValueError):
            verified = False
        else:
            totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
            totp.time = time.time()
            verified = totp.verify(code, self.tolerance, self.last_t + 1)
            if verified:
                self.last_t = totp.t()
                if getattr(settings, "OTP_TOTP_SYNC", True):
                    self.drift = totp.drift
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                self.save()
        if not verified:
            self.throttle_increment(commit=True)
        return verified

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    @property
    def config_url(self) -> str:
        """The otpauth:// URI an authenticator app reads from the enrolment QR code."""
        label = str(self.user.get_username())
        params = urlencode(
            {
                "secret": b32encode(self.bin_key),
                "algorithm": "SHA1",
                "digits": self.digits,
                "period": self.step,
            }
        )
        issuer = str(getattr(settings, "OTP_TOTP_ISSUER", "") or "").replace(":", "")
        if issuer:
            label = f"{issuer}:{label}"
            params += f"&issuer={quote(issuer)}"
        return f"otpauth://totp/{quote(label)}?{params}"


class Notification(PublicId, TimeStamped):
    """A notice to a unit (通知/提醒): a card raised, a case escalated to it, a police report.

    Addressed to units, not people, because the work belongs to the unit and members change.
    ``title`` never carries personal data or tip content — it names the matter by its code.
    ``dedupe_key`` makes sending idempotent: a job that runs twice notifies once.
    """

    unit = models.ForeignKey(
        "regions.Unit",
        verbose_name=_("unit"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    link = models.CharField(_("link"), max_length=300, blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    read_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The unread list and badge of one unit.
            models.Index(fields=["unit", "read_at", "created_at"], name="notification_unit_unread"),
        ]

    def __str__(self) -> str:
        return self.title
