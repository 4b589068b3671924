"""What every tip step shares: input limits, locking, who may take a step, the timeline row
and audit event each step writes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.core import audit
from fengqiao.regions.models import Unit
from fengqiao.tips import attachments as files
from fengqiao.tips.errors import TipNotFound, TipRefused
from fengqiao.tips.models import (
    TRANSITIONS,
    Action,
    Status,
    Tip,
    TipAttachment,
    TipEvent,
    TipMessage,
    can,
)

if TYPE_CHECKING:
    from fengqiao.accounts.models import Membership

MAX_DESCRIPTION = 20_000
MAX_TEXT = 2_000
MAX_SHORT = 200
MAX_ACCUSED = 20
CASE_CODE = re.compile(r"^[0-9A-Za-z-]{4,40}$")


def clean_text(value: str, *, field_name: str, limit: int, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError({field_name: [_("This field is required.")]}, code="required")
    if len(text) > limit:
        raise ValidationError(
            {field_name: [_("At most %(limit)d characters.") % {"limit": limit}]}, code="too_long"
        )
    return text


def record_step(
    tip: Tip,
    action: str,
    *,
    membership: Membership | None = None,
    from_status: str = "",
    unit: Unit | None = None,
    detail: dict | None = None,
    audit_action: str | None = None,
    now: datetime | None = None,
) -> TipEvent:
    """The timeline row and the audit event of one step (call last, after the row locks)."""
    actor = membership.user if membership is not None else None
    event = TipEvent.objects.create(
        tip=tip,
        action=action,
        from_status=from_status,
        to_status=tip.status,
        at=now or timezone.now(),
        actor=actor,
        unit=unit if unit is not None else getattr(membership, "unit", None),
        detail=detail or {},
    )
    audit.record(
        audit_action or f"tips.{action}",
        actor=actor,
        membership=membership,
        obj=tip,
        detail={"status": tip.status, **(detail or {})},
    )
    return event


def lock(tip: Tip) -> Tip:
    return Tip.objects.select_for_update().get(pk=tip.pk)


def is_visible(tip: Tip, membership: Membership) -> bool:
    return Tip.objects.visible_to(membership).filter(pk=tip.pk).exists()


def is_supervisor(tip: Tip, membership: Membership) -> bool:
    # A merged tip is supervised and handled with the tip it was merged into.
    return any(
        membership.unit_id in {t.routed_unit_id, t.discipline_unit_id} for t in (tip, root_of(tip))
    )


def is_handler(tip: Tip, membership: Membership) -> bool:
    return any(
        t.assigned_unit_id is not None and membership.unit_id == t.assigned_unit_id
        for t in (tip, root_of(tip))
    )


def check_step(tip: Tip, membership: Membership | None, action: str | None, *, who: str) -> None:
    """Refuse unless the tip is visible, the state allows ``action`` (None: any state) and the
    membership's unit may take the step.

    ``who``: "supervisor" (the routed 扫黑办 or 纪委监委), "handler" (the assigned unit),
    "either" or "anyone" (any unit that sees the tip).
    """
    if membership is None or not is_visible(tip, membership):
        raise TipNotFound
    allowed = {
        "supervisor": is_supervisor(tip, membership),
        "handler": is_handler(tip, membership),
        "either": is_supervisor(tip, membership) or is_handler(tip, membership),
        "anyone": True,
    }[who]
    if not allowed:
        raise TipRefused("not_your_step", _("This step belongs to another unit."))
    if action is not None and not can(action, tip.status):
        raise TipRefused(
            "invalid_transition",
            _("This step is not possible while the tip is %(status)s.")
            % {"status": Status(tip.status).label},
        )


def root_of(tip: Tip) -> Tip:
    """The tip a duplicate was merged into (following the chain), or the tip itself."""
    seen = set()
    while tip.merged_into_id is not None and tip.pk not in seen:
        seen.add(tip.pk)
        tip = tip.merged_into
    return tip


def open_for_reporter(tip: Tip) -> bool:
    return root_of(tip).status in TRANSITIONS[Action.REPORTER_REPLY][0]


def store_files(
    tip: Tip,
    incoming: Sequence[files.IncomingFile],
    *,
    message: TipMessage | None = None,
    now: datetime,
) -> int:
    if not incoming:
        return 0
    existing = list(tip.attachments.values_list("size", flat=True))
    cleaned = files.clean_all(list(incoming), already=len(existing), already_bytes=sum(existing))
    for position, item in enumerate(cleaned, start=len(existing) + 1):
        TipAttachment.objects.create(
            tip=tip,
            message=message,
            filename=f"{position}.{item.extension}",
            content_type=item.content_type,
            size=item.size,
            content=item.content,
            created_at=now,
        )
    return len(cleaned)
