"""The case engine's tables: taxonomy, routing rules, clock policies, cases and their timeline.

A case (事件 / 矛盾纠纷) keeps one public code for life (一事一码). Every state change is written
by ``cases.services`` together with a ``StatusChange`` row, which is both the timeline and the
only source of the metrics (ARCHITECTURE §6).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fengqiao.cases.querysets import (
    CaseQuerySet,
    CategoryQuerySet,
    PartyQuerySet,
    StatusChangeQuerySet,
)
from fengqiao.core.fields import BlindIndexField, EncryptedTextField
from fengqiao.core.models import PublicId, TimeStamped
from fengqiao.regions.models import Level, UnitKind


class CaseKind(models.TextChoices):
    DISPUTE = "dispute", _("Dispute")
    HAZARD = "hazard", _("Hazard")
    SECURITY = "security", _("Public security")
    LIVELIHOOD = "livelihood", _("Livelihood service")
    PETITION = "petition", _("Petition")
    OTHER = "other", _("Other")


class Taxonomy(models.TextChoices):
    """Which classification tree a category belongs to (DOMAIN §3)."""

    GRID_DISPUTE = "grid_dispute", _("Grid dispute types")
    MEDIATION_STATS = "mediation_stats", _("People's mediation statistics classes")
    SECURITY = "security", _("Public security and hazards")
    LIVELIHOOD = "livelihood", _("Livelihood services")
    PETITION = "petition", _("Petition types")


class Category(TimeStamped):
    """A case category (事项分类) in one of the shipped taxonomies, editable by the system admin.

    Grid dispute categories map to a 人民调解 statistics class (``statistics_class``), so the
    Ministry of Justice figures come out of the same cases. Names are data (shipped in Chinese with
    an English name beside them), not gettext strings.
    """

    code = models.CharField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    taxonomy = models.CharField(_("taxonomy"), max_length=20, choices=Taxonomy.choices)
    kind = models.CharField(_("case kind"), max_length=20, choices=CaseKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    statistics_class = models.ForeignKey(
        "self",
        verbose_name=_("statistics class"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"taxonomy": Taxonomy.MEDIATION_STATS},
    )
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    # Whether citizens may pick it on the public form (statistics classes are never picked).
    is_reportable = models.BooleanField(_("reportable"), default=True)

    objects = CategoryQuerySet.as_manager()

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["taxonomy", "sort_order", "code"]
        indexes = [
            # The pickers: active reportable categories of one taxonomy in order.
            models.Index(fields=["taxonomy", "is_active", "sort_order"], name="category_picker"),
        ]

    def __str__(self) -> str:
        return self.name


class DayBasis(models.TextChoices):
    WORKING = "working", _("Working days")
    NATURAL = "natural", _("Natural days")


class ClockPolicy(TimeStamped):
    """A set of legal time limits (时限) for a kind of matter; DOMAIN §2 gives the defaults.

    Acceptance and handling each have a yellow-card limit (the deadline) and a red-card limit,
    counted in working days on the holiday calendar or in natural days. ``max_handle_days`` caps
    an ordinary case at 30 natural days whatever the basis; urgent cases get
    ``urgent_handle_days`` natural days.
    """

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    basis = models.CharField(
        _("day basis"), max_length=10, choices=DayBasis.choices, default=DayBasis.WORKING
    )
    accept_days = models.PositiveSmallIntegerField(_("acceptance limit (days)"), default=1)
    accept_red_days = models.PositiveSmallIntegerField(_("acceptance red card (days)"), default=2)
    handle_days = models.PositiveSmallIntegerField(_("handling limit (days)"), default=5)
    handle_red_days = models.PositiveSmallIntegerField(_("handling red card (days)"), default=10)
    max_handle_days = models.PositiveSmallIntegerField(_("handling cap (natural days)"), default=30)
    urgent_handle_days = models.PositiveSmallIntegerField(
        _("urgent handling limit (natural days)"), default=1
    )
    # Cases within this many hours of their deadline are "due soon" on the workbench.
    due_soon_hours = models.PositiveSmallIntegerField(_("due soon window (hours)"), default=24)
    visit_after_days = models.PositiveSmallIntegerField(
        _("follow-up visit after closure (days)"), default=1
    )
    max_extension_days = models.PositiveSmallIntegerField(_("longest extension (days)"), default=30)
    points_on_time = models.SmallIntegerField(_("points for on-time handling"), default=1)
    points_yellow = models.SmallIntegerField(_("points for a yellow card"), default=-5)
    points_red = models.SmallIntegerField(_("points for a red card"), default=-10)

    class Meta:
        verbose_name = _("clock policy")
        verbose_name_plural = _("clock policies")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(accept_red_days__gte=models.F("accept_days")),
                name="clockpolicy_accept_red_after_yellow",
            ),
            models.CheckConstraint(
                condition=models.Q(handle_red_days__gte=models.F("handle_days")),
                name="clockpolicy_handle_red_after_yellow",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Severity(models.IntegerChoices):
    """Event grade (事件等级); higher is graver."""

    GENERAL = 1, _("General")
    LARGE = 2, _("Relatively major")
    MAJOR = 3, _("Major")
    EXTREME = 4, _("Especially major")


class CategoryRule(TimeStamped):
    """Routing and clocks for a category (分流规则): the lowest level that handles it, and when to go
    higher. 小事不出村、大事不出镇: most disputes default to the village, graver ones to the town
    or county through ``escalate_severity``.
    """

    category = models.OneToOneField(
        Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="rule"
    )
    default_level = models.CharField(
        _("default level"), max_length=10, choices=Level.choices, default=Level.VILLAGE
    )
    handling_unit_kind = models.CharField(
        _("handling unit kind"), max_length=40, choices=UnitKind.choices
    )
    # At or above this severity the case lands at ``escalate_level`` instead.
    escalate_severity = models.PositiveSmallIntegerField(
        _("escalate at severity"), choices=Severity.choices, null=True, blank=True
    )
    escalate_level = models.CharField(
        _("level for grave cases"), max_length=10, choices=Level.choices, blank=True
    )
    clock_policy = models.ForeignKey(
        ClockPolicy, verbose_name=_("clock policy"), on_delete=models.PROTECT, related_name="rules"
    )

    class Meta:
        verbose_name = _("category rule")
        verbose_name_plural = _("category rules")

    def __str__(self) -> str:
        return f"{self.category} → {self.get_default_level_display()}"


class Status(models.TextChoices):
    """Case states (DOMAIN §2): 上报 → 受理 → 交办 → 签收/办理 → 办结反馈 → 核查 → 结案 → 评价 → 归档."""

    DRAFT = "draft", _("Draft")
    REPORTED = "reported", _("Reported")
    ACCEPTED = "accepted", _("Accepted")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    SUSPENDED = "suspended", _("Suspended")
    PENDING_VERIFY = "pending_verify", _("Awaiting verification")
    CLOSED = "closed", _("Closed")
    EVALUATED = "evaluated", _("Evaluated")
    ARCHIVED = "archived", _("Archived")
    REJECTED = "rejected", _("Rejected as invalid")


OPEN_STATUSES = (
    Status.REPORTED,
    Status.ACCEPTED,
    Status.ASSIGNED,
    Status.IN_PROGRESS,
    Status.SUSPENDED,
    Status.PENDING_VERIFY,
)
DONE_STATUSES = (Status.CLOSED, Status.EVALUATED, Status.ARCHIVED)


class Action(models.TextChoices):
    """Workflow actions; each is one service in ``cases.services`` and one StatusChange row."""

    REPORT = "report", _("Report")
    ACCEPT = "accept", _("Accept")
    ASSIGN = "assign", _("Assign")
    SIGN = "sign", _("Sign for")
    RETURN = "return", _("Return")
    ESCALATE = "escalate", _("Escalate")
    ESCALATE_SKIP = "escalate_skip", _("Escalate past a level")
    REQUEST_EXTENSION = "request_extension", _("Request extension")
    APPROVE_EXTENSION = "approve_extension", _("Approve extension")
    DECLINE_EXTENSION = "decline_extension", _("Decline extension")
    SUSPEND = "suspend", _("Suspend")
    RESUME = "resume", _("Resume")
    FEEDBACK = "feedback", _("Report completion")
    VERIFY_PASS = "verify_pass", _("Verification passed")
    VERIFY_FAIL = "verify_fail", _("Verification failed")
    CLOSE = "close", _("Close")
    EVALUATE = "evaluate", _("Evaluate")
    REOPEN = "reopen", _("Reopen")
    REJECT = "reject", _("Reject as invalid")
    ARCHIVE = "archive", _("Archive")
    SUPERVISE = "supervise", _("Supervise")
    CARD = "card", _("Card raised by the clock")
    VISIT = "visit", _("Follow-up visit")
    # 人民调解法 art. 25: the dispute may turn violent; police and the town centre are told.
    RISK_FLAG = "risk_flag", _("Marked as likely to turn violent")


# The state machine (django-oscar style): action → (states it may start from, state it leads to).
# ``None`` as the target keeps the current state (extensions, supervision, cards). Who may act is
# checked by the service (owner unit, handler unit, or a level above), not here.
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    Action.ACCEPT: (frozenset({Status.REPORTED}), Status.ACCEPTED),
    Action.ASSIGN: (frozenset({Status.ACCEPTED}), Status.ASSIGNED),
    Action.SIGN: (frozenset({Status.ASSIGNED, Status.ACCEPTED}), Status.IN_PROGRESS),
    Action.RETURN: (
        frozenset({Status.REPORTED, Status.ASSIGNED, Status.IN_PROGRESS}),
        None,  # REPORTED → re-routed upwards (stays REPORTED); ASSIGNED/IN_PROGRESS → ACCEPTED
    ),
    Action.ESCALATE: (
        frozenset({Status.REPORTED, Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS}),
        Status.REPORTED,
    ),
    Action.ESCALATE_SKIP: (
        frozenset({Status.REPORTED, Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS}),
        Status.REPORTED,
    ),
    Action.REQUEST_EXTENSION: (frozenset({Status.ASSIGNED, Status.IN_PROGRESS}), None),
    Action.APPROVE_EXTENSION: (
        frozenset({Status.ASSIGNED, Status.IN_PROGRESS, Status.SUSPENDED}),
        None,
    ),
    Action.DECLINE_EXTENSION: (
        frozenset({Status.ASSIGNED, Status.IN_PROGRESS, Status.SUSPENDED}),
        None,
    ),
    Action.SUSPEND: (frozenset({Status.IN_PROGRESS}), Status.SUSPENDED),
    Action.RESUME: (frozenset({Status.SUSPENDED}), Status.IN_PROGRESS),
    Action.FEEDBACK: (frozenset({Status.IN_PROGRESS}), Status.PENDING_VERIFY),
    Action.VERIFY_PASS: (frozenset({Status.PENDING_VERIFY}), Status.CLOSED),
    Action.VERIFY_FAIL: (frozenset({Status.PENDING_VERIFY}), Status.IN_PROGRESS),
    Action.CLOSE: (frozenset({Status.PENDING_VERIFY}), Status.CLOSED),
    Action.EVALUATE: (frozenset({Status.CLOSED}), Status.EVALUATED),
    Action.REOPEN: (
        frozenset({Status.CLOSED, Status.EVALUATED, Status.REJECTED}),
        Status.ACCEPTED,
    ),
    Action.REJECT: (frozenset({Status.REPORTED, Status.ACCEPTED}), Status.REJECTED),
    Action.ARCHIVE: (frozenset({Status.CLOSED, Status.EVALUATED}), Status.ARCHIVED),
    Action.SUPERVISE: (frozenset(OPEN_STATUSES), None),
    Action.CARD: (frozenset(OPEN_STATUSES), None),
    Action.VISIT: (frozenset({Status.CLOSED, Status.EVALUATED}), None),
    Action.RISK_FLAG: (frozenset(OPEN_STATUSES), None),
}


def can(action: str, status: str) -> bool:
    """Whether ``action`` may start from ``status`` (the who-may-act check is the service's)."""
    sources, _target = TRANSITIONS[action]
    return status in sources


class Channel(models.TextChoices):
    """Where a case came in (DOMAIN §3 channels)."""

    GRID_APP = "grid_app", _("Grid worker app")
    VISIT = "visit", _("Door-to-door visit")
    WALK_IN = "walk_in", _("Walk-in")
    PHONE = "phone", _("Phone")
    HOTLINE_12345 = "hotline_12345", _("12345 hotline")
    WEB = "web", _("Website")
    WECHAT = "wechat", _("WeChat")
    SMS = "sms", _("Text message")
    REFERRAL_COURT = "referral_court", _("Referral from a court")
    REFERRAL_POLICE = "referral_police", _("Referral from the police")
    REFERRAL_PETITION = "referral_petition", _("Referral from letters and visits")
    IMPORT = "import", _("Import")
    API = "api", _("System interface")
    OPEN311 = "open311", _("Open311")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")


class Supervision(models.IntegerChoices):
    """Supervision (督办) and clock cards, ordered so the sweep only ever raises them."""

    NONE = 0, _("None")
    NORMAL = 1, _("Supervised")
    YELLOW = 2, _("Yellow card")
    RED = 3, _("Red card")


class RegionResolution(models.TextChoices):
    """How the case's region was found (place → region)."""

    PICKED = "picked", _("Picked in the region tree")
    TEXT = "text", _("Matched from the place text")
    POINT = "point", _("Located from the coordinates")
    REPORTER = "reporter", _("The reporter's own area")


class ClosureMethod(models.TextChoices):
    MEDIATED = "mediated", _("Mediated")
    HANDLED = "handled", _("Handled by the unit")
    REFERRED = "referred", _("Referred to another route")
    EXPLAINED = "explained", _("Explained to the reporter")
    OTHER = "other", _("Other")


class EvaluationChannel(models.TextChoices):
    TRACKING = "tracking", _("Citizen on the tracking page")
    VISIT = "visit", _("Follow-up visit")
    PHONE = "phone", _("Phone call")


class RiskTier(models.TextChoices):
    """民转刑 risk tiers (DOMAIN §6)."""

    BLUE = "blue", _("Blue")
    YELLOW = "yellow", _("Yellow")
    ORANGE = "orange", _("Orange")
    RED = "red", _("Red")


class Case(PublicId, TimeStamped):
    """A case (事件 / 矛盾纠纷): a dispute, hazard, incident or request, from report to archive.

    ``code`` is the public code for life (一事一码: county code, date, sequence). ``owner_unit``
    (受理单位) accepts, dispatches and verifies; ``handler_unit`` (承办单位) signs and handles;
    ``level`` is the owner's level. Clock fields are datetimes computed by ``cases.clocks`` from
    the category's clock policy on the holiday calendar.
    """

    code = models.CharField(_("case code"), max_length=24, unique=True)
    # Only its hash is kept; the token itself is in the citizen's tracking link and QR code.
    tracking_token_hash = models.CharField(max_length=64, blank=True, editable=False)

    kind = models.CharField(_("kind"), max_length=20, choices=CaseKind.choices)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="cases"
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    external_ref = models.CharField(_("external reference"), max_length=100, blank=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=5000)
    occurred_at = models.DateTimeField(_("occurred at"), null=True, blank=True)
    reported_at = models.DateTimeField(_("reported at"))

    place_text = models.CharField(_("place"), max_length=300, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    # No index of its own: scoping and filters use ``region_code`` (this key is for joins).
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("region"),
        db_index=False,
        on_delete=models.PROTECT,
        related_name="+",
    )
    region_code = models.CharField(_("region code"), max_length=15)
    region_resolution = models.CharField(
        _("region found by"), max_length=10, choices=RegionResolution.choices
    )

    severity = models.PositiveSmallIntegerField(
        _("severity"), choices=Severity.choices, default=Severity.GENERAL
    )
    urgency = models.CharField(
        _("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.NORMAL
    )
    people_count = models.PositiveIntegerField(_("people involved"), null=True, blank=True)
    amount = models.DecimalField(
        _("amount (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True
    )

    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.REPORTED
    )
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    # The unit keys carry no index of their own: case_owner_queue / case_handler_queue lead with
    # them, and every case insert would otherwise update two more B-trees.
    owner_unit = models.ForeignKey(
        "regions.Unit",
        verbose_name=_("accepting unit"),
        db_index=False,
        on_delete=models.PROTECT,
        related_name="owned_cases",
    )
    handler_unit = models.ForeignKey(
        "regions.Unit",
        verbose_name=_("handling unit"),
        null=True,
        blank=True,
        db_index=False,
        on_delete=models.PROTECT,
        related_name="handled_cases",
    )
    # Never filtered on; users are disabled, not deleted.
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        null=True,
        blank=True,
        db_index=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    clock_policy = models.ForeignKey(
        ClockPolicy,
        verbose_name=_("clock policy"),
        db_index=False,  # never filtered on; a policy in use is not deleted
        on_delete=models.PROTECT,
        related_name="+",
    )

    # Clocks. "due" is the legal limit (yellow card when passed), "red" the red-card limit.
    accept_due_at = models.DateTimeField(_("accept by"), null=True, blank=True)
    accept_red_at = models.DateTimeField(null=True, blank=True, editable=False)
    handle_due_at = models.DateTimeField(_("handle by"), null=True, blank=True)
    handle_red_at = models.DateTimeField(null=True, blank=True, editable=False)
    paused_at = models.DateTimeField(_("suspended at"), null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(default=0, editable=False)
    status_before_suspend = models.CharField(max_length=20, blank=True, editable=False)
    extension_days_requested = models.PositiveSmallIntegerField(null=True, blank=True)
    extension_reason = models.CharField(max_length=500, blank=True)

    supervision = models.PositiveSmallIntegerField(
        _("supervision"), choices=Supervision.choices, default=Supervision.NONE
    )
    supervised_by = models.ForeignKey(
        "regions.Unit",
        verbose_name=_("supervised by"),
        null=True,
        blank=True,
        db_index=False,  # never filtered on; units are deactivated, not deleted
        on_delete=models.SET_NULL,
        related_name="+",
    )

    risk_score = models.PositiveSmallIntegerField(_("risk score"), null=True, blank=True)
    risk_tier = models.CharField(
        _("risk tier"), max_length=10, choices=RiskTier.choices, blank=True
    )
    # 人民调解法 art. 25: a dispute that may turn violent is reported to the police at once.
    may_turn_violent = models.BooleanField(_("may turn violent"), default=False)
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
    )

    closure_method = models.CharField(
        _("closure method"), max_length=20, choices=ClosureMethod.choices, blank=True
    )
    resolved = models.BooleanField(_("resolved"), null=True, blank=True)
    closure_summary = models.TextField(_("resolution notes"), max_length=2000, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    visit_due_at = models.DateTimeField(_("follow-up visit due"), null=True, blank=True)
    visited_at = models.DateTimeField(_("visited at"), null=True, blank=True)
    # Set by the clock sweep when it tells the owner unit the visit is due (its claim).
    visit_notified_at = models.DateTimeField(null=True, blank=True, editable=False)

    satisfaction = models.PositiveSmallIntegerField(_("satisfaction"), null=True, blank=True)
    evaluation_comment = models.CharField(_("evaluation comment"), max_length=1000, blank=True)
    evaluation_channel = models.CharField(
        _("evaluated through"), max_length=10, choices=EvaluationChannel.choices, blank=True
    )
    evaluated_at = models.DateTimeField(_("evaluated at"), null=True, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-reported_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(satisfaction__isnull=True)
                | models.Q(satisfaction__gte=1, satisfaction__lte=5),
                name="case_satisfaction_1_to_5",
            ),
            models.CheckConstraint(
                condition=models.Q(latitude__isnull=True, longitude__isnull=True)
                | models.Q(
                    latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180
                ),
                name="case_point_in_range",
            ),
        ]
        indexes = [
            # Workbench queues: "status S at my unit", newest first.
            models.Index(fields=["owner_unit", "status", "reported_at"], name="case_owner_queue"),
            models.Index(
                fields=["handler_unit", "status", "reported_at"], name="case_handler_queue"
            ),
            # Region lists and filters: visible_to() range on region_code, then status.
            models.Index(fields=["region_code", "status"], name="case_region_status"),
            # The clock sweep and the due-soon / overdue queues.
            models.Index(fields=["status", "handle_due_at"], name="case_handle_clock"),
            models.Index(fields=["status", "accept_due_at"], name="case_accept_clock"),
            # Follow-up visits due.
            models.Index(fields=["status", "visit_due_at"], name="case_visit_due"),
            # A unit's follow-up visit queue: only closed, unvisited cases are in it, where
            # case_owner_queue would read every case the unit ever closed (thousands in a town).
            # New cases are not closed, so intake never writes to it.
            models.Index(
                fields=["owner_unit", "visit_due_at"],
                condition=models.Q(status="closed", visited_at__isnull=True),
                name="case_visit_queue",
            ),
            # Newest-first lists over a wide scope (city, county) and the Open311 date window:
            # read backwards along this index, filtering by region, instead of sorting.
            models.Index(fields=["reported_at"], name="case_reported"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class PartyRole(models.TextChoices):
    REPORTER = "reporter", _("Reporter")
    APPLICANT = "applicant", _("Applicant")
    RESPONDENT = "respondent", _("Respondent")
    OTHER = "other", _("Other party")


class Party(PublicId, TimeStamped):
    """A party to a case (当事人): role, name, ID number, phone and address.

    ID number, phone and address are sealed (SM4-GCM bound to this row); the blind indexes find
    the same person in other open cases without decrypting anything. Pages show them masked
    unless the role may reveal them, and each reveal is audited (SECURITY 8).
    """

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="parties"
    )
    role = models.CharField(_("role"), max_length=20, choices=PartyRole.choices)
    name = EncryptedTextField(_("name"), max_length=100)
    id_number = EncryptedTextField(_("ID number"), max_length=18, blank=True)
    phone = EncryptedTextField(_("phone"), max_length=20, blank=True)
    address = EncryptedTextField(_("address"), max_length=200, blank=True)
    name_index = BlindIndexField(source="name", kind="text")
    id_number_index = BlindIndexField(source="id_number", kind="id_number")
    phone_index = BlindIndexField(source="phone", kind="phone")
    # Kept for masking without decrypting: the last four characters of ID number and phone.
    id_number_tail = models.CharField(max_length=4, blank=True, editable=False)
    phone_tail = models.CharField(max_length=4, blank=True, editable=False)

    objects = PartyQuerySet.as_manager()

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        ordering = ["case", "id"]

    def __str__(self) -> str:
        return f"{self.get_role_display()} #{self.pk}"


class StatusChange(models.Model):
    """One step of a case's timeline (流转记录), and the only source of the metrics.

    Rows are never updated. ``region_code`` and ``kind`` are copied from the case so per-region
    statistics are one indexed range scan; ``level`` is the level that acted; ``on_time`` records
    whether a clocked step (accept, feedback, close) met its limit when it happened.
    """

    # No index of its own: ``change_timeline`` (case, at) leads with it, for the timeline and
    # for the cascade alike.
    case = models.ForeignKey(
        Case,
        verbose_name=_("case"),
        on_delete=models.CASCADE,
        related_name="changes",
        db_index=False,
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    from_status = models.CharField(_("from"), max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=Status.choices)
    at = models.DateTimeField(_("at"))
    # The timeline is read per case (change_timeline) and per region (change_metrics); these keys
    # are only joined for display, so they carry no index of their own — each StatusChange insert
    # (several per case) would otherwise update four more B-trees. Users and units are
    # deactivated, never deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        db_index=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_unit = models.ForeignKey(
        "regions.Unit",
        null=True,
        blank=True,
        db_index=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    from_unit = models.ForeignKey(
        "regions.Unit",
        null=True,
        blank=True,
        db_index=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    to_unit = models.ForeignKey(
        "regions.Unit",
        null=True,
        blank=True,
        db_index=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    level = models.CharField(_("level"), max_length=10, choices=Level.choices, blank=True)
    region_code = models.CharField(_("region code"), max_length=15)
    kind = models.CharField(_("kind"), max_length=20, choices=CaseKind.choices)
    on_time = models.BooleanField(_("on time"), null=True, blank=True)
    # Shown on the citizen's tracking page (public progress); internal steps are not.
    is_public = models.BooleanField(_("public"), default=False)
    reason = models.CharField(_("reason"), max_length=1000, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    objects = StatusChangeQuerySet.as_manager()

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["at", "id"]
        indexes = [
            # Metrics: changes of one action in a region subtree and period.
            models.Index(fields=["action", "region_code", "at"], name="change_metrics"),
            # The case timeline.
            models.Index(fields=["case", "at"], name="change_timeline"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.to_status}"


class Note(PublicId, TimeStamped):
    """A note on a case: internal (内部备注) for staff, or public (公开答复) on the tracking page."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_unit = models.ForeignKey(
        "regions.Unit", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(_("text"), max_length=5000)
    is_public = models.BooleanField(_("public"), default=False)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note {self.public_id}"


def attachment_storage_name(instance: Attachment, filename: str) -> str:
    # Random storage names (SECURITY 15): the uploaded name is kept only as data.
    return f"cases/{uuid.uuid4().hex}"


class Attachment(PublicId, TimeStamped):
    """A file on a case (附件): type checked by magic bytes, images re-encoded without metadata,
    stored under a random name outside the static tree and served only through an authorising
    view, as a download."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=attachment_storage_name, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Citizens see their own public attachments on the tracking page; staff see all.
    is_public = models.BooleanField(_("public"), default=False)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class PointEntry(models.Model):
    """Assessment points for a unit from the case clocks (DOMAIN §2: +1 on time, −5 yellow, −10
    red). Unique per (case, unit, reason), so a sweep that runs twice cannot score twice."""

    class Reason(models.TextChoices):
        ON_TIME = "on_time", _("Handled on time")
        YELLOW = "yellow", _("Yellow card")
        RED = "red", _("Red card")

    unit = models.ForeignKey("regions.Unit", on_delete=models.PROTECT, related_name="case_points")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="points")
    reason = models.CharField(max_length=10, choices=Reason.choices)
    points = models.SmallIntegerField()
    at = models.DateTimeField()
    region_code = models.CharField(max_length=15)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "unit", "reason"], name="pointentry_once_per_case_unit_reason"
            ),
        ]
        indexes = [
            # Points per unit in a period.
            models.Index(fields=["unit", "at"], name="pointentry_unit_at"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.reason} {self.points:+d}"


class CaseSequence(models.Model):
    """The last sequence number handed out per county and day, for case codes.

    Incremented with one upsert (``cases.codes``) that takes the row's lock, so two intakes can
    never take the same number on either backend.
    """

    prefix = models.CharField(max_length=6)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "day"], name="casesequence_prefix_day"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix} {self.day} {self.last}"
