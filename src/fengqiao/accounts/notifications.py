"""Notices to units (通知): the one writer of ``Notification`` rows.

Domain services call ``notify_unit`` inside their transaction, so a notice exists exactly when the
change that caused it committed. Reading and marking as read are scoped to the reader's unit.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from fengqiao.accounts.models import Membership, Notification, User
from fengqiao.regions.models import Unit


def notify_unit(
    unit: Unit,
    *,
    kind: str,
    title: str,
    link: str = "",
    dedupe_key: str | None = None,
) -> Notification | None:
    """Send a notice to ``unit``; with a ``dedupe_key`` already used, send nothing (None)."""
    if dedupe_key is not None and Notification.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    try:
        # A savepoint, so a concurrent duplicate does not break the caller's transaction.
        with transaction.atomic():
            return Notification.objects.create(
                unit=unit, kind=kind, title=title[:200], link=link, dedupe_key=dedupe_key
            )
    except IntegrityError:
        if dedupe_key is None:
            raise
        return None


def for_unit(membership: Membership):
    """The unit's notices, unread first, newest first."""
    return Notification.objects.filter(unit_id=membership.unit_id).order_by(
        F("read_at").asc(nulls_first=True), "-created_at", "-id"
    )


def unread_for(membership: Membership):
    return Notification.objects.filter(unit_id=membership.unit_id, read_at__isnull=True)


@transaction.atomic
def mark_read(*, membership: Membership, user: User, public_id) -> int:
    """Mark one notice of the member's unit as read; 0 when it is not theirs (or missing)."""
    return Notification.objects.filter(
        unit_id=membership.unit_id, public_id=public_id, read_at__isnull=True
    ).update(read_at=timezone.now(), read_by=user)
