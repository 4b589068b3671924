"""Registering a mediation (调解登记) and its committee and mediators."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.accounts.models import Membership, User
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.models import Case, CaseKind
from fengqiao.core import audit
from fengqiao.mediation.models import Mediation, Mediator, SessionPreference, StartedHow
from fengqiao.mediation.services.steps import MEDIATABLE_CASE_STATUSES, _check_actor
from fengqiao.regions.models import Unit, UnitKind


@transaction.atomic
def start_mediation(
    case: Case,
    *,
    actor: User,
    membership: Membership,
    started_how: str,
    mediator_names: list[str],
    session_preference: str = SessionPreference.PRIVATE,
) -> Mediation:
    """Register a mediation of a dispute case (调解登记) with its mediators."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    _check_actor(case, membership)
    if case.kind != CaseKind.DISPUTE:
        raise WorkflowError("not_a_dispute", _("Only dispute cases are mediated."))
    if case.status not in MEDIATABLE_CASE_STATUSES:
        raise WorkflowError(
            "case_not_in_handling",
            _("Accept the case before mediating it; a closed case is not mediated again."),
        )
    if Mediation.objects.filter(case=case).exists():
        raise WorkflowError("already_started", _("Mediation of this case has already started."))
    if started_how not in StartedHow.values:
        raise WorkflowError(
            "invalid_start", _("Choose how mediation started."), field="started_how"
        )
    if session_preference not in SessionPreference.values:
        raise WorkflowError(
            "invalid_session", _("Choose a public or private session."), field="session_preference"
        )
    names = _clean_names(mediator_names)
    if not names:
        raise WorkflowError(
            "mediator_required", _("Name at least one mediator."), field="mediators"
        )
    committee = _committee_for(case, membership)
    mediation = Mediation.objects.create(
        case=case,
        committee=committee,
        started_how=started_how,
        session_preference=session_preference,
        started_at=timezone.now(),
        started_by=actor,
    )
    mediation.mediators.set(_mediators(committee, names, actor=actor, membership=membership))
    audit.record(
        "mediation.started",
        actor=actor,
        membership=membership,
        obj=mediation,
        detail={"case": case.code, "started_how": started_how, "mediators": len(names)},
    )
    return mediation


def _committee_for(case: Case, membership: Membership) -> Unit:
    """The committee that mediates: the handling unit when it is a mediation committee (the usual
    landing of a village dispute), else the acting unit (a town or judicial office mediating)."""
    handler = case.handler_unit
    if handler is not None and handler.kind == UnitKind.MEDIATION_COMMITTEE:
        return handler
    return membership.unit


def _clean_names(names: list[str]) -> list[str]:
    seen: list[str] = []
    for name in names:
        name = name.strip()
        if name and name not in seen:
            if len(name) > 100:
                raise WorkflowError(
                    "invalid_mediator", _("A mediator's name is too long."), field="mediators"
                )
            seen.append(name)
    return seen


def _mediators(
    committee: Unit, names: list[str], *, actor: User, membership: Membership
) -> list[Mediator]:
    rows = []
    for name in names:
        mediator, _created = Mediator.objects.get_or_create(unit=committee, name=name)
        # The person recording is one of the mediators: link their account to the row.
        if (
            mediator.user_id is None
            and membership.unit_id == committee.pk
            and name == (actor.full_name or actor.username)
        ):
            mediator.user = actor
            mediator.save(update_fields=["user", "updated_at"])
        rows.append(mediator)
    return rows
