"""Request and response schemas of the cases API: what it answers, then what it accepts."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from django.utils.translation import gettext as _
from ninja import Field, Path, Schema
from pydantic import field_validator
from pydantic_core import PydanticCustomError

from fengqiao.api.schemas import IsoDate, IsoDateTime, StrictSchema, Text
from fengqiao.cases.models import (
    CaseKind,
    ClosureMethod,
    EvaluationChannel,
    PartyRole,
    Severity,
    Status,
    Urgency,
)
from fengqiao.core.validators import is_valid_id_number, is_valid_phone
from fengqiao.regions.models import Level

# --- output schemas -----------------------------------------------------------------------------


# The path parameter naming a case: its public code (cases.codes: county, day, number), the same
# shape the HTML routes accept. Anything else is a 422 before any lookup.
CaseCode = Annotated[
    str,
    Path(
        pattern=r"^[0-9]{6}-[0-9]{8}-[0-9]{5,}$",
        description="Public case code (一事一码), e.g. 330681-20260301-00042",
    ),
]


class UnitRef(Schema):
    id: UUID
    name: str
    kind: str
    level: Level


class CategoryRef(Schema):
    code: str
    name: str


class CaseOut(Schema):
    """A case as lists show it."""

    code: str = Field(description="Public case code for life (一事一码)")
    kind: CaseKind
    category: CategoryRef
    title: str
    channel: str
    status: Status
    status_label: str
    level: Level
    region_code: str
    region_name: str
    owner_unit: UnitRef
    handler_unit: UnitRef | None
    severity: Severity
    urgency: Urgency
    supervision: int = Field(description="0 none, 1 supervised, 2 yellow card, 3 red card")
    reported_at: datetime
    accept_due_at: datetime | None
    handle_due_at: datetime | None
    closed_at: datetime | None
    overdue: bool


class PartyOut(Schema):
    id: UUID
    role: PartyRole
    name: str
    id_number: str = Field(description="Masked: 330602********1234")
    phone: str = Field(description="Masked: 138****5678")


class NoteOut(Schema):
    id: UUID
    body: str
    is_public: bool
    author: str
    author_unit: str
    created_at: datetime


class AttachmentOut(Schema):
    id: UUID
    name: str
    content_type: str
    size: int
    is_public: bool
    created_at: datetime


class CaseDetailOut(CaseOut):
    """A case with everything its page shows; personal identifiers masked."""

    description: str
    place_text: str
    latitude: float | None
    longitude: float | None
    occurred_at: datetime | None
    people_count: int | None
    amount: Decimal | None
    may_turn_violent: bool
    risk_tier: str
    closure_method: str
    resolved: bool | None
    closure_summary: str
    satisfaction: int | None
    evaluation_comment: str
    visited_at: datetime | None
    evaluated_at: datetime | None
    parties: list[PartyOut]
    notes: list[NoteOut]
    attachments: list[AttachmentOut]
    available_actions: list[str] = Field(description="Actions the caller may take now")


class CaseCreatedOut(Schema):
    code: str
    id: UUID
    status: Status
    level: Level
    region_code: str
    owner_unit: UnitRef
    reported_at: datetime
    accept_due_at: datetime | None
    tracking_token: str = Field(
        description="For the citizen's tracking page; returned once, only its hash is kept"
    )


class TimelineEntryOut(Schema):
    action: str
    action_label: str
    from_status: str
    to_status: str
    at: datetime
    actor: str
    actor_unit: str
    from_unit: str
    to_unit: str
    level: str
    reason: str
    on_time: bool | None
    is_public: bool


class PingOut(Schema):
    ok: bool


# --- input schemas ------------------------------------------------------------------------------


class CaseFilter(Schema):
    status: Status | None = None
    kind: CaseKind | None = None
    category: Text | None = Field(None, max_length=60, description="Category code")
    region: str | None = Field(
        None, pattern=r"^[0-9]{6,15}$", description="Cases in this region or anywhere below it"
    )
    since: IsoDate | None = Field(None, description="Reported on or after this day")
    until: IsoDate | None = Field(None, description="Reported on or before this day")
    overdue: bool | None = None
    supervision: int | None = Field(None, ge=1, le=3, description="At least this supervision")


class PartyIn(StrictSchema):
    role: PartyRole
    name: str = Field(min_length=1, max_length=100)
    id_number: str = Field("", max_length=18)
    phone: str = Field("", max_length=20)
    address: str = Field("", max_length=200)

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str) -> str:
        value = value.strip()
        if value and not is_valid_id_number(value):
            raise PydanticCustomError("invalid_id_number", str(_("Invalid ID number.")))
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        value = value.strip()
        if value and not is_valid_phone(value):
            raise PydanticCustomError("invalid_phone", str(_("Invalid phone number.")))
        return value


class CaseCreateIn(StrictSchema):
    category: str = Field(max_length=60, description="Category code, e.g. grid.neighbour")
    kind: CaseKind | None = Field(None, description="Derived from the category when omitted")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=5000)
    place_text: str = Field("", max_length=300)
    latitude: float | None = Field(None, ge=-90, le=90, description="WGS-84")
    longitude: float | None = Field(None, ge=-180, le=180, description="WGS-84")
    region_code: str | None = Field(
        None, pattern=r"^[0-9]{6,15}$", description="An explicit pick in the region tree"
    )
    severity: Severity = Severity.GENERAL
    urgency: Urgency = Urgency.NORMAL
    people_count: int | None = Field(None, ge=1, le=1_000_000)
    amount: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    occurred_at: IsoDateTime | None = None
    external_ref: str = Field("", max_length=100)
    parties: list[PartyIn] = Field(default_factory=list, max_length=20)
    may_turn_violent: bool = False


class ReasonIn(StrictSchema):
    reason: str = Field(min_length=1, max_length=1000)


class AssignIn(StrictSchema):
    unit: UUID = Field(description="Public id of the unit that will handle the case")
    note: str = Field("", max_length=1000)


class ReturnIn(ReasonIn):
    pass


class EscalateIn(StrictSchema):
    reason: str = Field("", max_length=1000)
    skip: bool = Field(False, description="越级上报: skip a level (a reason is required)")
    target_level: Level | None = None


class ExtensionRequestIn(StrictSchema):
    days: int = Field(ge=1, le=365)
    reason: str = Field(min_length=1, max_length=500)


class ExtensionDecisionIn(StrictSchema):
    approve: bool
    reason: str = Field("", max_length=1000)


class FeedbackIn(StrictSchema):
    method: ClosureMethod
    resolved: bool
    summary: str = Field(min_length=1, max_length=2000)


class VerifyIn(StrictSchema):
    passed: bool
    reason: str = Field("", max_length=1000)


class EvaluateIn(StrictSchema):
    satisfaction: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=1000)
    channel: EvaluationChannel = EvaluationChannel.PHONE


class VisitIn(StrictSchema):
    satisfaction: int | None = Field(None, ge=1, le=5, description="A rating given at the visit")
    comment: str = Field("", max_length=1000)


class SuperviseIn(StrictSchema):
    level: int = Field(ge=1, le=3, description="1 supervised, 2 yellow card, 3 red card")
    reason: str = Field(min_length=1, max_length=1000)


class NoteIn(StrictSchema):
    body: str = Field(min_length=1, max_length=5000)
    is_public: bool = False
