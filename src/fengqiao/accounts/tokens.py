"""Personal API tokens: format, hashing at rest and authentication (SECURITY 1, ASVS 7.2).

A token reads ``fq_<prefix>_<secret>``: the 12-hex-digit prefix is stored in clear to find the
row, the secret (256 bits) is never stored. The database keeps ``<algorithm>$<hex digest>`` of the
whole token: SM3 under the national-crypto setting, SHA-256 otherwise. The algorithm is recorded
with the digest so switching FENGQIAO_CRYPTO does not invalidate tokens already issued. A plain
digest suffices (no salt, no key): the secret is random and long, so there is nothing to guess.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from cryptography.hazmat.primitives import hashes
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from fengqiao.accounts.models import ApiToken

TOKEN_PREFIX = "fq_"
PREFIX_HEX_DIGITS = 12
# Token use is written back at most once a minute so a busy client does not write on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)

_TOKEN_RE = re.compile(r"^fq_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


def new_raw_token() -> tuple[str, str]:
    """A fresh (prefix, raw token) pair."""
    prefix = secrets.token_hex(PREFIX_HEX_DIGITS // 2)
    return prefix, f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def _digest(algorithm: str, raw: str) -> str:
    data = raw.encode("utf-8")
    if algorithm == "sm3":
        hasher = hashes.Hash(hashes.SM3())
        hasher.update(data)
        return hasher.finalize().hex()
    return hashlib.sha256(data).hexdigest()


def hash_token(raw: str) -> str:
    """The stored form of a raw token."""
    algorithm = "sm3" if settings.FENGQIAO_CRYPTO == "sm" else "sha256"
    return f"{algorithm}${_digest(algorithm, raw)}"


def token_matches(raw: str, stored: str) -> bool:
    algorithm, _, digest = stored.partition("$")
    if algorithm not in {"sm3", "sha256"}:
        return False
    return hmac.compare_digest(_digest(algorithm, raw), digest)


def authenticate_token(raw: str) -> ApiToken | None:
    """The usable token for ``raw``, or None.

    None for anything malformed, unknown, revoked or expired, and for a token whose user or
    membership (or the membership's unit) is no longer active.
    """
    match = _TOKEN_RE.match(raw.strip()) if isinstance(raw, str) else None
    if match is None:
        return None
    token = (
        ApiToken.objects.select_related(
            "user", "membership", "membership__unit", "membership__unit__region"
        )
        .filter(prefix=match.group(1))
        .first()
    )
    if token is None:
        # Still spend a digest so an unknown prefix costs what a wrong secret costs.
        token_matches(raw, hash_token(raw + "x"))
        return None
    if not token_matches(raw, token.token_hash):
        return None
    now = timezone.now()
    membership = token.membership
    if (
        token.revoked_at is not None
        or token.expires_at <= now
        or not token.user.is_active
        or not membership.is_active
        or membership.user_id != token.user_id
        or not membership.unit.is_active
    ):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        # Conditional UPDATE: concurrent requests within the minute write at most once.
        ApiToken.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION),
            pk=token.pk,
        ).update(last_used_at=now)
        token.last_used_at = now
    return token
