"""People's mediation (人民调解) of dispute cases: mediations, sessions, agreements, follow-ups.

A dispute case has at most one ``Mediation``. It records who mediates (the committee and its
mediators), how it started (人民调解法 arts. 17–18), the sessions held, and how it ended: a
written or oral agreement (art. 28–30) or a termination notice naming the other routes (art. 26).
A written agreement may be confirmed by a court when the parties apply within 30 days of it taking
effect (art. 33); performance is checked by follow-up visits (回访, art. 31). Rows are written by
``mediation.services`` only.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fengqiao.core.fields import EncryptedTextField
from fengqiao.core.models import PublicId, TimeStamped
from fengqiao.mediation.querysets import FollowUpVisitQuerySet, MediationQuerySet

# 人民调解法 art. 33: both parties apply to the court within 30 days of the agreement taking effect.
JUDICIAL_CONFIRMATION_DAYS = 30


class StartedHow(models.TextChoices):
    """How mediation began (DOMAIN §4): a party applied, the committee acted, or it was referred."""

    APPLICATION = "application", _("On a party's application")
    INITIATIVE = "initiative", _("On the committee's own initiative")
    REFERRAL_COURT = "referral_court", _("Referred by a court")
    REFERRAL_POLICE = "referral_police", _("Referred by the police")


class SessionPreference(models.TextChoices):
    """Parties may ask for a public or a private session (人民调解法 art. 23)."""

    PUBLIC = "public", _("Public session")
    PRIVATE = "private", _("Private session")


class MediationStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("Mediation in progress")
    AGREEMENT_WRITTEN = "agreement_written", _("Written agreement reached")
    AGREEMENT_ORAL = "agreement_oral", _("Oral agreement reached")
    FAILED = "failed", _("Mediation failed")


AGREED_STATUSES = (MediationStatus.AGREEMENT_WRITTEN, MediationStatus.AGREEMENT_ORAL)


class ConfirmationDecision(models.TextChoices):
    """The court's ruling on an application for judicial confirmation (司法确认)."""

    PENDING = "pending", _("Awaiting the court's decision")
    CONFIRMED = "confirmed", _("Confirmed as valid")
    REJECTED = "rejected", _("Not confirmed by the court")


class Mediator(PublicId, TimeStamped):
    """A people's mediator (人民调解员) of a committee; not every mediator has an account."""

    unit = models.ForeignKey(
        "regions.Unit",
        verbose_name=_("committee"),
        on_delete=models.PROTECT,
        related_name="mediators",
    )
    name = models.CharField(_("mediator's name"), max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("mediator")
        verbose_name_plural = _("mediators")
        ordering = ["unit", "name"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="mediator_unique_name_in_unit"),
        ]

    def __str__(self) -> str:
        return self.name


class Mediation(PublicId, TimeStamped):
    """The people's mediation of one dispute case (人民调解).

    ``committee`` is the body that mediates (usually the village 人民调解委员会 the case was
    assigned to). When a written agreement takes effect, ``confirmation_deadline`` is set to the
    last day the parties may apply for judicial confirmation (effective date + 30 days).
    """

    case = models.OneToOneField(
        "cases.Case", verbose_name=_("case"), on_delete=models.CASCADE, related_name="mediation"
    )
    committee = models.ForeignKey(
        "regions.Unit",
        verbose_name=_("mediating committee"),
        on_delete=models.PROTECT,
        related_name="mediations",
    )
    mediators = models.ManyToManyField(
        Mediator, verbose_name=_("mediators"), related_name="mediations", blank=True
    )
    started_how = models.CharField(_("started"), max_length=20, choices=StartedHow.choices)
    session_preference = models.CharField(
        _("session format"),
        max_length=10,
        choices=SessionPreference.choices,
        default=SessionPreference.PRIVATE,
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=MediationStatus.choices,
        default=MediationStatus.IN_PROGRESS,
    )
    started_at = models.DateTimeField(_("started at"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    agreement_effective_on = models.DateField(_("agreement effective on"), null=True, blank=True)
    confirmation_deadline = models.DateField(
        _("judicial confirmation window ends"), null=True, blank=True
    )
    confirmation_applied_on = models.DateField(
        _("judicial confirmation applied on"), null=True, blank=True
    )
    confirmation_court = models.CharField(_("court"), max_length=200, blank=True)
    confirmation_decision = models.CharField(
        _("court decision"), max_length=10, choices=ConfirmationDecision.choices, blank=True
    )
    confirmation_decided_on = models.DateField(_("decided on"), null=True, blank=True)

    objects = MediationQuerySet.as_manager()

    class Meta:
        verbose_name = _("mediation")
        verbose_name_plural = _("mediations")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(confirmation_applied_on__isnull=True)
                | models.Q(confirmation_applied_on__lte=models.F("confirmation_deadline")),
                name="mediation_confirmation_within_window",
            ),
        ]
        indexes = [
            # A committee's mediations by state (workbench counts, committee statistics).
            models.Index(fields=["committee", "status"], name="mediation_committee_status"),
        ]

    def __str__(self) -> str:
        return f"mediation {self.public_id}"

    @property
    def is_open(self) -> bool:
        return self.status == MediationStatus.IN_PROGRESS

    @property
    def is_agreed(self) -> bool:
        return self.status in AGREED_STATUSES


def confirmation_deadline_for(effective_on):
    """Last day to apply for judicial confirmation (人民调解法 art. 33: within 30 days)."""
    return effective_on + timedelta(days=JUDICIAL_CONFIRMATION_DAYS)


class MediationSession(PublicId, TimeStamped):
    """One mediation session (调解会) and its record (调解笔录)."""

    mediation = models.ForeignKey(
        Mediation, verbose_name=_("mediation"), on_delete=models.CASCADE, related_name="sessions"
    )
    held_at = models.DateTimeField(_("held at"))
    place = models.CharField(_("place of the session"), max_length=200)
    attendees = models.TextField(_("attendees"), max_length=2000)
    record = models.TextField(_("session record"), max_length=20000)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("mediation session")
        verbose_name_plural = _("mediation sessions")
        ordering = ["mediation", "held_at", "id"]

    def __str__(self) -> str:
        return f"session {self.public_id}"


class AgreementForm(models.TextChoices):
    WRITTEN = "written", _("Written agreement")
    ORAL = "oral", _("Oral agreement")


class Agreement(PublicId, TimeStamped):
    """A mediation agreement (人民调解协议书, or an oral agreement recorded by the mediator).

    The parties' particulars (name, sex, ethnicity, ID number, address) are a snapshot taken when
    the agreement is signed, sealed as one JSON document bound to this row: the agreement must
    keep saying who signed it even if the case's party records change later.
    """

    mediation = models.OneToOneField(
        Mediation,
        verbose_name=_("mediation"),
        on_delete=models.CASCADE,
        related_name="agreement",
    )
    form = models.CharField(_("form"), max_length=10, choices=AgreementForm.choices)
    number = models.CharField(_("agreement number"), max_length=60, unique=True)
    parties_sealed = EncryptedTextField(_("parties"))
    facts = models.TextField(_("main facts of the dispute"), max_length=5000)
    disputed_matters = models.TextField(_("matters in dispute"), max_length=5000)
    responsibilities = models.TextField(_("responsibility of each party"), max_length=5000)
    terms = models.TextField(_("agreed terms"), max_length=5000)
    performance = models.TextField(_("manner of performance"), max_length=2000)
    performance_deadline = models.DateField(_("performance deadline"), null=True, blank=True)
    performed_immediately = models.BooleanField(_("performed on the spot"), default=False)
    copies = models.PositiveSmallIntegerField(_("number of copies"))
    signed_on = models.DateField(_("signed on"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("mediation agreement")
        verbose_name_plural = _("mediation agreements")
        constraints = [
            # One copy for each party and one for the committee; at least two parties.
            models.CheckConstraint(condition=models.Q(copies__gte=3), name="agreement_copies_3"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def parties(self) -> list[dict[str, str]]:
        """The parties' particulars: dicts with name, sex, ethnicity, id_number, address, role."""
        return json.loads(self.parties_sealed or "[]")


class TerminationReason(models.TextChoices):
    NO_AGREEMENT = "no_agreement", _("The parties could not reach an agreement")
    PARTY_REFUSED = "party_refused", _("A party refused or stopped mediation")
    OTHER = "other", _("Other reason")


class Termination(PublicId, TimeStamped):
    """A notice that mediation has ended without agreement (终止调解告知书, 人民调解法 art. 26).

    It tells the parties the other routes open to them: arbitration, administrative channels and
    litigation.
    """

    mediation = models.OneToOneField(
        Mediation,
        verbose_name=_("mediation"),
        on_delete=models.CASCADE,
        related_name="termination",
    )
    reason_kind = models.CharField(
        _("reason for ending"), max_length=20, choices=TerminationReason.choices
    )
    reason = models.TextField(_("explanation"), max_length=2000)
    route_arbitration = models.BooleanField(_("arbitration"), default=False)
    route_administrative = models.BooleanField(_("administrative channels"), default=False)
    route_litigation = models.BooleanField(_("litigation"), default=False)
    terminated_on = models.DateField(_("terminated on"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("termination notice")
        verbose_name_plural = _("termination notices")
        constraints = [
            # The notice exists to tell the parties where else to go: at least one route.
            models.CheckConstraint(
                condition=models.Q(route_arbitration=True)
                | models.Q(route_administrative=True)
                | models.Q(route_litigation=True),
                name="termination_names_a_route",
            ),
        ]

    def __str__(self) -> str:
        return f"termination {self.public_id}"

    @property
    def routes(self) -> list[str]:
        labels = []
        if self.route_arbitration:
            labels.append(_("arbitration"))
        if self.route_administrative:
            labels.append(_("administrative channels"))
        if self.route_litigation:
            labels.append(_("litigation"))
        return labels


class VisitPurpose(models.TextChoices):
    AFTER_AGREEMENT = "after_agreement", _("Follow-up after the agreement")
    AT_DEADLINE = "at_deadline", _("At the performance deadline")


class Performance(models.TextChoices):
    YES = "yes", _("Performed")
    PARTLY = "partly", _("Partly performed")
    NO = "no", _("Not performed")


class FollowUpVisit(PublicId, TimeStamped):
    """A follow-up visit (回访) checking that an agreement is performed (人民调解法 art. 31)."""

    mediation = models.ForeignKey(
        Mediation, verbose_name=_("mediation"), on_delete=models.CASCADE, related_name="visits"
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=VisitPurpose.choices)
    due_on = models.DateField(_("due on"))
    done_at = models.DateTimeField(_("visited at"), null=True, blank=True)
    performed = models.CharField(
        _("agreement performed"), max_length=10, choices=Performance.choices, blank=True
    )
    notes = models.TextField(_("notes"), max_length=2000, blank=True)
    visited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("visited by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = FollowUpVisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("follow-up visit")
        verbose_name_plural = _("follow-up visits")
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(done_at__isnull=True, performed="")
                | (models.Q(done_at__isnull=False) & ~models.Q(performed="")),
                name="visit_done_has_outcome",
            ),
        ]
        indexes = [
            # Visits still to do, by due date (the committee's to-visit list).
            models.Index(fields=["done_at", "due_on"], name="visit_pending_due"),
        ]

    def __str__(self) -> str:
        return f"visit {self.public_id}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None
