"""The reporter's side: everything done with a receipt, with one answer for every bad one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.tips import attachments as files
from fengqiao.tips import receipts
from fengqiao.tips.errors import ReceiptNotRecognised, TipRefused
from fengqiao.tips.models import (
    Action,
    Direction,
    Opinion,
    Status,
    Tip,
    TipMessage,
    can,
)
from fengqiao.tips.services.rules import (
    MAX_DESCRIPTION,
    MAX_TEXT,
    clean_text,
    lock,
    open_for_reporter,
    record_step,
    root_of,
    store_files,
)


@dataclass(frozen=True)
class ReporterMessage:
    sender: str  # "handler" or "you"
    body: str
    sent_at: datetime
    attachments: int


@dataclass(frozen=True)
class ReporterView:
    """What the reporter sees with the receipt: status in plain words and the conversation."""

    status: str
    status_text: str
    outcome_text: str
    received_on: date
    can_reply: bool
    can_give_opinion: bool
    opinion: str
    messages: list[ReporterMessage]


def find_by_receipt(receipt: str) -> Tip:
    """The tip a receipt opens, or ``ReceiptNotRecognised``.

    Constant answer and comparable work: one HMAC and one indexed query for every input, valid or
    not (``receipts.lookup_digest`` hashes a decoy for malformed input), then the same exception
    for malformed, wrongly checked and unknown receipts.
    """
    digest, well_formed = receipts.lookup_digest(receipt)
    tip = Tip.objects.filter(receipt_hmac=digest).select_related("merged_into").first()
    if tip is None or not well_formed:
        raise ReceiptNotRecognised
    return tip


def receipt_bucket(receipt: str) -> str:
    """The per-receipt rate-limit bucket: the lookup digest, so nothing typed reaches the cache."""
    return receipts.lookup_digest(receipt)[0]


def reporter_view(tip: Tip) -> ReporterView:
    """What the reporter may see: citizen wording, handler messages and their own (no notes,
    no units, no names of staff)."""
    root = root_of(tip)
    status_text = tip.citizen_status()
    if tip.status == Status.MERGED:
        status_text = f"{status_text} {root.citizen_status()}"
    messages = [
        ReporterMessage(
            sender="handler" if message.direction == Direction.TO_REPORTER else "you",
            body=message.body,
            sent_at=message.created_at,
            attachments=message.attachment_count,
        )
        for message in tip.messages.annotate(attachment_count=Count("attachments")).order_by(
            "created_at", "id"
        )
    ]
    return ReporterView(
        status=tip.status,
        status_text=status_text,
        outcome_text=root.citizen_outcome(),
        received_on=timezone.localdate(tip.received_at),
        can_reply=open_for_reporter(tip),
        can_give_opinion=tip.status == Status.DISPOSED and not tip.opinion,
        opinion=tip.opinion,
        messages=messages,
    )


def lookup_tip(receipt: str) -> ReporterView:
    """The reporter's view of the tip their receipt opens (``ReceiptNotRecognised`` otherwise).

    Not audited: the reporter reading their own tip is no access to someone else's data, and a
    log of a reporter's visits would be a trail of them.
    """
    return reporter_view(find_by_receipt(receipt))


@transaction.atomic
def reply_as_reporter(
    *, receipt: str, body: str = "", attachments: Sequence[files.IncomingFile] = ()
) -> ReporterView:
    """The reporter answers a handler or adds material (text and/or files) while the tip is open."""
    found = find_by_receipt(receipt)
    tip = lock(found)
    body = clean_text(body, field_name="body", limit=MAX_DESCRIPTION)
    if not body and not attachments:
        raise ValidationError({"body": [_("Write a message or attach a file.")]})
    if not open_for_reporter(tip):
        raise TipRefused("tip_closed", _("This tip is closed; it no longer takes messages."))
    now = timezone.now()
    message = TipMessage(tip=tip, direction=Direction.FROM_REPORTER, created_at=now)
    message.body = body
    message.save(force_insert=True)
    stored = store_files(tip, attachments, message=message, now=now)
    record_step(
        tip,
        Action.REPORTER_REPLY,
        from_status=tip.status,
        unit=root_of(tip).assigned_unit or root_of(tip).routed_unit,
        detail={"attachments": stored, "text": bool(body)},
        now=now,
    )
    return reporter_view(tip)


@transaction.atomic
def give_opinion(*, receipt: str, opinion: str, comment: str = "") -> ReporterView:
    """The reporter says what they think of the handling, once the tip is disposed."""
    tip = lock(find_by_receipt(receipt))
    if opinion not in Opinion.values or opinion == Opinion.NOT_GIVEN:
        raise ValidationError(
            {"opinion": [_("Choose satisfied, basically satisfied or dissatisfied.")]}
        )
    comment = clean_text(comment, field_name="comment", limit=MAX_TEXT)
    if not can(Action.OPINION, tip.status) or tip.opinion:
        raise TipRefused(
            "no_opinion_now", _("An opinion can be given once, after action is taken.")
        )
    tip.opinion, tip.opinion_comment, tip.opinion_at = opinion, comment, timezone.now()
    tip.save(update_fields=["opinion", "opinion_comment", "opinion_at", "updated_at"])
    record_step(
        tip,
        Action.OPINION,
        from_status=tip.status,
        unit=tip.routed_unit,
        detail={"opinion": opinion, "by": "reporter"},
    )
    return reporter_view(tip)
