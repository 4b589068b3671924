"""Request and response schemas of the tip line: the reporter's, then the handlers'."""

from datetime import date, datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from ninja import Field, Schema

from fengqiao.api.schemas import IsoDate, StrictSchema
from fengqiao.tips import services
from fengqiao.tips.models import (
    Card,
    Category,
    Channel,
    Disposal,
    Opinion,
    Status,
    Verification,
)
from fengqiao.tips.services.rules import CASE_CODE

# OpenAPI names a component after its class, and the case states are called Status as well: the
# API publishes the tip states under their own name so neither overwrites the other.
TipStatus = StrEnum("TipStatus", [(status.name, status.value) for status in Status])
TipStatus.__doc__ = Status.__doc__

# --- schemas: the reporter ----------------------------------------------------------------


class AttachmentIn(StrictSchema):
    filename: str = Field("", max_length=200, description="Not stored; used in error messages")
    content_base64: str = Field(description="The file, base64-encoded (pictures or plain text)")


class AccusedIn(StrictSchema):
    name: str = Field("", max_length=200)
    nickname: str = Field("", max_length=200)
    age: str = Field("", max_length=200)
    occupation: str = Field("", max_length=200)
    id_number: str = Field("", max_length=200, description="18-character resident ID number")
    address: str = Field("", max_length=200)
    workplace: str = Field("", max_length=200)


class TipSubmitIn(StrictSchema):
    """A tip. ``description`` and ``region_code`` are enough; everything else is optional."""

    description: str = Field(min_length=1, max_length=services.MAX_DESCRIPTION)
    region_code: str = Field(pattern=r"^[0-9]{6,15}$", description="Where: town, village or grid")
    category: Category = Category.OTHER
    place_text: str = Field("", max_length=200)
    accused: list[AccusedIn] = Field(default_factory=list, max_length=services.MAX_ACCUSED)
    officials_involved: bool = Field(False, description="Officials protect them (保护伞)")
    officials_region_code: str = Field(
        "", pattern=r"^([0-9]{6,15})?$", description="Region of the officials' unit"
    )
    officials_text: str = Field("", max_length=services.MAX_TEXT, description="Who they are")
    real_name: bool = False
    reporter_name: str = Field("", max_length=200)
    reporter_contact: str = Field("", max_length=200)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=10)


class ReceiptOut(Schema):
    receipt: str = Field(description="21 digits, grouped 4-4-4-4-4-1; shown once, never stored")


class ReceiptIn(StrictSchema):
    receipt: str = Field(max_length=64)


class ReplyIn(StrictSchema):
    receipt: str = Field(max_length=64)
    body: str = Field("", max_length=services.MAX_DESCRIPTION)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=10)


class ReporterOpinionIn(StrictSchema):
    receipt: str = Field(max_length=64)
    opinion: Literal["satisfied", "basically_satisfied", "dissatisfied"]
    comment: str = Field("", max_length=services.MAX_TEXT)


class ReporterMessageOut(Schema):
    sender: Literal["handler", "you"]
    body: str
    sent_at: datetime
    attachments: int


class ReporterTipOut(Schema):
    """What a receipt shows: status in a citizen's words and the conversation."""

    status: TipStatus
    status_text: str
    outcome_text: str
    received_on: date
    can_reply: bool
    can_give_opinion: bool
    opinion: str
    messages: list[ReporterMessageOut]


# --- schemas: handlers --------------------------------------------------------------------


class TipUnitRef(Schema):
    id: UUID
    name: str
    kind: str


class TipRef(Schema):
    id: UUID
    reference: str
    status: TipStatus
    received_at: datetime


class TipOut(Schema):
    """A tip as lists show it: no content."""

    id: UUID
    reference: str = Field(description="Short staff reference (XS-XXXX-XXXX)")
    status: TipStatus
    status_label: str
    category: Category
    category_label: str
    channel: Channel
    region_code: str
    region_name: str
    received_at: datetime
    forward_by: date
    verify_by: date
    card: Card
    officials_involved: bool
    is_real_name: bool
    routed_unit: TipUnitRef | None
    discipline_unit: TipUnitRef | None
    assigned_unit: TipUnitRef | None


class AccusedOut(Schema):
    name: str
    nickname: str
    age: str
    occupation: str
    id_number: str
    address: str
    workplace: str


class TipAttachmentOut(Schema):
    id: UUID
    filename: str
    content_type: str
    size: int
    from_reporter: bool
    created_at: datetime


class MessageOut(Schema):
    id: UUID
    direction: str
    body: str
    author: str
    created_at: datetime
    attachments: list[TipAttachmentOut]


class TipNoteOut(Schema):
    id: UUID
    body: str
    author: str
    created_at: datetime


class EventOut(Schema):
    action: str
    action_label: str
    from_status: str
    to_status: str
    at: datetime
    actor: str
    unit: str


class TransferOut(Schema):
    id: UUID
    kind: str
    from_unit: str
    to_unit: str
    created_at: datetime
    due_by: date
    settled_at: datetime | None


class TipDetailOut(TipOut):
    """A tip opened (audited): content decrypted; a real-name reporter's identity masked."""

    description: str
    place_text: str
    officials_text: str
    reporter_name: str = Field(description="Masked; see POST /tips/{id}/reporter")
    reporter_contact: str = Field(description="Masked")
    accused: list[AccusedOut]
    messages: list[MessageOut]
    notes: list[TipNoteOut]
    attachments: list[TipAttachmentOut]
    events: list[EventOut]
    transfers: list[TransferOut]
    case_links: list[str]
    duplicates: list[TipRef]
    merged_into: TipRef | None
    first_report: TipRef | None
    rejection_reason: str
    verification: str
    verification_summary: str
    disposal: str
    disposal_unit: str
    case_charges: str
    case_opened_on: date | None
    disposal_note: str
    opinion: str
    opinion_comment: str
    allowed_actions: list[str]


class MovedOut(Schema):
    """A step that took the tip out of the caller's sight (a transfer away, officials flagged
    above the caller's office): done, and nothing more to show."""

    id: UUID
    visible: Literal[False] = False
    message: str


class TipFilter(Schema):
    status: TipStatus | None = None
    queue: Literal["triage", "handling", "carded"] | None = Field(
        None, description="triage: waiting for your office; handling: assigned to your unit"
    )


class CandidateOut(Schema):
    tip: TipRef
    reasons: list[str] = Field(description="name, id_number, text")
    score: float = Field(description="Text similarity 0–1 (character-bigram Jaccard)")


class AcceptIn(StrictSchema):
    category: Category | None = None


class OfficialsIn(StrictSchema):
    officials_region_code: str = Field("", pattern=r"^([0-9]{6,15})?$")
    officials_text: str = Field("", max_length=services.MAX_TEXT)


class MergeIn(StrictSchema):
    into: UUID


class RejectIn(StrictSchema):
    reason: str = Field(min_length=1, max_length=services.MAX_TEXT)
    message_to_reporter: str = Field("", max_length=services.MAX_TEXT)


class UnitIn(StrictSchema):
    unit: UUID


class TransferIn(StrictSchema):
    unit: UUID
    reason: str = Field(min_length=1, max_length=services.MAX_TEXT)


class VerificationIn(StrictSchema):
    outcome: Verification
    summary: str = Field(min_length=1, max_length=services.MAX_DESCRIPTION)


class DisposalIn(StrictSchema):
    disposal: Disposal
    unit: UUID | None = None
    unit_name: str = Field("", max_length=200)
    charges: str = Field("", max_length=200)
    case_opened_on: IsoDate | None = None
    note: str = Field("", max_length=services.MAX_DESCRIPTION)


class CloseIn(StrictSchema):
    opinion: Opinion | None = Field(None, description="Recorded by the handler if not yet given")
    comment: str = Field("", max_length=services.MAX_TEXT)


class BodyIn(StrictSchema):
    body: str = Field(min_length=1, max_length=services.MAX_DESCRIPTION)


class CaseLinkIn(StrictSchema):
    case_code: str = Field(min_length=4, max_length=40, pattern=CASE_CODE.pattern)


class RevealIn(StrictSchema):
    reason: str = Field(min_length=1, max_length=services.MAX_TEXT)


class RevealDecisionIn(StrictSchema):
    approve: bool


class RevealOut(Schema):
    id: UUID
    tip: UUID
    status: str
    created_at: datetime
    decided_at: datetime | None
    expires_at: datetime | None


class ReporterIdentityOut(Schema):
    name: str
    contact: str


class OperatorIntakeIn(TipSubmitIn):
    channel: Literal["phone", "letter", "walk_in"]


class StatisticsQuery(Schema):
    region: str = Field(pattern=r"^[0-9]{6,15}$")
    start: IsoDate
    end: IsoDate


class StatisticsRowOut(Schema):
    region_code: str
    region_name: str
    counts: dict[str, int | None] = Field(description="None: 1 or 2, suppressed")
    rates: dict[str, float | None]


class StatisticsOut(Schema):
    region_code: str
    region_name: str
    start: date
    end: date
    rows: list[StatisticsRowOut]
    total: StatisticsRowOut
