"""Mediation services: legal and illegal steps, the written-agreement rule, visits, art. 25."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from fengqiao.accounts.models import Notification
from fengqiao.cases import services as case_services
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.models import Note, Severity, Status
from fengqiao.core.models import AuditEvent
from fengqiao.mediation import services
from fengqiao.mediation.models import (
    Agreement,
    AgreementForm,
    ConfirmationDecision,
    FollowUpVisit,
    Mediation,
    MediationStatus,
    Performance,
    StartedHow,
    TerminationReason,
    VisitPurpose,
)
from fengqiao.regions.models import UnitKind
from mediation.conftest import LI_ID, ZHANG_ID, agreement_data, report_dispute
from personas import FENGQIAO_TOWN

pytestmark = pytest.mark.django_db


def _refused(code: str, call, *args, **kwargs) -> WorkflowError:
    with pytest.raises(WorkflowError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.message
    assert caught.value.message
    return caught.value


# --- start ---------------------------------------------------------------------------------------


def test_the_village_committee_starts_mediation_of_its_dispute(dispute, mediator):
    mediation = services.start_mediation(
        dispute,
        actor=mediator.user,
        membership=mediator.membership,
        started_how=StartedHow.REFERRAL_POLICE,
        session_preference="public",
        mediator_names=["王调解"],
    )
    assert mediation.status == MediationStatus.IN_PROGRESS
    assert mediation.committee == mediator.unit
    assert mediation.committee.kind == UnitKind.MEDIATION_COMMITTEE
    assert mediation.started_how == StartedHow.REFERRAL_POLICE
    assert mediation.session_preference == "public"
    assert AuditEvent.objects.filter(
        action="mediation.started", object_id=str(mediation.public_id)
    ).exists()


def test_the_recording_mediator_is_linked_to_their_account(mediation, mediator):
    names = {m.name: m.user_id for m in mediation.mediators.all()}
    assert names == {"王调解": None, mediator.user.full_name: mediator.user.pk}


def test_mediation_starts_once(mediation, dispute, mediator):
    _refused(
        "already_started",
        services.start_mediation,
        dispute,
        actor=mediator.user,
        membership=mediator.membership,
        started_how=StartedHow.INITIATIVE,
        mediator_names=["王调解"],
    )


def test_a_case_not_yet_accepted_is_not_mediated(mediator):
    case = report_dispute(mediator, accept=False)
    _refused(
        "case_not_in_handling",
        services.start_mediation,
        case,
        actor=mediator.user,
        membership=mediator.membership,
        started_how=StartedHow.APPLICATION,
        mediator_names=["王调解"],
    )


def test_only_disputes_are_mediated(police_fengqiao):
    case = report_dispute(police_fengqiao, category="security.theft", region_code=FENGQIAO_TOWN)
    assert case.owner_unit == police_fengqiao.unit
    _refused(
        "not_a_dispute",
        services.start_mediation,
        case,
        actor=police_fengqiao.user,
        membership=police_fengqiao.membership,
        started_how=StartedHow.APPLICATION,
        mediator_names=["王调解"],
    )


def test_a_unit_not_working_the_case_cannot_start_it(
    dispute, town_operator_other_town, police_fengqiao
):
    for persona in (town_operator_other_town, police_fengqiao):
        _refused(
            "not_your_unit",
            services.start_mediation,
            dispute,
            actor=persona.user,
            membership=persona.membership,
            started_how=StartedHow.APPLICATION,
            mediator_names=["王调解"],
        )
    assert not Mediation.objects.filter(case=dispute).exists()


def test_a_mediator_must_be_named(dispute, mediator):
    error = _refused(
        "mediator_required",
        services.start_mediation,
        dispute,
        actor=mediator.user,
        membership=mediator.membership,
        started_how=StartedHow.APPLICATION,
        mediator_names=["  "],
    )
    assert error.field == "mediators"


def test_a_case_assigned_to_the_committee_is_mediated_by_it(town_operator_fengqiao, mediator):
    # A land dispute in 枫源村 lands at the town, which dispatches it to the village committee.
    case = report_dispute(town_operator_fengqiao, category="dispute.land_ownership")
    assert case.owner_unit == town_operator_fengqiao.unit
    case = case_services.assign_case(
        case,
        actor=town_operator_fengqiao.user,
        membership=town_operator_fengqiao.membership,
        unit=mediator.unit,
    )
    case = case_services.sign_case(case, actor=mediator.user, membership=mediator.membership)
    mediation = services.start_mediation(
        case,
        actor=town_operator_fengqiao.user,
        membership=town_operator_fengqiao.membership,
        started_how=StartedHow.INITIATIVE,
        mediator_names=["王调解"],
    )
    assert mediation.committee == mediator.unit


# --- sessions ------------------------------------------------------------------------------------


def test_a_session_is_recorded(mediation, second_mediator):
    session = services.record_session(
        mediation,
        actor=second_mediator.user,
        membership=second_mediator.membership,
        held_at=timezone.now() - timedelta(hours=1),
        place="枫源村调解室",
        attendees="张三、李四、王调解",
        record="张三称……李四称……调解员提出……",
    )
    assert session.recorded_by == second_mediator.user
    assert mediation.sessions.count() == 1


def test_a_session_in_the_future_is_refused(mediation, mediator):
    _refused(
        "session_in_future",
        services.record_session,
        mediation,
        actor=mediator.user,
        membership=mediator.membership,
        held_at=timezone.now() + timedelta(days=1),
        place="枫源村调解室",
        attendees="张三、李四",
        record="……",
    )


# --- agreement -----------------------------------------------------------------------------------


def test_a_written_agreement_ends_mediation_and_opens_the_confirmation_window(
    written_agreement, mediation
):
    mediation.refresh_from_db()
    today = timezone.localdate()
    assert mediation.status == MediationStatus.AGREEMENT_WRITTEN
    assert mediation.agreement_effective_on == today
    assert mediation.confirmation_deadline == today + timedelta(days=30)
    assert written_agreement.copies == 3
    assert written_agreement.number.startswith(f"（{today.year}）330681109290调字第")
    assert [p["name"] for p in written_agreement.parties] == ["张三", "李四"]
    assert written_agreement.parties[0]["id_number"] == ZHANG_ID


def test_the_agreement_parties_are_sealed_in_the_database(written_agreement):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT parties_sealed FROM mediation_agreement WHERE id = %s", [written_agreement.pk]
        )
        (raw,) = cursor.fetchone()
    assert "张三" not in raw and ZHANG_ID not in raw and LI_ID not in raw
    fresh = Agreement.objects.get(pk=written_agreement.pk)
    assert fresh.parties[1]["id_number"] == LI_ID


def test_agreement_numbers_run_per_place_and_year(written_agreement, mediator):
    case = report_dispute(mediator)
    other = services.start_mediation(
        case,
        actor=mediator.user,
        membership=mediator.membership,
        started_how=StartedHow.INITIATIVE,
        mediator_names=["王调解"],
    )
    second = services.record_agreement(
        other, actor=mediator.user, membership=mediator.membership, data=agreement_data()
    )
    assert written_agreement.number.endswith("调字第0001号")
    assert second.number.endswith("调字第0002号")
    assert second.number[:6] == written_agreement.number[:6]


def test_copies_are_one_per_party_and_one_for_the_committee(mediation, mediator):
    parties = agreement_data().parties + [services.AgreementParty(name="王五", address="枫源村3号")]
    agreement = services.record_agreement(
        mediation,
        actor=mediator.user,
        membership=mediator.membership,
        data=agreement_data(parties=parties),
    )
    assert agreement.copies == 4


def test_agreement_schedules_visits_after_signing_and_at_the_deadline(written_agreement, mediation):
    today = timezone.localdate()
    visits = list(FollowUpVisit.objects.filter(mediation=mediation).order_by("due_on"))
    after_days = mediation.case.clock_policy.visit_after_days
    assert [(v.purpose, v.due_on) for v in visits] == [
        (VisitPurpose.AFTER_AGREEMENT, today + timedelta(days=after_days)),
        (VisitPurpose.AT_DEADLINE, today + timedelta(days=5)),
    ]
    assert not any(v.is_done for v in visits)


def test_agreement_tells_the_citizen_through_a_public_note(written_agreement, mediation):
    note = Note.objects.get(case=mediation.case)
    assert note.is_public
    assert AuditEvent.objects.filter(
        action="mediation.agreement_recorded", object_id=str(written_agreement.public_id)
    ).exists()


def test_an_oral_agreement_is_allowed_for_a_general_dispute_performed_at_once(mediation, mediator):
    agreement = services.record_agreement(
        mediation,
        actor=mediator.user,
        membership=mediator.membership,
        data=agreement_data(
            form=AgreementForm.ORAL,
            performed_immediately=True,
            performance_deadline=None,
            facts="",
            disputed_matters="",
            responsibilities="",
            performance="",
        ),
    )
    mediation.refresh_from_db()
    assert agreement.form == AgreementForm.ORAL
    assert mediation.status == MediationStatus.AGREEMENT_ORAL
    # No judicial confirmation on an oral agreement; one visit only.
    assert mediation.confirmation_deadline is None
    assert FollowUpVisit.objects.filter(mediation=mediation).count() == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"performed_immediately": False},
        {"performed_immediately": True, "party_requested_written": True},
    ],
    ids=["not-performed-at-once", "party-asked"],
)
def test_an_oral_agreement_is_refused_when_the_law_wants_it_written(mediation, mediator, overrides):
    error = _refused(
        "written_required",
        services.record_agreement,
        mediation,
        actor=mediator.user,
        membership=mediator.membership,
        data=agreement_data(form=AgreementForm.ORAL, **overrides),
    )
    assert error.field == "form"
    mediation.refresh_from_db()
    assert mediation.status == MediationStatus.IN_PROGRESS


def test_an_oral_agreement_is_refused_for_a_major_dispute(mediator):
    case = report_dispute(mediator, severity=Severity.LARGE)
    mediation = services.start_mediation(
        case,
        actor=mediator.user,
        membership=mediator.membership,
        started_how=StartedHow.APPLICATION,
        mediator_names=["王调解"],
    )
    _refused(
        "written_required",
        services.record_agreement,
        mediation,
        actor=mediator.user,
        membership=mediator.membership,
        data=agreement_data(form=AgreementForm.ORAL, performed_immediately=True),
    )


def test_a_written_agreement_needs_its_contents(mediation, mediator):
    for field_name in ("facts", "responsibilities", "performance"):
        error = _refused(
            "field_required",
            services.record_agreement,
            mediation,
            actor=mediator.user,
            membership=mediator.membership,
            data=agreement_data(**{field_name: " "}),
        )
        assert error.field == field_name
    _refused(
        "deadline_required",
        services.record_agreement,
        mediation,
        actor=mediator.user,
        membership=mediator.membership,
        data=agreement_data(performance_deadline=None),
    )


def test_agreement_parties_are_checked(mediation, mediator):
    one = agreement_data().parties[:1]
    _refused(
        "parties_required",
        services.record_agreement,
        mediation,
        actor=mediator.user,
        membership=mediator.membership,
        data=agreement_data(parties=one),
    )
    wrong_check = ZHANG_ID[:-1] + ("1" if ZHANG_ID[-1] == "0" else "0")
    bad = [
        services.AgreementParty(name="张三", id_number=wrong_check, address="枫源村1号"),
        agreement_data().parties[1],
    ]
    error = _refused(
        "invalid_id_number",
        services.record_agreement,
        mediation,
        actor=mediator.user,
        membership=mediator.membership,
        data=agreement_data(parties=bad),
    )
    assert "1" in error.message


def test_no_second_outcome_after_an_agreement(written_agreement, mediation, mediator):
    _refused(
        "mediation_ended",
        services.record_failure,
        mediation,
        actor=mediator.user,
        membership=mediator.membership,
        reason_kind=TerminationReason.NO_AGREEMENT,
        reason="……",
        routes=["litigation"],
    )
    _refused(
        "mediation_ended",
        services.record_session,
        mediation,
        actor=mediator.user,
        membership=mediator.membership,
        held_at=timezone.now(),
        place="调解室",
        attendees="张三",
        record="……",
    )


def test_another_town_cannot_record_an_agreement(mediation, town_operator_other_town):
    _refused(
        "not_your_unit",
        services.record_agreement,
        mediation,
        actor=town_operator_other_town.user,
        membership=town_operator_other_town.membership,
        data=agreement_data(),
    )


# --- failure -------------------------------------------------------------------------------------


def test_failure_issues_a_termination_notice_with_the_other_routes(mediation, mediator):
    termination = services.record_failure(
        mediation,
        actor=mediator.user,
        membership=mediator.membership,
        reason_kind=TerminationReason.PARTY_REFUSED,
        reason="李四明确表示不再接受调解。",
        routes=["arbitration", "litigation"],
    )
    mediation.refresh_from_db()
    assert mediation.status == MediationStatus.FAILED
    assert termination.route_arbitration and termination.route_litigation
    assert not termination.route_administrative
    note = Note.objects.get(case=mediation.case)
    assert note.is_public
    # The case itself stays with its handler: the outcome is reported through the case engine.
    assert mediation.case.status == Status.ACCEPTED


def test_failure_must_name_a_route(mediation, mediator):
    for routes in ([], ["appeal_to_heaven"]):
        _refused(
            "route_required",
            services.record_failure,
            mediation,
            actor=mediator.user,
            membership=mediator.membership,
            reason_kind=TerminationReason.NO_AGREEMENT,
            reason="……",
            routes=routes,
        )


# --- visits --------------------------------------------------------------------------------------


def test_a_visit_is_recorded_once(written_agreement, mediation, mediator):
    visit = FollowUpVisit.objects.filter(mediation=mediation).order_by("due_on").first()
    done = services.record_visit(
        visit, actor=mediator.user, membership=mediator.membership, performed=Performance.YES
    )
    assert done.done_at is not None and done.performed == Performance.YES
    _refused(
        "visit_done",
        services.record_visit,
        visit,
        actor=mediator.user,
        membership=mediator.membership,
        performed=Performance.YES,
    )


def test_a_partly_performed_agreement_needs_notes(written_agreement, mediation, mediator):
    visit = FollowUpVisit.objects.filter(mediation=mediation).first()
    _refused(
        "notes_required",
        services.record_visit,
        visit,
        actor=mediator.user,
        membership=mediator.membership,
        performed=Performance.PARTLY,
    )
    services.record_visit(
        visit,
        actor=mediator.user,
        membership=mediator.membership,
        performed=Performance.PARTLY,
        notes="排水沟已疏通，赔偿款尚欠三百元，约定月底付清。",
    )
    assert FollowUpVisit.objects.filter(mediation=mediation).pending().count() == 1


# --- judicial confirmation -----------------------------------------------------------------------


@pytest.mark.parametrize(("days", "allowed"), [(0, True), (30, True), (31, False)])
def test_judicial_confirmation_is_applied_for_within_30_days(
    written_agreement, mediation, mediator, days, allowed
):
    signed = written_agreement.signed_on
    noon = timezone.make_aware(timezone.datetime(signed.year, signed.month, signed.day, 12))
    kwargs = {"actor": mediator.user, "membership": mediator.membership, "court": "诸暨市人民法院"}
    with time_machine.travel(noon + timedelta(days=days), tick=False):
        if allowed:
            result = services.record_judicial_confirmation(mediation, **kwargs)
            assert result.confirmation_applied_on == signed + timedelta(days=days)
            assert result.confirmation_decision == ConfirmationDecision.PENDING
        else:
            error = _refused(
                "confirmation_window_closed",
                services.record_judicial_confirmation,
                mediation,
                **kwargs,
            )
            assert (signed + timedelta(days=30)).isoformat() in error.message
            mediation.refresh_from_db()
            assert mediation.confirmation_applied_on is None


def test_a_late_record_of_a_timely_application_is_accepted(written_agreement, mediation, mediator):
    signed = written_agreement.signed_on
    with time_machine.travel(timezone.now() + timedelta(days=40), tick=False):
        result = services.record_judicial_confirmation(
            mediation,
            actor=mediator.user,
            membership=mediator.membership,
            court="诸暨市人民法院",
            applied_on=signed + timedelta(days=20),
        )
    assert result.confirmation_applied_on == signed + timedelta(days=20)


def test_the_court_decision_follows_an_application(written_agreement, mediation, mediator):
    kwargs = {"actor": mediator.user, "membership": mediator.membership}
    _refused(
        "no_pending_application",
        services.record_confirmation_decision,
        mediation,
        confirmed=True,
        **kwargs,
    )
    services.record_judicial_confirmation(mediation, court="诸暨市人民法院", **kwargs)
    result = services.record_confirmation_decision(mediation, confirmed=True, **kwargs)
    assert result.confirmation_decision == ConfirmationDecision.CONFIRMED
    _refused(
        "already_applied",
        services.record_judicial_confirmation,
        mediation,
        court="诸暨市人民法院",
        **kwargs,
    )


def test_no_judicial_confirmation_without_a_written_agreement(mediation, mediator):
    _refused(
        "no_written_agreement",
        services.record_judicial_confirmation,
        mediation,
        actor=mediator.user,
        membership=mediator.membership,
        court="诸暨市人民法院",
    )


# --- art. 25 -------------------------------------------------------------------------------------


def test_flagging_a_risk_of_violence_hands_over_to_the_case_engine(
    mediation, mediator, monkeypatch
):
    calls = []

    def fake(case, **kwargs):
        calls.append((case, kwargs))
        return case

    monkeypatch.setattr(case_services, "mark_may_turn_violent", fake)
    services.flag_may_turn_violent(
        mediation, actor=mediator.user, membership=mediator.membership, reason=" 李四扬言报复 "
    )
    assert calls == [
        (
            mediation.case,
            {"actor": mediator.user, "membership": mediator.membership, "reason": "李四扬言报复"},
        )
    ]


def test_flagging_a_risk_of_violence_tells_the_police_and_the_town(mediation, mediator):
    case = services.flag_may_turn_violent(
        mediation, actor=mediator.user, membership=mediator.membership, reason="李四扬言报复"
    )
    case.refresh_from_db()
    assert case.may_turn_violent
    told = set(
        Notification.objects.filter(kind="case.violence_risk").values_list(
            "unit__kind", "unit__region_code"
        )
    )
    assert (UnitKind.POLICE_STATION, "330681109") in told
    assert (UnitKind.COMMAND_ROOM, "330681109") in told


def test_only_units_working_the_case_flag_it(mediation, town_operator_other_town):
    _refused(
        "not_your_unit",
        services.flag_may_turn_violent,
        mediation,
        actor=town_operator_other_town.user,
        membership=town_operator_other_town.membership,
        reason="……",
    )
