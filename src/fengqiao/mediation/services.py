"""The only writers of mediation rows (人民调解): start, sessions, outcome, confirmation, visits.

Each service is atomic, locks the mediation (or the case when starting), checks the state and who
acts, saves only the fields it changes and appends its audit event last. Mediation does not move
the case through its workflow: the handler still reports completion (办结反馈) through
``cases.services``; the outcome is told to the citizen as a public note on the case. Refusals
raise ``WorkflowError`` with a stable code and a Chinese message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.accounts.models import Membership, User
from fengqiao.accounts.roles import Cap
from fengqiao.cases import services as case_services
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.models import Case, CaseKind, Severity
from fengqiao.core import audit
from fengqiao.core.validators import is_valid_id_number, normalise_id_number
from fengqiao.mediation.models import (
    Agreement,
    AgreementForm,
    ConfirmationDecision,
    FollowUpVisit,
    Mediation,
    MediationSession,
    MediationStatus,
    Mediator,
    Performance,
    SessionPreference,
    StartedHow,
    Termination,
    TerminationReason,
    VisitPurpose,
    confirmation_deadline_for,
)
from fengqiao.regions.models import Region, Unit, UnitKind

# Mediation runs while the case is being handled; not before acceptance, not after feedback.
MEDIATABLE_CASE_STATUSES = ("accepted", "assigned", "in_progress")
ROUTES = ("arbitration", "administrative", "litigation")


@dataclass
class AgreementParty:
    """One party's particulars as written on the agreement (当事人基本情况)."""

    name: str
    sex: str = ""
    ethnicity: str = ""
    id_number: str = ""
    address: str = ""
    role: str = ""


@dataclass
class AgreementData:
    """What an agreement says (人民调解法 art. 29) and how it was reached."""

    form: str
    parties: list[AgreementParty]
    terms: str
    facts: str = ""
    disputed_matters: str = ""
    responsibilities: str = ""
    performance: str = ""
    performance_deadline: date | None = None
    performed_immediately: bool = False
    signed_on: date | None = None
    # A party asked for a written agreement (art. 28): an oral one is then not allowed.
    party_requested_written: bool = False


# --- who may act -------------------------------------------------------------------------------


def may_act(case: Case, membership: Membership | None) -> bool:
    """Members of the case's owner or handler unit (the committee it was assigned to) record
    its mediation; a committee the case has since left no longer does."""
    return (
        membership is not None
        and membership.is_active
        and membership.can(Cap.CASES_HANDLE)
        and membership.unit_id in {case.owner_unit_id, case.handler_unit_id}
    )


def _check_actor(case: Case, membership: Membership | None) -> None:
    if not may_act(case, membership):
        raise WorkflowError(
            "not_your_unit", _("Only the units handling this case may record its mediation.")
        )


def _lock(mediation: Mediation) -> Mediation:
    # Case first, then the mediation: the order start_mediation and the case services use.
    case = Case.objects.select_for_update().get(pk=mediation.case_id)
    locked = (
        Mediation.objects.select_for_update(of=("self",))
        .select_related("committee")
        .get(pk=mediation.pk)
    )
    locked.case = case
    return locked


def _require_open(mediation: Mediation) -> None:
    if mediation.status != MediationStatus.IN_PROGRESS:
        raise WorkflowError("mediation_ended", _("This mediation has already ended."))
    if mediation.case.status not in MEDIATABLE_CASE_STATUSES:
        raise WorkflowError(
            "case_not_in_handling", _("The case is not being handled, so it cannot be mediated.")
        )


# --- start ---------------------------------------------------------------------------------------


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


# --- sessions ------------------------------------------------------------------------------------


@transaction.atomic
def record_session(
    mediation: Mediation,
    *,
    actor: User,
    membership: Membership,
    held_at: datetime,
    place: str,
    attendees: str,
    record: str,
) -> MediationSession:
    """Record a mediation session and its record (调解笔录)."""
    mediation = _lock(mediation)
    _check_actor(mediation.case, membership)
    _require_open(mediation)
    if held_at > timezone.now() + timedelta(minutes=5):
        raise WorkflowError(
            "session_in_future", _("A session is recorded after it was held."), field="held_at"
        )
    if held_at < mediation.started_at - timedelta(days=1):
        raise WorkflowError(
            "session_before_start",
            _("The session is dated before the mediation was registered."),
            field="held_at",
        )
    for name, value in (("place", place), ("attendees", attendees), ("record", record)):
        if not value.strip():
            raise WorkflowError("field_required", _("This field is required."), field=name)
    session = MediationSession.objects.create(
        mediation=mediation,
        held_at=held_at,
        place=place.strip(),
        attendees=attendees.strip(),
        record=record.strip(),
        recorded_by=actor,
    )
    audit.record(
        "mediation.session_recorded",
        actor=actor,
        membership=membership,
        obj=session,
        detail={"case": mediation.case.code},
    )
    return session


# --- agreement -----------------------------------------------------------------------------------


@transaction.atomic
def record_agreement(
    mediation: Mediation, *, actor: User, membership: Membership, data: AgreementData
) -> Agreement:
    """Record the agreement reached (调解协议), written (协议书) or oral (口头协议).

    人民调解法 art. 28: a written agreement is required when a party asks for one, when it is not
    performed on the spot, or when the dispute is major or complex; only a general dispute settled
    and performed at once may rest on an oral agreement. Follow-up visits are scheduled: one
    after the agreement (the case's clock policy) and one at the performance deadline.
    """
    mediation = _lock(mediation)
    case = mediation.case
    _check_actor(case, membership)
    _require_open(mediation)
    today = timezone.localdate()
    if data.form not in AgreementForm.values:
        raise WorkflowError(
            "invalid_form", _("Choose a written or an oral agreement."), field="form"
        )
    if data.form == AgreementForm.ORAL:
        if data.party_requested_written:
            raise WorkflowError(
                "written_required", _("A party asked for a written agreement."), field="form"
            )
        if not data.performed_immediately:
            raise WorkflowError(
                "written_required",
                _("An agreement not performed on the spot must be written."),
                field="form",
            )
        if case.severity != Severity.GENERAL:
            raise WorkflowError(
                "written_required",
                _("A major or complex dispute needs a written agreement."),
                field="form",
            )
    parties = _clean_parties(data.parties, written=data.form == AgreementForm.WRITTEN)
    if not data.terms.strip():
        raise WorkflowError("field_required", _("State the agreed terms."), field="terms")
    if data.form == AgreementForm.WRITTEN:
        for name in ("facts", "disputed_matters", "responsibilities", "performance"):
            if not getattr(data, name).strip():
                raise WorkflowError("field_required", _("This field is required."), field=name)
    signed_on = data.signed_on or today
    if signed_on > today:
        raise WorkflowError(
            "signed_in_future", _("The signing date cannot be in the future."), field="signed_on"
        )
    if signed_on < timezone.localtime(mediation.started_at).date():
        raise WorkflowError(
            "signed_before_start",
            _("The signing date is before the mediation was registered."),
            field="signed_on",
        )
    deadline = data.performance_deadline
    if not data.performed_immediately:
        if deadline is None:
            raise WorkflowError(
                "deadline_required",
                _("Give the performance deadline, or mark the agreement as performed on the spot."),
                field="performance_deadline",
            )
        if deadline < signed_on:
            raise WorkflowError(
                "deadline_before_signing",
                _("The performance deadline is before the signing date."),
                field="performance_deadline",
            )
    agreement = Agreement(
        mediation=mediation,
        form=data.form,
        number=_next_number(mediation.committee, signed_on.year),
        facts=data.facts.strip(),
        disputed_matters=data.disputed_matters.strip(),
        responsibilities=data.responsibilities.strip(),
        terms=data.terms.strip(),
        performance=data.performance.strip(),
        performance_deadline=deadline,
        performed_immediately=data.performed_immediately,
        copies=len(parties) + 1,
        signed_on=signed_on,
        recorded_by=actor,
    )
    agreement.parties_sealed = json.dumps(parties, ensure_ascii=False)
    agreement.save()

    written = data.form == AgreementForm.WRITTEN
    mediation.status = (
        MediationStatus.AGREEMENT_WRITTEN if written else MediationStatus.AGREEMENT_ORAL
    )
    mediation.ended_at = timezone.now()
    mediation.agreement_effective_on = signed_on
    # Judicial confirmation is applied for on the written agreement (art. 33).
    mediation.confirmation_deadline = confirmation_deadline_for(signed_on) if written else None
    mediation.save(
        update_fields=[
            "status",
            "ended_at",
            "agreement_effective_on",
            "confirmation_deadline",
            "updated_at",
        ]
    )
    _schedule_visits(mediation, agreement)
    case_services.add_note(
        case,
        actor=actor,
        membership=membership,
        body=_("The parties reached a mediation agreement on %(date)s.")
        % {"date": signed_on.isoformat()},
        is_public=True,
    )
    audit.record(
        "mediation.agreement_recorded",
        actor=actor,
        membership=membership,
        obj=agreement,
        detail={"case": case.code, "form": data.form, "number": agreement.number},
    )
    return agreement


def _clean_parties(parties: list[AgreementParty], *, written: bool) -> list[dict[str, str]]:
    if len(parties) < 2:
        raise WorkflowError(
            "parties_required", _("An agreement has at least two parties."), field="parties"
        )
    cleaned = []
    for number, party in enumerate(parties, start=1):
        name = party.name.strip()
        if not name:
            raise WorkflowError(
                "party_name_required",
                _("Party %(number)s: the name is required.") % {"number": number},
                field="parties",
            )
        id_number = normalise_id_number(party.id_number) if party.id_number.strip() else ""
        if id_number and not is_valid_id_number(id_number):
            raise WorkflowError(
                "invalid_id_number",
                _("Party %(number)s: the ID number is not valid.") % {"number": number},
                field="parties",
            )
        if written and not party.address.strip():
            raise WorkflowError(
                "party_address_required",
                _("Party %(number)s: the address is required on a written agreement.")
                % {"number": number},
                field="parties",
            )
        cleaned.append(
            {
                "name": name[:100],
                "sex": party.sex.strip()[:10],
                "ethnicity": party.ethnicity.strip()[:20],
                "id_number": id_number,
                "address": party.address.strip()[:200],
                "role": party.role.strip()[:20],
            }
        )
    return cleaned


def _next_number(committee: Unit, year: int) -> str:
    """The committee's next agreement number for the year, e.g. （2026）330681109290调字第0003号.

    Numbers run per region, so the region row is locked: two committees of one place never take
    the same number; the unique constraint on ``number`` backs this up.
    """
    Region.objects.select_for_update().filter(pk=committee.region_id).first()
    prefix = f"（{year}）{committee.region_code}调字第"
    taken = Agreement.objects.filter(number__startswith=prefix).count()
    return f"{prefix}{taken + 1:04d}号"


def _schedule_visits(mediation: Mediation, agreement: Agreement) -> None:
    after_days = mediation.case.clock_policy.visit_after_days
    first_due = agreement.signed_on + timedelta(days=after_days)
    visits = [
        FollowUpVisit(mediation=mediation, purpose=VisitPurpose.AFTER_AGREEMENT, due_on=first_due)
    ]
    deadline = agreement.performance_deadline
    if not agreement.performed_immediately and deadline is not None and deadline > first_due:
        visits.append(
            FollowUpVisit(mediation=mediation, purpose=VisitPurpose.AT_DEADLINE, due_on=deadline)
        )
    FollowUpVisit.objects.bulk_create(visits)


# --- failure -------------------------------------------------------------------------------------


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


# --- follow-up visits ----------------------------------------------------------------------------


@transaction.atomic
def record_visit(
    visit: FollowUpVisit, *, actor: User, membership: Membership, performed: str, notes: str = ""
) -> FollowUpVisit:
    """Record a follow-up visit (回访): whether the agreement was performed."""
    mediation = _lock(visit.mediation)
    visit = FollowUpVisit.objects.select_for_update().get(pk=visit.pk)
    visit.mediation = mediation
    _check_actor(mediation.case, membership)
    if visit.done_at is not None:
        raise WorkflowError("visit_done", _("This visit has already been recorded."))
    if performed not in Performance.values:
        raise WorkflowError(
            "invalid_performance", _("Say whether the agreement was performed."), field="performed"
        )
    if performed != Performance.YES and not notes.strip():
        raise WorkflowError(
            "notes_required",
            _("Describe what remains unperformed and what was done about it."),
            field="notes",
        )
    visit.done_at = timezone.now()
    visit.performed = performed
    visit.notes = notes.strip()
    visit.visited_by = actor
    visit.save(update_fields=["done_at", "performed", "notes", "visited_by", "updated_at"])
    audit.record(
        "mediation.visit_recorded",
        actor=actor,
        membership=membership,
        obj=visit,
        detail={"case": mediation.case.code, "performed": performed},
    )
    return visit


# --- judicial confirmation -----------------------------------------------------------------------


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


# --- 人民调解法 art. 25 ----------------------------------------------------------------------------


def flag_may_turn_violent(
    mediation: Mediation, *, actor: User, membership: Membership, reason: str
) -> Case:
    """A dispute that may turn into a public-order or criminal case (人民调解法 art. 25).

    The case engine marks the case and tells the police station and the town command room; this
    only checks that the person works the mediation and hands over.
    """
    case = mediation.case
    _check_actor(case, membership)
    if not reason.strip():
        raise WorkflowError(
            "reason_required", _("Say why the dispute may turn violent."), field="reason"
        )
    return case_services.mark_may_turn_violent(
        case, actor=actor, membership=membership, reason=reason.strip()
    )
