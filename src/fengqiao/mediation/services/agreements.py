"""The agreement reached (调解协议): its particulars, its number and the follow-up visits it
schedules (人民调解法 arts. 28–29)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.accounts.models import Membership, User
from fengqiao.cases import services as case_services
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.models import Severity
from fengqiao.core import audit
from fengqiao.core.validators import is_valid_id_number, normalise_id_number
from fengqiao.mediation.models import (
    Agreement,
    AgreementForm,
    FollowUpVisit,
    Mediation,
    MediationStatus,
    VisitPurpose,
    confirmation_deadline_for,
)
from fengqiao.mediation.services.steps import _check_actor, _lock, _require_open
from fengqiao.regions.models import Region, Unit


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
