"""Sealed tips (扫黑除恶 举报线索): the tip, its accused, messages, notes, files and timeline.

Everything a reporter wrote is sealed with the tip's own data key (``tips.fields``); the server
keeps only an HMAC of the receipt. ``tips.services`` is the only writer: every state change locks
the tip, checks ``TRANSITIONS``, saves, writes a ``TipEvent`` and an audit event in one
transaction. Visibility is need-to-know (``TipQuerySet.visible_to``), never mere jurisdiction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fengqiao.core.fields import BlindIndexField, WrappedDataKeyField
from fengqiao.core.models import PublicId, TimeStamped
from fengqiao.tips.fields import TipSealedBinaryField, TipSealedTextField
from fengqiao.tips.querysets import (
    RevealRequestQuerySet,
    TipEventQuerySet,
    TipQuerySet,
    TipTransferQuerySet,
)


class Category(models.TextChoices):
    """Target categories (打击重点) of the 扫黑除恶 campaign, as tip forms in use list them."""

    POLITICAL_INFILTRATION = "political_infiltration", _("Infiltrating politics or government")
    GRASSROOTS_CONTROL = "grassroots_control", _("Controlling village or community government")
    VILLAGE_TYRANT = "village_tyrant", _("Village tyrants and clan forces oppressing people")
    LAND_AND_DEMOLITION = (
        "land_and_demolition",
        _("Stirring trouble in land takings and demolition"),
    )
    INDUSTRY_MONOPOLY = (
        "industry_monopoly",
        _("Monopolising construction, transport, mining or fishing"),
    )
    MARKET_BULLYING = "market_bullying", _("Market bullies, forced trading, protection money")
    VICE = "vice", _("Running prostitution, gambling or drugs")
    LOAN_SHARKING = "loan_sharking", _("Usury and violent debt collection")
    UNDERGROUND_ENFORCERS = (
        "underground_enforcers",
        _("Meddling in private disputes as 'underground enforcers'"),
    )
    ONLINE_HARASSMENT = "online_harassment", _("Organised online threats and harassment")
    CROSS_BORDER = "cross_border", _("Cross-border organised crime")
    PROTECTIVE_UMBRELLA = (
        "protective_umbrella",
        _("Officials protecting gangs (protective umbrella)"),
    )
    OTHER = "other", _("Other organised crime")


class Channel(models.TextChoices):
    """How the tip came in (来源渠道)."""

    WEB = "web", _("Website")
    API = "api", _("API")
    PHONE = "phone", _("Phone (12337 hotline)")
    LETTER = "letter", _("Letter")
    WALK_IN = "walk_in", _("Walk-in")


# Channels a staff operator files on a reporter's behalf (operator mode).
OPERATOR_CHANNELS = (Channel.PHONE, Channel.LETTER, Channel.WALK_IN)


class Status(models.TextChoices):
    """Tip states (DOMAIN §5): 已接收 → 已受理 → 已交办 → 核查中 → 已核查 → 已处置 → 已办结.

    Labels carry a context: "Received" or "Closed" mean something else for a case.
    """

    RECEIVED = "received", pgettext_lazy("tip status", "Received")
    TRIAGED = "triaged", pgettext_lazy("tip status", "Accepted, awaiting assignment")
    MERGED = "merged", pgettext_lazy("tip status", "Merged as a duplicate")
    REJECTED = "rejected", pgettext_lazy("tip status", "Rejected: not gang-related")
    ASSIGNED = "assigned", pgettext_lazy("tip status", "Assigned")
    VERIFYING = "verifying", pgettext_lazy("tip status", "Verifying")
    VERIFIED = "verified", pgettext_lazy("tip status", "Verified, awaiting disposal")
    DISPOSED = "disposed", pgettext_lazy("tip status", "Disposed, awaiting closure")
    CLOSED = "closed", pgettext_lazy("tip status", "Closed")


OPEN_STATUSES = (
    Status.RECEIVED,
    Status.TRIAGED,
    Status.ASSIGNED,
    Status.VERIFYING,
    Status.VERIFIED,
    Status.DISPOSED,
)
# The verification clock (30 natural days) runs until the outcome is recorded.
VERIFY_CLOCK_STATUSES = (Status.RECEIVED, Status.TRIAGED, Status.ASSIGNED, Status.VERIFYING)
# The routing clock (forward within 5 working days) runs until the tip is assigned.
TRIAGE_CLOCK_STATUSES = (Status.RECEIVED, Status.TRIAGED)
# Concluded (查结), whatever the outcome: the numerator of 查结率.
CONCLUDED_STATUSES = (Status.CLOSED, Status.REJECTED, Status.MERGED)


class Action(models.TextChoices):
    """What happened to a tip; each is one service and one ``TipEvent`` row."""

    SUBMIT = "submit", _("Received")
    ACCEPT = "accept", _("Accepted")
    MERGE = "merge", _("Merged into an earlier tip")
    MERGED_IN = "merged_in", _("Another tip merged into this one")
    REJECT = "reject", _("Rejected")
    FLAG_OFFICIALS = "flag_officials", _("Officials flagged, re-routed")
    ASSIGN = "assign", _("Assigned")
    TRANSFER = "transfer", _("Transferred")
    START_VERIFYING = "start_verifying", _("Verification started")
    VERIFY = "verify", _("Verification recorded")
    DISPOSE = "dispose", _("Disposal recorded")
    CLOSE = "close", _("Closed")
    MESSAGE = "message", _("Message to the reporter")
    REPORTER_REPLY = "reporter_reply", _("Reporter replied")
    NOTE = "note", _("Internal note")
    OPINION = "opinion", _("Reporter's opinion")
    CARD = "card", _("Supervision card raised")
    NOTICE = "notice", _("Supervising office notified")
    CASE_LINKED = "case_linked", _("Linked to a case")
    REVEAL_REQUESTED = "reveal_requested", _("Reporter identity requested")
    REVEAL_DECIDED = "reveal_decided", _("Identity request decided")
    REPORTER_REVEALED = "reporter_revealed", _("Reporter identity viewed")


# Action → (statuses it may start from, status it leads to; None keeps the status).
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    Action.ACCEPT: (frozenset({Status.RECEIVED}), Status.TRIAGED),
    Action.MERGE: (frozenset({Status.RECEIVED}), Status.MERGED),
    Action.REJECT: (frozenset({Status.RECEIVED}), Status.REJECTED),
    Action.FLAG_OFFICIALS: (frozenset({Status.RECEIVED, Status.TRIAGED}), None),
    Action.ASSIGN: (frozenset({Status.TRIAGED}), Status.ASSIGNED),
    Action.TRANSFER: (frozenset({Status.ASSIGNED, Status.VERIFYING}), Status.ASSIGNED),
    Action.START_VERIFYING: (frozenset({Status.ASSIGNED}), Status.VERIFYING),
    Action.VERIFY: (frozenset({Status.VERIFYING}), Status.VERIFIED),
    Action.DISPOSE: (frozenset({Status.VERIFIED}), Status.DISPOSED),
    Action.CLOSE: (frozenset({Status.DISPOSED}), Status.CLOSED),
    Action.MESSAGE: (frozenset(OPEN_STATUSES), None),
    Action.NOTE: (frozenset(Status.values), None),
    Action.REPORTER_REPLY: (frozenset(OPEN_STATUSES), None),
    Action.OPINION: (frozenset({Status.DISPOSED}), None),
    Action.CASE_LINKED: (frozenset(Status.values) - {Status.MERGED, Status.REJECTED}, None),
    Action.REVEAL_REQUESTED: (frozenset(Status.values), None),
}


def can(action: str, status: str) -> bool:
    """Whether ``action`` may happen to a tip in ``status`` (the transition table's guard)."""
    sources, _target = TRANSITIONS[action]
    return status in sources


class Verification(models.TextChoices):
    """Outcome of verification (核查结论)."""

    SUBSTANTIATED = "substantiated", _("Substantiated (查实)")
    UNSUBSTANTIATED = "unsubstantiated", _("Unsubstantiated (查否)")


class Disposal(models.TextChoices):
    """How a verified tip was disposed of (处置方式)."""

    CASE_OPENED = "case_opened", _("Case opened")
    TRANSFERRED = "transferred", _("Transferred to the competent organ")
    PUNISHED = "punished", _("Investigated and punished")
    NOT_GANG_RELATED = "not_gang_related", _("Not gang-related")


class Opinion(models.TextChoices):
    """The reporter's opinion of the handling (举报人意见)."""

    SATISFIED = "satisfied", _("Satisfied")
    BASICALLY_SATISFIED = "basically_satisfied", _("Basically satisfied")
    DISSATISFIED = "dissatisfied", _("Dissatisfied")
    NOT_GIVEN = "not_given", _("No opinion given")


class Card(models.TextChoices):
    """Supervision (督办) raised by the overdue sweep; never lowered, it is a record."""

    NONE = "none", _("None")
    YELLOW = "yellow", _("Yellow card")
    RED = "red", _("Red card")


# What the reporter reads on the receipt page (and the API's lookup), in a citizen's words.
CITIZEN_STATUS = {
    Status.RECEIVED: _("Received. Your report is waiting to be reviewed."),
    Status.TRIAGED: _("Accepted. Your report is being passed to the department responsible."),
    Status.MERGED: _(
        "Combined with an earlier report about the same matter; they are handled together."
    ),
    Status.REJECTED: _(
        "Reviewed. The matter is not organised crime, so the tip line cannot take it up."
    ),
    Status.ASSIGNED: _("Passed to the department responsible."),
    Status.VERIFYING: _("Being checked by the department responsible."),
    Status.VERIFIED: _("Checked. The department is deciding what action to take."),
    Status.DISPOSED: _("Action has been taken. You can tell us what you think of the handling."),
    Status.CLOSED: _("Closed. Thank you for your report."),
}

CITIZEN_OUTCOME = {
    Disposal.CASE_OPENED: _("The competent authority has opened a case."),
    Disposal.TRANSFERRED: _("The matter has been transferred to the competent authority."),
    Disposal.PUNISHED: _("Those responsible have been dealt with according to law."),
    Disposal.NOT_GANG_RELATED: _(
        "The matter was found not to involve organised crime and was dealt with accordingly."
    ),
}


class Tip(PublicId, TimeStamped):
    """A tip (举报线索) about organised crime or its protective umbrella (保护伞).

    ``region_code`` is the place the tip is about; ``routed_unit`` the 扫黑办 that triages and
    supervises it; ``discipline_unit`` the 纪委监委 routed beside it when officials are named;
    ``assigned_unit`` the unit verifying it now. ``bypass_prefix`` is the scope prefix of the named
    officials' region: no unit seated inside it may see the tip (the bypass rule, DOMAIN §5).
    The receipt itself is never stored; ``receipt_hmac`` finds the tip.
    """

    reference = models.CharField(_("reference"), max_length=16, unique=True, editable=False)
    receipt_hmac = models.CharField(_("receipt HMAC"), max_length=64, unique=True, editable=False)
    data_key = WrappedDataKeyField(_("data key"))

    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.RECEIVED
    )
    category = models.CharField(
        _("category"), max_length=40, choices=Category.choices, default=Category.OTHER
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("region"), on_delete=models.PROTECT, related_name="+"
    )
    region_code = models.CharField(_("region code"), max_length=15)
    received_at = models.DateTimeField(_("received at"))

    description = TipSealedTextField(_("what happened"))
    place_text = TipSealedTextField(_("place"), blank=True, default="")

    is_real_name = models.BooleanField(_("real name"), default=False)
    reporter_name = TipSealedTextField(_("reporter name"), blank=True, default="")
    reporter_contact = TipSealedTextField(_("reporter contact"), blank=True, default="")

    officials_involved = models.BooleanField(_("officials involved"), default=False)
    officials_region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("officials' region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    officials_text = TipSealedTextField(_("officials named"), blank=True, default="")
    bypass_prefix = models.CharField(_("bypassed scope"), max_length=15, blank=True)

    routed_unit = models.ForeignKey(
        "regions.Unit",
        verbose_name=_("supervising anti-gang office"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    discipline_unit = models.ForeignKey(
        "regions.Unit",
        verbose_name=_("discipline commission"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    assigned_unit = models.ForeignKey(
        "regions.Unit",
        verbose_name=_("assigned unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    # Clocks (DOMAIN §5): route within 5 working days, verify within 30 natural days.
    triage_by = models.DateField(_("forward by"))
    verify_by = models.DateField(_("verify by"))
    card = models.CharField(_("supervision"), max_length=10, choices=Card.choices, default="none")
    card_at = models.DateTimeField(_("card raised at"), null=True, blank=True)

    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
    )
    # The earliest report of the matter among the tips merged into this one (reward rules pay
    # the first reporter); null when this tip is itself the first.
    first_report = models.ForeignKey(
        "self",
        verbose_name=_("first report"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    rejection_reason = TipSealedTextField(_("reason for rejection"), blank=True, default="")
    verification = models.CharField(
        _("verification outcome"), max_length=20, choices=Verification.choices, blank=True
    )
    verification_summary = TipSealedTextField(_("verification summary"), blank=True, default="")
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)

    disposal = models.CharField(_("disposal"), max_length=20, choices=Disposal.choices, blank=True)
    disposal_unit = models.ForeignKey(
        "regions.Unit",
        verbose_name=_("organ"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # An organ outside the platform (a court, another city's police).
    disposal_unit_name = models.CharField(
        _("organ (outside the platform)"), max_length=200, blank=True
    )
    case_charges = models.CharField(_("suspected charges"), max_length=200, blank=True)
    case_opened_on = models.DateField(_("case opened on"), null=True, blank=True)
    disposal_note = TipSealedTextField(_("disposal note"), blank=True, default="")
    disposed_at = models.DateTimeField(_("disposed at"), null=True, blank=True)

    opinion = models.CharField(
        _("reporter's opinion"), max_length=20, choices=Opinion.choices, blank=True
    )
    opinion_comment = TipSealedTextField(_("reporter's comment"), blank=True, default="")
    opinion_at = models.DateTimeField(_("opinion given at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = TipQuerySet.as_manager()

    class Meta:
        verbose_name = _("tip")
        verbose_name_plural = _("tips")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values), name="tip_status_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=Status.MERGED) | models.Q(merged_into__isnull=False),
                name="tip_merged_has_target",
            ),
            models.CheckConstraint(
                condition=models.Q(officials_involved=True) | models.Q(bypass_prefix=""),
                name="tip_bypass_needs_officials",
            ),
        ]
        indexes = [
            # Statistics: tips of a region (range on region_code) received in a period.
            models.Index(fields=["region_code", "received_at"], name="tip_region_received"),
            # visible_to(): the queues of one unit, by the three unit columns.
            models.Index(fields=["assigned_unit", "status"], name="tip_assigned_status"),
            models.Index(fields=["routed_unit", "status"], name="tip_routed_status"),
            models.Index(fields=["discipline_unit", "status"], name="tip_discipline_status"),
            # The overdue sweep: open tips by their clocks.
            models.Index(fields=["status", "verify_by"], name="tip_status_verify_by"),
        ]

    def __str__(self) -> str:
        return self.reference

    def tip_data_key(self) -> bytes | None:
        return self.data_key

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def first_reporter_tip(self) -> Tip:
        """The tip whose reporter came first (this one unless an earlier one merged in)."""
        return self.first_report or self

    def citizen_status(self) -> str:
        return str(CITIZEN_STATUS[self.status])

    def citizen_outcome(self) -> str:
        return str(CITIZEN_OUTCOME[self.disposal]) if self.disposal else ""


class TipPart(PublicId):
    """A row hanging off one tip (its accused, messages, notes, files, transfers, reveal
    requests): its sealed columns open with that tip's data key (``tips.fields``)."""

    class Meta:
        abstract = True

    def tip_data_key(self) -> bytes | None:
        return self.tip.data_key


class Accused(TipPart):
    """A person the tip accuses (被举报人); every detail sealed, name and ID number blind-indexed
    so repeated tips about the same person link without decrypting anything."""

    tip = models.ForeignKey(
        Tip, verbose_name=_("tip"), on_delete=models.CASCADE, related_name="accused"
    )
    name = TipSealedTextField(_("name"), blank=True, default="")
    nickname = TipSealedTextField(_("nickname"), blank=True, default="")
    age = TipSealedTextField(_("age"), blank=True, default="")
    occupation = TipSealedTextField(_("occupation"), blank=True, default="")
    id_number = TipSealedTextField(_("ID number"), blank=True, default="")
    address = TipSealedTextField(_("address"), blank=True, default="")
    workplace = TipSealedTextField(_("workplace"), blank=True, default="")
    name_index = BlindIndexField(source="name", kind="name")
    id_number_index = BlindIndexField(source="id_number", kind="id_number")

    class Meta:
        verbose_name = _("accused person")
        verbose_name_plural = _("accused persons")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"accused {self.public_id}"


class Direction(models.TextChoices):
    TO_REPORTER = "to_reporter", _("Handler to reporter")
    FROM_REPORTER = "from_reporter", _("Reporter to handler")


class TipMessage(TipPart):
    """A message between handler and reporter (沟通记录); the reporter reads it with the receipt."""

    tip = models.ForeignKey(
        Tip, verbose_name=_("tip"), on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(_("direction"), max_length=20, choices=Direction.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    author_unit = models.ForeignKey(
        "regions.Unit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = TipSealedTextField(_("message"), blank=True, default="")
    created_at = models.DateTimeField(_("sent at"))

    class Meta:
        verbose_name = _("tip message")
        verbose_name_plural = _("tip messages")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"message {self.public_id}"


class InternalNote(TipPart):
    """A handler's internal note (内部备注); the reporter never sees it."""

    tip = models.ForeignKey(
        Tip, verbose_name=_("tip"), on_delete=models.CASCADE, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    unit = models.ForeignKey("regions.Unit", null=True, on_delete=models.SET_NULL, related_name="+")
    body = TipSealedTextField(_("note"))
    created_at = models.DateTimeField(_("written at"))

    class Meta:
        verbose_name = _("internal note")
        verbose_name_plural = _("internal notes")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note {self.public_id}"


class TipAttachment(TipPart):
    """A file sent with a tip or a reply (附件): metadata stripped, sealed with the tip's key.

    ``content`` is large; list queries defer it (``TipAttachment.objects.without_content()``).
    """

    tip = models.ForeignKey(
        Tip, verbose_name=_("tip"), on_delete=models.CASCADE, related_name="attachments"
    )
    message = models.ForeignKey(
        TipMessage, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    # Its position and true type ("3.jpg"); the name it was sent with is not kept (attachments.py).
    filename = models.CharField(_("file name"), max_length=20)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    content = TipSealedBinaryField(_("content"))
    created_at = models.DateTimeField(_("received at"))

    class Meta:
        verbose_name = _("tip attachment")
        verbose_name_plural = _("tip attachments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"attachment {self.public_id}"


class TransferKind(models.TextChoices):
    ASSIGNMENT = "assignment", _("Assignment by the anti-gang office")
    TRANSFER = "transfer", _("Transfer between units")


class TipTransfer(TipPart):
    """A hand-over of a tip to a unit (交办/移交), with its own clock: the receiving unit takes it
    up (starts verifying) within ``due_by`` (5 working days by default, DOMAIN §5)."""

    tip = models.ForeignKey(
        Tip, verbose_name=_("tip"), on_delete=models.CASCADE, related_name="transfers"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=TransferKind.choices)
    from_unit = models.ForeignKey(
        "regions.Unit", null=True, on_delete=models.PROTECT, related_name="+"
    )
    to_unit = models.ForeignKey("regions.Unit", on_delete=models.PROTECT, related_name="+")
    reason = TipSealedTextField(_("reason"), blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("handed over at"))
    due_by = models.DateField(_("take up by"))
    # When the clock stopped: the unit took the tip up, or it was passed on before that.
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)

    objects = TipTransferQuerySet.as_manager()

    class Meta:
        verbose_name = _("tip transfer")
        verbose_name_plural = _("tip transfers")
        ordering = ["created_at", "id"]
        constraints = [
            # One hand-over waits at a time: the next replaces it only after it was closed.
            models.UniqueConstraint(
                fields=["tip"],
                condition=models.Q(settled_at__isnull=True),
                name="tiptransfer_one_pending",
            ),
        ]
        indexes = [
            # The overdue sweep: hand-overs still waiting, by due date.
            models.Index(fields=["settled_at", "due_by"], name="tiptransfer_pending_due"),
        ]

    def __str__(self) -> str:
        return f"transfer {self.public_id}"


class TipEvent(models.Model):
    """One step of a tip's timeline (流转记录). Never updated; ``detail`` holds no personal data.

    ``unit`` is the unit that acted, or for a notice the unit that was notified.
    """

    tip = models.ForeignKey(
        Tip, verbose_name=_("tip"), on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    from_status = models.CharField(_("from"), max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=Status.choices, blank=True)
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    unit = models.ForeignKey(
        "regions.Unit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    objects = TipEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("tip event")
        verbose_name_plural = _("tip events")
        ordering = ["at", "id"]
        indexes = [
            # A unit's supervision notices (TipEvent.objects.notices_for(unit)).
            models.Index(fields=["unit", "action", "at"], name="tipevent_unit_action"),
        ]

    def __str__(self) -> str:
        return f"{self.tip_id} {self.action}"


class RevealStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class RevealRequest(TipPart):
    """A request to see a real-name reporter's identity (身份查阅申请): a reason, then a second
    person's approval (SECURITY 10). An approval lets only the requester look, for a day."""

    tip = models.ForeignKey(
        Tip, verbose_name=_("tip"), on_delete=models.CASCADE, related_name="reveal_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_unit = models.ForeignKey("regions.Unit", on_delete=models.PROTECT, related_name="+")
    reason = TipSealedTextField(_("reason"))
    created_at = models.DateTimeField(_("requested at"))
    status = models.CharField(
        _("status"), max_length=10, choices=RevealStatus.choices, default=RevealStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("valid until"), null=True, blank=True)

    objects = RevealRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("identity request")
        verbose_name_plural = _("identity requests")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Two people: the database refuses a request approved by the person who made it.
            models.CheckConstraint(
                condition=models.Q(decided_by__isnull=True)
                | ~models.Q(decided_by=models.F("requested_by")),
                name="revealrequest_second_person",
            ),
        ]

    def __str__(self) -> str:
        return f"reveal {self.public_id}"


class TipCaseLink(models.Model):
    """A link from a tip to a case of the case engine (关联事件), by the case's public code."""

    tip = models.ForeignKey(
        Tip, verbose_name=_("tip"), on_delete=models.CASCADE, related_name="case_links"
    )
    case_code = models.CharField(_("case code"), max_length=40)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    linked_at = models.DateTimeField(_("linked at"))

    class Meta:
        verbose_name = _("case link")
        verbose_name_plural = _("case links")
        ordering = ["linked_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tip", "case_code"], name="tipcaselink_unique"),
        ]

    def __str__(self) -> str:
        return self.case_code


class LinkSuggestion(models.Model):
    """A possible repeat of an earlier tip (疑似重复线索), found by the linking job.

    ``reasons`` lists what matched ("name", "id_number", "text"); ``score`` is the text
    similarity (character-bigram Jaccard, 0–1). The triager sees suggestions of tips they may see.
    """

    tip = models.ForeignKey(Tip, on_delete=models.CASCADE, related_name="suggestions")
    other = models.ForeignKey(Tip, on_delete=models.CASCADE, related_name="+")
    reasons = models.JSONField(default=list)
    score = models.FloatField(default=0.0)
    found_at = models.DateTimeField()

    class Meta:
        verbose_name = _("link suggestion")
        verbose_name_plural = _("link suggestions")
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tip", "other"], name="linksuggestion_unique"),
            models.CheckConstraint(
                condition=~models.Q(tip=models.F("other")), name="linksuggestion_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tip_id} ~ {self.other_id}"
