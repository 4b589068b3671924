"""Ending mediation without agreement and the termination notice (终止调解告知书, art. 26)."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.accounts.models import Membership, User
from fengqiao.cases import services as case_services
from fengqiao.cases.errors import WorkflowError
from fengqiao.core import audit
from fengqiao.mediation.models import Mediation, MediationStatus, Termination, TerminationReason
from fengqiao.mediation.services.steps import _check_actor, _lock, _require_open

ROUTES = ("arbitration", "administrative", "litigation")


@transaction.atomic
def record_failure(
    mediation: Mediation,
    *,
    actor: User,
    membership: Membership,
    reason_kind: str,
    reason: str,
    routes: list[str],
    terminated_on: date | None = None,
) -> Termination:
    """End mediation without agreement and issue the termination notice (终止调解告知书).

    人民调解法 art. 26: the parties are told the other routes to their rights — arbitration,
    administrative channels and litigation.
    """
    mediation = _lock(mediation)
    case = mediation.case
    _check_actor(case, membership)
    _require_open(mediation)
    if reason_kind not in TerminationReason.values:
        raise WorkflowError("invalid_reason", _("Choose a reason."), field="reason_kind")
    if not reason.strip():
        raise WorkflowError("reason_required", _("Explain why mediation ended."), field="reason")
    chosen = set(routes)
    if not chosen or not chosen <= set(ROUTES):
        raise WorkflowError(
            "route_required",
            _("Tell the parties at least one other route: arbitration, administrative or court."),
            field="routes",
        )
    today = timezone.localdate()
    terminated_on = terminated_on or today
    if terminated_on > today:
        raise WorkflowError(
            "date_in_future", _("The date cannot be in the future."), field="terminated_on"
        )
    termination = Termination.objects.create(
        mediation=mediation,
        reason_kind=reason_kind,
        reason=reason.strip(),
        route_arbitration="arbitration" in chosen,
        route_administrative="administrative" in chosen,
        route_litigation="litigation" in chosen,
        terminated_on=terminated_on,
        issued_by=actor,
    )
    mediation.status = MediationStatus.FAILED
    mediation.ended_at = timezone.now()
    mediation.save(update_fields=["status", "ended_at", "updated_at"])
    case_services.add_note(
        case,
        actor=actor,
        membership=membership,
        body=_(
            "Mediation ended without agreement. You may still seek a remedy through: %(routes)s."
        )
        % {"routes": "、".join(str(label) for label in termination.routes)},
        is_public=True,
    )
    audit.record(
        "mediation.failed",
        actor=actor,
        membership=membership,
        obj=termination,
        detail={"case": case.code, "reason_kind": reason_kind, "routes": sorted(chosen)},
    )
    return termination
