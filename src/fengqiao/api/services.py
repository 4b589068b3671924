"""Open311 client keys: issue, revoke, authenticate (the only writers of ``Open311Client``)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from fengqiao.api.models import Open311Client
from fengqiao.core import audit

if TYPE_CHECKING:
    from django.http import HttpRequest

    from fengqiao.accounts.models import Membership, User

KEY_PREFIX = "o311_"
PREFIX_HEX_DIGITS = 12
# Key use is written back at most once a minute so a busy client does not write on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_KEY_RE = re.compile(r"^o311_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _new_key() -> tuple[str, str]:
    prefix = secrets.token_hex(PREFIX_HEX_DIGITS // 2)
    return prefix, f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


@transaction.atomic
def create_client(
    *,
    name: str,
    region_code: str,
    actor: User | None,
    membership: Membership | None,
    request: HttpRequest | None = None,
) -> tuple[Open311Client, str]:
    """Issue a key for an Open311 client; returns (client, raw key to show once)."""
    name = name.strip()
    if not name:
        raise ValueError("an Open311 client needs a name")
    prefix, raw = _new_key()
    while Open311Client.objects.filter(prefix=prefix).exists():
        prefix, raw = _new_key()
    client = Open311Client.objects.create(
        name=name[:100],
        prefix=prefix,
        key_hash=hash_key(raw),
        region_code=region_code,
        created_by=actor,
    )
    audit.record(
        "open311.key_created",
        actor=actor,
        membership=membership,
        obj=("api.open311client", prefix),
        detail={"region_code": region_code},
        request=request,
    )
    return client, raw


@transaction.atomic
def revoke_client(
    *,
    client: Open311Client,
    actor: User | None,
    membership: Membership | None,
    request: HttpRequest | None = None,
) -> Open311Client:
    """Revoke a client key now; its next request is refused with 403."""
    locked = Open311Client.objects.select_for_update().get(pk=client.pk)
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at", "updated_at"])
        audit.record(
            "open311.key_revoked",
            actor=actor,
            membership=membership,
            obj=("api.open311client", locked.prefix),
            request=request,
        )
    return locked


def authenticate_client(raw: str | None) -> Open311Client | None:
    """The active client holding ``raw``, or None for anything malformed, unknown or revoked."""
    match = _KEY_RE.match(raw.strip()) if isinstance(raw, str) else None
    if match is None:
        return None
    client = Open311Client.objects.filter(prefix=match.group(1)).first()
    if client is None:
        # Spend the digest anyway so an unknown prefix costs what a wrong secret costs.
        hmac.compare_digest(hash_key(raw + "x"), hash_key(raw))
        return None
    if not hmac.compare_digest(client.key_hash, hash_key(raw.strip())):
        return None
    if client.revoked_at is not None:
        return None
    now = timezone.now()
    if client.last_used_at is None or now - client.last_used_at >= LAST_USED_RESOLUTION:
        # A conditional UPDATE: concurrent requests write it once, without a lock.
        Open311Client.objects.filter(pk=client.pk, last_used_at=client.last_used_at).update(
            last_used_at=now
        )
        client.last_used_at = now
    return client
