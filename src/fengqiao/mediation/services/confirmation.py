"""Judicial confirmation of a written agreement (司法确认, 人民调解法 art. 33): the application
and the court's ruling."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.accounts.models import Membership, User
from fengqiao.cases.errors import WorkflowError
from fengqiao.core import audit
from fengqiao.mediation.models import ConfirmationDecision, Mediation, MediationStatus
from fengqiao.mediation.services.steps import _check_actor, _lock


@transaction.atomic
def record_judicial_confirmation(
    mediation: Mediation,
    *,
    actor: User,
    membership: Membership,
    court: str,
    applied_on: date | None = None,
) -> Mediation:
    """Record that the parties applied to a court for judicial confirmation (司法确认).

    人民调解法 art. 33: the application is made jointly within 30 days of the agreement taking
    effect; a later application is refused here with the date the window closed.
    """
    mediation = _lock(mediation)
    _check_actor(mediation.case, membership)
    if mediation.status != MediationStatus.AGREEMENT_WRITTEN:
        raise WorkflowError(
            "no_written_agreement",
            _("Judicial confirmation is applied for on a written mediation agreement."),
        )
    if mediation.confirmation_applied_on is not None:
        raise WorkflowError(
            "already_applied", _("The application for judicial confirmation is already recorded.")
        )
    if not court.strip():
        raise WorkflowError("court_required", _("Name the court."), field="court")
    today = timezone.localdate()
    applied_on = applied_on or today
    if applied_on > today:
        raise WorkflowError(
            "date_in_future", _("The date cannot be in the future."), field="applied_on"
        )
    if applied_on < mediation.agreement_effective_on:
        raise WorkflowError(
            "applied_before_effective",
            _("The application is dated before the agreement took effect."),
            field="applied_on",
        )
    if applied_on > mediation.confirmation_deadline:
        raise WorkflowError(
            "confirmation_window_closed",
            _(
                "The 30 days for applying for judicial confirmation ended on %(date)s "
                "(the agreement took effect on %(effective)s)."
            )
            % {
                "date": mediation.confirmation_deadline.isoformat(),
                "effective": mediation.agreement_effective_on.isoformat(),
            },
            field="applied_on",
        )
    mediation.confirmation_applied_on = applied_on
    mediation.confirmation_court = court.strip()[:200]
    mediation.confirmation_decision = ConfirmationDecision.PENDING
    mediation.save(
        update_fields=[
            "confirmation_applied_on",
            "confirmation_court",
            "confirmation_decision",
            "updated_at",
        ]
    )
    audit.record(
        "mediation.confirmation_applied",
        actor=actor,
        membership=membership,
        obj=mediation,
        detail={"case": mediation.case.code, "applied_on": applied_on.isoformat()},
    )
    return mediation


@transaction.atomic
def record_confirmation_decision(
    mediation: Mediation,
    *,
    actor: User,
    membership: Membership,
    confirmed: bool,
    decided_on: date | None = None,
) -> Mediation:
    """Record the court's ruling on the application (确认有效 or 不予确认)."""
    mediation = _lock(mediation)
    _check_actor(mediation.case, membership)
    if mediation.confirmation_decision != ConfirmationDecision.PENDING:
        raise WorkflowError(
            "no_pending_application", _("There is no application awaiting the court's decision.")
        )
    today = timezone.localdate()
    decided_on = decided_on or today
    if decided_on > today or decided_on < mediation.confirmation_applied_on:
        raise WorkflowError(
            "invalid_date",
            _("The decision date must be between the application and today."),
            field="decided_on",
        )
    mediation.confirmation_decision = (
        ConfirmationDecision.CONFIRMED if confirmed else ConfirmationDecision.REJECTED
    )
    mediation.confirmation_decided_on = decided_on
    mediation.save(update_fields=["confirmation_decision", "confirmation_decided_on", "updated_at"])
    audit.record(
        "mediation.confirmation_decided",
        actor=actor,
        membership=membership,
        obj=mediation,
        detail={"case": mediation.case.code, "confirmed": confirmed},
    )
    return mediation
