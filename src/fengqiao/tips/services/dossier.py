"""Audited reads of a tip (open, download), the two-person reveal of a real-name reporter, and the
possible repeats the triager sees."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.core import audit, masking
from fengqiao.tips import linking, policy
from fengqiao.tips.errors import TipNotFound, TipRefused
from fengqiao.tips.models import (
    Action,
    Direction,
    LinkSuggestion,
    RevealRequest,
    RevealStatus,
    Tip,
    TipAttachment,
    TipEvent,
    TipTransfer,
)
from fengqiao.tips.services.rules import (
    MAX_TEXT,
    check_step,
    clean_text,
    is_supervisor,
    is_visible,
    lock,
    record_step,
)
from fengqiao.tips.services.workflow import allowed_actions

if TYPE_CHECKING:
    from fengqiao.accounts.models import Membership


@dataclass(frozen=True)
class AccusedView:
    name: str
    nickname: str
    age: str
    occupation: str
    id_number: str
    address: str
    workplace: str


@dataclass(frozen=True)
class AttachmentInfo:
    public_id: object
    filename: str
    content_type: str
    size: int
    from_reporter: bool
    created_at: datetime


@dataclass(frozen=True)
class MessageView:
    public_id: object
    direction: str
    body: str
    author: str
    created_at: datetime
    attachments: list[AttachmentInfo]


@dataclass(frozen=True)
class NoteView:
    public_id: object
    body: str
    author: str
    created_at: datetime


@dataclass
class Dossier:
    """A tip opened by a handler (audited): content decrypted, the reporter's identity masked."""

    tip: Tip
    description: str
    place_text: str
    officials_text: str
    reporter_name_masked: str
    reporter_contact_masked: str
    accused: list[AccusedView]
    messages: list[MessageView]
    notes: list[NoteView]
    attachments: list[AttachmentInfo]
    events: list[TipEvent]
    transfers: list[TipTransfer]
    case_links: list[str]
    duplicates: list[Tip]
    rejection_reason: str = ""
    verification_summary: str = ""
    disposal_note: str = ""
    opinion_comment: str = ""
    allowed_actions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AttachmentFile:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class ReporterIdentity:
    name: str
    contact: str


@dataclass(frozen=True)
class Candidate:
    """A possible repeat of a tip, as the triager sees it."""

    tip: Tip
    reasons: list[str]
    score: float


def _attachment_info(attachment: TipAttachment) -> AttachmentInfo:
    return AttachmentInfo(
        public_id=attachment.public_id,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        from_reporter=attachment.message_id is None
        or attachment.message.direction == Direction.FROM_REPORTER,
        created_at=attachment.created_at,
    )


def open_tip(tip: Tip, *, membership: Membership) -> Dossier:
    """A handler opens a tip: everything decrypted except the reporter's identity (masked).
    Audited as ``tips.opened`` (SECURITY 21), whether or not anything is then read."""
    if membership is None or not is_visible(tip, membership):
        raise TipNotFound
    tip = Tip.objects.select_related(
        "routed_unit", "discipline_unit", "assigned_unit", "region"
    ).get(pk=tip.pk)
    audit.record(
        "tips.opened",
        actor=membership.user,
        membership=membership,
        obj=tip,
        detail={"status": tip.status},
    )
    messages = []
    for message in tip.messages.select_related("author").order_by("created_at", "id"):
        messages.append(
            MessageView(
                public_id=message.public_id,
                direction=message.direction,
                body=message.body,
                author=(message.author.full_name or message.author.username)
                if message.author
                else "",
                created_at=message.created_at,
                attachments=[
                    _attachment_info(a) for a in message.attachments.defer("content").order_by("id")
                ],
            )
        )
    attachments = [
        _attachment_info(a)
        for a in tip.attachments.defer("content").select_related("message").order_by("id")
    ]
    return Dossier(
        tip=tip,
        description=tip.description,
        place_text=tip.place_text,
        officials_text=tip.officials_text,
        reporter_name_masked=masking.mask_name(tip.reporter_name) if tip.is_real_name else "",
        reporter_contact_masked=masking.mask_phone(tip.reporter_contact)
        if tip.is_real_name
        else "",
        accused=[
            AccusedView(
                name=a.name,
                nickname=a.nickname,
                age=a.age,
                occupation=a.occupation,
                id_number=a.id_number,
                address=a.address,
                workplace=a.workplace,
            )
            for a in tip.accused.order_by("id")
        ],
        messages=messages,
        notes=[
            NoteView(
                public_id=note.public_id,
                body=note.body,
                author=(note.author.full_name or note.author.username) if note.author else "",
                created_at=note.created_at,
            )
            for note in tip.notes.select_related("author").order_by("created_at", "id")
        ],
        attachments=attachments,
        events=list(tip.events.timeline().select_related("actor", "unit")),
        transfers=list(
            tip.transfers.select_related("from_unit", "to_unit").order_by("created_at", "id")
        ),
        case_links=list(tip.case_links.values_list("case_code", flat=True)),
        duplicates=list(tip.duplicates.order_by("received_at")),
        rejection_reason=tip.rejection_reason,
        verification_summary=tip.verification_summary,
        disposal_note=tip.disposal_note,
        opinion_comment=tip.opinion_comment,
        allowed_actions=allowed_actions(tip, membership),
    )


def download_attachment(attachment: TipAttachment, *, membership: Membership) -> AttachmentFile:
    """The cleaned bytes of one file, for a handler who sees its tip. Audited."""
    tip = attachment.tip
    if membership is None or not is_visible(tip, membership):
        raise TipNotFound
    audit.record(
        "tips.attachment_downloaded",
        actor=membership.user,
        membership=membership,
        obj=tip,
        detail={"attachment": str(attachment.public_id)},
    )
    return AttachmentFile(
        filename=f"{tip.reference}-{attachment.filename}",
        content_type=attachment.content_type,
        content=attachment.content,
    )


@transaction.atomic
def request_reveal(tip: Tip, *, membership: Membership, reason: str) -> RevealRequest:
    """Ask to see a real-name reporter's identity, with a reason; another person must approve."""
    tip = lock(tip)
    check_step(tip, membership, Action.REVEAL_REQUESTED, who="anyone")
    if not tip.is_real_name:
        raise TipRefused("anonymous", _("This reporter is anonymous; there is nothing to reveal."))
    reason = clean_text(reason, field_name="reason", limit=MAX_TEXT, required=True)
    reveal = RevealRequest(
        tip=tip,
        requested_by=membership.user,
        requested_unit=membership.unit,
        created_at=timezone.now(),
    )
    reveal.reason = reason
    reveal.save(force_insert=True)
    record_step(
        tip,
        Action.REVEAL_REQUESTED,
        membership=membership,
        from_status=tip.status,
        detail={"request": str(reveal.public_id)},
    )
    return reveal


@transaction.atomic
def decide_reveal(reveal: RevealRequest, *, membership: Membership, approve: bool) -> RevealRequest:
    """A second person of the supervising office (扫黑办 or 纪委监委) approves or refuses."""
    reveal = RevealRequest.objects.select_for_update().select_related("tip").get(pk=reveal.pk)
    tip = reveal.tip
    if membership is None or not is_visible(tip, membership):
        raise TipNotFound
    if not is_supervisor(tip, membership):
        raise TipRefused("not_your_step", _("Only the supervising office can approve this."))
    if membership.user_id == reveal.requested_by_id:
        raise TipRefused("same_person", _("Another person must approve your own request."))
    if reveal.status != RevealStatus.PENDING:
        raise TipRefused("decided", _("This request was already decided."))
    now = timezone.now()
    reveal.status = RevealStatus.APPROVED if approve else RevealStatus.REFUSED
    reveal.decided_by, reveal.decided_at = membership.user, now
    reveal.expires_at = now + timedelta(hours=policy.REVEAL_HOURS) if approve else None
    reveal.save(update_fields=["status", "decided_by", "decided_at", "expires_at"])
    record_step(
        tip,
        Action.REVEAL_DECIDED,
        membership=membership,
        from_status=tip.status,
        detail={"request": str(reveal.public_id), "approved": approve},
        now=now,
    )
    return reveal


@transaction.atomic
def reveal_reporter(tip: Tip, *, membership: Membership) -> ReporterIdentity:
    """The reporter's name and contact, for the person whose request was approved, within a day.
    Every look is audited and on the tip's timeline."""
    if membership is None or not is_visible(tip, membership):
        raise TipNotFound
    approved = RevealRequest.objects.filter(
        tip=tip,
        requested_by=membership.user,
        status=RevealStatus.APPROVED,
        expires_at__gt=timezone.now(),
    ).first()
    if approved is None:
        raise TipRefused(
            "not_approved", _("Viewing the reporter's identity needs an approved request.")
        )
    identity = ReporterIdentity(name=tip.reporter_name, contact=tip.reporter_contact)
    record_step(
        tip,
        Action.REPORTER_REVEALED,
        membership=membership,
        from_status=tip.status,
        detail={"request": str(approved.public_id)},
        audit_action="tips.reporter_revealed",
    )
    return identity


@transaction.atomic
def refresh_link_suggestions(tip: Tip) -> int:
    """Store the possible repeats of ``tip`` (the linking job; idempotent: replaces its rows)."""
    matches = linking.find_matches(tip)
    LinkSuggestion.objects.filter(tip=tip).delete()
    now = timezone.now()
    LinkSuggestion.objects.bulk_create(
        [
            LinkSuggestion(
                tip=tip, other_id=m.other_id, reasons=sorted(m.reasons), score=m.score, found_at=now
            )
            for m in matches
        ]
    )
    return len(matches)


def candidates_for(tip: Tip, *, membership: Membership) -> list[Candidate]:
    """Possible repeats of ``tip`` that this membership may see, best first (for the triager)."""
    if membership is None or not is_visible(tip, membership):
        raise TipNotFound
    visible = Tip.objects.visible_to(membership)
    found: dict[int, Candidate] = {}
    for suggestion in LinkSuggestion.objects.filter(tip=tip).select_related("other"):
        found[suggestion.other_id] = Candidate(
            suggestion.other, list(suggestion.reasons), suggestion.score
        )
    for suggestion in LinkSuggestion.objects.filter(other=tip).select_related("tip"):
        found.setdefault(
            suggestion.tip_id, Candidate(suggestion.tip, list(suggestion.reasons), suggestion.score)
        )
    allowed = set(visible.filter(pk__in=found).values_list("pk", flat=True))
    return sorted(
        (c for pk, c in found.items() if pk in allowed),
        key=lambda c: (-len(c.reasons), -c.score, c.tip.received_at),
    )
