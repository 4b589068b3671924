"""The case loop through the services: every transition, who may take it, and the refusals."""

from __future__ import annotations

import pytest
import time_machine

from fengqiao.accounts.models import Notification
from fengqiao.cases import clocks, services
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.models import (
    Action,
    Case,
    ClosureMethod,
    EvaluationChannel,
    PartyRole,
    PointEntry,
    Status,
    Supervision,
)
from fengqiao.core.models import AuditEvent
from fengqiao.regions.models import Level, Unit, UnitKind

from .factories import at, id_number, report

pytestmark = pytest.mark.django_db

FENGYUAN = "330681109290"
FENGQIAO = "330681109"


def unit(kind: str, code: str) -> Unit:
    return Unit.objects.get(kind=kind, region__code=code)


def act(persona):
    return {"actor": persona.user, "membership": persona.membership}


def refused(code: str, call, *args, **kwargs) -> WorkflowError:
    with pytest.raises(WorkflowError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.message
    assert caught.value.message  # a sentence for the person, in Chinese under zh-hans
    return caught.value


@pytest.fixture
def town(town_operator_fengqiao):
    return town_operator_fengqiao


@pytest.fixture
def mediator(village_mediator_fengyuan):
    return village_mediator_fengyuan


@pytest.fixture
def town_case(dispute_category):
    """A citizen's report that resolved only to 枫桥镇: it lands at the town command room."""
    return report(dispute_category, region_code=FENGQIAO, channel="web")


@pytest.fixture
def assigned(town_case, town, mediator):
    case = services.accept_case(town_case, **act(town))
    return services.assign_case(case, **act(town), unit=mediator.unit, note="请村调委会先行调解")


@pytest.fixture
def in_progress(assigned, mediator):
    return services.sign_case(assigned, **act(mediator))


@pytest.fixture
def pending(in_progress, mediator):
    return services.submit_feedback(
        in_progress,
        **act(mediator),
        method=ClosureMethod.MEDIATED,
        resolved=True,
        summary="双方达成口头协议，已疏通排水沟。",
    )


@pytest.fixture
def closed(pending, town):
    return services.verify_case(pending, **act(town), passed=True)


# --- the loop ----------------------------------------------------------------------------------


def test_full_loop_from_citizen_report_to_rating(dispute_category, town, mediator):
    with time_machine.travel(at("2026-11-02 09:00"), tick=False):
        case = report(dispute_category, region_code=FENGQIAO, channel="web")
        assert (case.status, case.owner_unit, case.level) == (
            Status.REPORTED,
            town.unit,
            Level.TOWN,
        )
        case = services.accept_case(case, **act(town))
        case = services.assign_case(case, **act(town), unit=mediator.unit)
    with time_machine.travel(at("2026-11-03 09:00"), tick=False):
        case = services.sign_case(case, **act(mediator))
        case = services.submit_feedback(
            case, **act(mediator), method=ClosureMethod.MEDIATED, resolved=True, summary="已调解"
        )
    with time_machine.travel(at("2026-11-04 09:00"), tick=False):
        case = services.verify_case(case, **act(town), passed=True)
        case = services.evaluate_case(
            case, satisfaction=5, comment="满意", channel=EvaluationChannel.TRACKING
        )
    assert case.status == Status.EVALUATED
    rows = list(case.changes.order_by("id"))
    assert [(r.action, r.from_status, r.to_status) for r in rows] == [
        ("report", "", "reported"),
        ("accept", "reported", "accepted"),
        ("assign", "accepted", "assigned"),
        ("sign", "assigned", "in_progress"),
        ("feedback", "in_progress", "pending_verify"),
        ("verify_pass", "pending_verify", "closed"),
        ("evaluate", "closed", "evaluated"),
    ]
    public = [r.action for r in rows if r.is_public]
    assert public == ["report", "accept", "assign", "sign", "verify_pass", "evaluate"]
    by_action = {r.action: r for r in rows}
    assert by_action["accept"].on_time is True and by_action["accept"].level == Level.TOWN
    assert by_action["feedback"].on_time is True
    # The close is credited to the level that resolved it: the village.
    assert by_action["verify_pass"].level == Level.VILLAGE
    assert by_action["verify_pass"].detail == {"resolved": True, "method": "mediated"}
    assert by_action["evaluate"].detail["satisfaction"] == 5
    assert case.closed_at == at("2026-11-04 09:00")
    assert case.visit_due_at == at("2026-11-05 00:00")
    # +1 to the village committee for an on-time close, once.
    assert list(PointEntry.objects.filter(case=case).values_list("unit_id", "points")) == [
        (mediator.unit.pk, 1)
    ]
    audited = list(
        AuditEvent.objects.filter(object_id=str(case.public_id)).values_list("action", flat=True)
    )
    assert audited == [f"cases.{r.action}" for r in rows]


def test_assignment_notifies_the_handling_unit(assigned, mediator):
    notice = Notification.objects.get(unit=mediator.unit, kind="case.assigned")
    assert assigned.code in notice.title


def test_owner_may_sign_for_itself_and_handle_the_case(town_case, town):
    case = services.accept_case(town_case, **act(town))
    case = services.sign_case(case, **act(town))
    assert (case.status, case.handler_unit) == (Status.IN_PROGRESS, town.unit)


# --- illegal transitions -----------------------------------------------------------------------


def test_illegal_transitions_from_reported(town_case, town):
    for call, kwargs in [
        (services.assign_case, {"unit": town.unit}),
        (services.sign_case, {}),
        (services.submit_feedback, {"method": "mediated", "resolved": True, "summary": "x"}),
        (services.verify_case, {"passed": True}),
        (services.suspend_case, {"reason": "x"}),
        (services.resume_case, {}),
        (services.reopen_case, {"reason": "x"}),
        (services.request_extension, {"days": 2, "reason": "x"}),
        (services.decide_extension, {"approve": True}),
        (services.record_visit, {"satisfaction": None, "comment": ""}),
    ]:
        refused("illegal_transition", call, town_case, **act(town), **kwargs)
    refused(
        "illegal_transition",
        services.evaluate_case,
        town_case,
        satisfaction=5,
        channel=EvaluationChannel.TRACKING,
    )
    assert Case.objects.get(pk=town_case.pk).status == Status.REPORTED
    assert town_case.changes.count() == 1


def test_accepting_twice_is_refused(town_case, town):
    services.accept_case(town_case, **act(town))
    refused("illegal_transition", services.accept_case, town_case, **act(town))


def test_closed_case_cannot_be_handled_again(closed, town, mediator):
    refused("illegal_transition", services.accept_case, closed, **act(town))
    refused("illegal_transition", services.verify_case, closed, **act(town), passed=True)
    refused(
        "illegal_transition",
        services.submit_feedback,
        closed,
        **act(mediator),
        method="mediated",
        resolved=True,
        summary="x",
    )
    refused("illegal_transition", services.escalate_case, closed, **act(town))
    refused("illegal_transition", services.reject_case, closed, **act(town), reason="x")


# --- who may act -------------------------------------------------------------------------------


def test_only_the_owner_unit_accepts(
    town_case, town_operator_other_town, mediator, police_fengqiao
):
    for persona in (town_operator_other_town, mediator, police_fengqiao):
        refused("not_your_unit", services.accept_case, town_case, **act(persona))
    refused("not_your_unit", services.accept_case, town_case, actor=None, membership=None)


def test_only_the_handler_signs_and_reports_back(assigned, town, police_fengqiao, mediator):
    refused("not_your_unit", services.sign_case, assigned, **act(town))
    refused("not_your_unit", services.sign_case, assigned, **act(police_fengqiao))
    case = services.sign_case(assigned, **act(mediator))
    refused(
        "not_your_unit",
        services.submit_feedback,
        case,
        **act(town),
        method="mediated",
        resolved=True,
        summary="x",
    )


def test_only_the_owner_verifies(pending, mediator):
    refused("not_your_unit", services.verify_case, pending, **act(mediator), passed=True)


def test_assignment_only_within_the_owners_area(town_case, town):
    case = services.accept_case(town_case, **act(town))
    other_town = unit(UnitKind.POLICE_STATION, "330681104")
    err = refused("unit_out_of_scope", services.assign_case, case, **act(town), unit=other_town)
    assert err.field == "unit"
    inactive = unit(UnitKind.JUSTICE_OFFICE, FENGQIAO)
    inactive.is_active = False
    inactive.save()
    refused("unit_out_of_scope", services.assign_case, case, **act(town), unit=inactive)
    police = unit(UnitKind.POLICE_STATION, FENGQIAO)
    assert services.assign_case(case, **act(town), unit=police).handler_unit == police


def test_a_disabled_membership_cannot_act(town_case, town):
    town.membership.is_active = False
    town.membership.save()
    refused("not_your_unit", services.accept_case, town_case, **act(town))


# --- return, escalate --------------------------------------------------------------------------


def test_handler_returns_the_case_to_the_owner_with_a_reason(in_progress, mediator, town):
    refused("reason_required", services.return_case, in_progress, **act(mediator), reason="  ")
    case = services.return_case(in_progress, **act(mediator), reason="不属于村级调解范围")
    assert (case.status, case.handler_unit) == (Status.ACCEPTED, None)
    row = case.changes.get(action=Action.RETURN)
    assert (row.from_unit, row.to_unit, row.level) == (mediator.unit, town.unit, Level.VILLAGE)
    assert Notification.objects.filter(unit=town.unit, kind="case.returned").exists()


def test_owner_returns_a_fresh_case_upwards_for_rerouting(dispute_category, mediator):
    case = report(dispute_category, region_code=FENGYUAN)
    assert case.owner_unit == mediator.unit
    case = services.return_case(case, **act(mediator), reason="涉及镇级职能部门")
    assert case.status == Status.REPORTED
    assert case.owner_unit == unit(UnitKind.COMMAND_ROOM, FENGQIAO)
    assert case.level == Level.TOWN


def test_escalation_moves_case_to_town_centre(dispute_category, mediator, town):
    with time_machine.travel(at("2026-11-02 09:00"), tick=False):
        case = report(dispute_category, region_code=FENGYUAN)
        case = services.accept_case(case, **act(mediator))
        case = services.sign_case(case, **act(mediator))
    with time_machine.travel(at("2026-11-05 09:00"), tick=False):
        case = services.escalate_case(case, **act(mediator), reason="调解不成")
    assert (case.status, case.owner_unit, case.level) == (Status.REPORTED, town.unit, Level.TOWN)
    assert case.handler_unit is None and case.handle_due_at is None
    assert case.accept_due_at == clocks.end_of_day(at("2026-11-06 12:00").date())
    row = case.changes.get(action=Action.ESCALATE)
    assert row.detail == {"from_level": "village", "to_level": "town"}
    assert (row.from_unit, row.to_unit, row.level) == (mediator.unit, town.unit, Level.VILLAGE)
    assert Notification.objects.filter(unit=town.unit, kind="case.escalated").count() == 1
    # The town accepts it afresh.
    case = services.accept_case(case, **act(town))
    assert case.handle_due_at is not None


def test_skip_escalation_needs_a_reason_and_goes_to_the_county(
    dispute_category, mediator, county_centre_zhuji
):
    case = report(dispute_category, region_code=FENGYUAN)
    refused("reason_required", services.escalate_case, case, **act(mediator), skip=True)
    case = services.escalate_case(case, **act(mediator), skip=True, reason="村、镇均涉利益相关")
    assert (case.owner_unit, case.level) == (county_centre_zhuji.unit, Level.COUNTY)
    assert case.changes.filter(action=Action.ESCALATE_SKIP).count() == 1


def test_named_target_level_one_up_is_an_ordinary_escalation(dispute_category, mediator):
    case = report(dispute_category, region_code=FENGYUAN)
    case = services.escalate_case(case, **act(mediator), target_level=Level.TOWN)
    assert case.changes.filter(action=Action.ESCALATE).count() == 1


def test_city_level_case_cannot_escalate(dispute_category, city_leader):
    case = report(dispute_category, region_code="330681109290")
    Case.objects.filter(pk=case.pk).update(owner_unit=city_leader.unit, level=Level.CITY)
    case.refresh_from_db()
    refused("not_your_unit", services.escalate_case, case, **act(city_leader))


# --- extensions, suspension --------------------------------------------------------------------


def test_extension_request_rules(in_progress, mediator, town):
    refused(
        "invalid_extension",
        services.request_extension,
        in_progress,
        **act(mediator),
        days=31,
        reason="x",
    )
    refused(
        "reason_required",
        services.request_extension,
        in_progress,
        **act(mediator),
        days=2,
        reason="",
    )
    refused(
        "not_your_unit", services.request_extension, in_progress, **act(town), days=2, reason="x"
    )
    case = services.request_extension(in_progress, **act(mediator), days=2, reason="等待鉴定结果")
    refused("not_your_unit", services.request_extension, case, **act(mediator), days=2, reason="x")
    refused("not_your_unit", services.decide_extension, case, **act(mediator), approve=True)
    refused("reason_required", services.decide_extension, case, **act(town), approve=False)
    due = case.handle_due_at
    case = services.decide_extension(case, **act(town), approve=False, reason="期限内可完成")
    assert case.handle_due_at == due and case.extension_days_requested is None
    refused("no_extension_requested", services.decide_extension, case, **act(town), approve=True)
    assert Notification.objects.filter(unit=town.unit, kind="case.extension_requested").exists()


def test_suspend_and_resume_need_the_handler_and_a_reason(in_progress, mediator, town):
    refused("reason_required", services.suspend_case, in_progress, **act(mediator), reason="")
    refused("not_your_unit", services.suspend_case, in_progress, **act(town), reason="x")
    case = services.suspend_case(in_progress, **act(mediator), reason="当事人住院")
    assert case.status == Status.SUSPENDED
    refused("illegal_transition", services.suspend_case, case, **act(mediator), reason="x")
    refused(
        "illegal_transition",
        services.submit_feedback,
        case,
        **act(mediator),
        method="mediated",
        resolved=True,
        summary="x",
    )
    assert services.resume_case(case, **act(mediator)).status == Status.IN_PROGRESS


# --- feedback, verification --------------------------------------------------------------------


def test_feedback_validation(in_progress, mediator):
    err = refused(
        "invalid_method",
        services.submit_feedback,
        in_progress,
        **act(mediator),
        method="magic",
        resolved=True,
        summary="x",
    )
    assert err.field == "method"
    refused(
        "summary_required",
        services.submit_feedback,
        in_progress,
        **act(mediator),
        method="mediated",
        resolved=False,
        summary=" ",
    )


def test_failed_verification_goes_back_to_the_handler_with_a_reason(pending, town, mediator):
    refused("reason_required", services.verify_case, pending, **act(town), passed=False)
    case = services.verify_case(pending, **act(town), passed=False, reason="排水沟仍未疏通")
    assert case.status == Status.IN_PROGRESS and case.handler_unit == mediator.unit
    assert Notification.objects.filter(unit=mediator.unit, kind="case.verify_failed").exists()


def test_late_feedback_earns_no_point(dispute_category, town, mediator):
    with time_machine.travel(at("2026-11-02 09:00"), tick=False):
        case = report(dispute_category, region_code=FENGQIAO)
        case = services.accept_case(case, **act(town))
        case = services.assign_case(case, **act(town), unit=mediator.unit)
        case = services.sign_case(case, **act(mediator))
    with time_machine.travel(at("2026-11-20 09:00"), tick=False):
        case = services.submit_feedback(
            case, **act(mediator), method="mediated", resolved=False, summary="未能调解"
        )
        case = services.verify_case(case, **act(town), passed=True)
    close = case.changes.get(action=Action.VERIFY_PASS)
    assert close.on_time is False and close.detail["resolved"] is False
    assert not PointEntry.objects.filter(case=case).exists()


# --- evaluate, visit, reopen, reject -----------------------------------------------------------


def test_rating_must_be_one_to_five(closed):
    for bad in (0, 6, "5", True):
        refused(
            "invalid_rating",
            services.evaluate_case,
            closed,
            satisfaction=bad,
            channel=EvaluationChannel.TRACKING,
        )
    refused("invalid_channel", services.evaluate_case, closed, satisfaction=3, channel="carrier")


def test_staff_of_another_unit_cannot_rate(closed, mediator):
    refused(
        "not_your_unit",
        services.evaluate_case,
        closed,
        satisfaction=5,
        channel=EvaluationChannel.PHONE,
        **act(mediator),
    )


def test_visit_with_a_rating_evaluates_the_case(closed, town):
    case = services.record_visit(closed, **act(town), satisfaction=4, comment="回访满意")
    assert case.status == Status.EVALUATED and case.visited_at is not None
    assert case.evaluation_channel == EvaluationChannel.VISIT
    assert [r.action for r in case.changes.order_by("id")][-2:] == ["visit", "evaluate"]


def test_visit_without_a_rating_keeps_the_case_closed(closed, town, mediator):
    refused(
        "not_your_unit",
        services.record_visit,
        closed,
        **act(mediator),
        satisfaction=None,
        comment="",
    )
    case = services.record_visit(closed, **act(town), satisfaction=None, comment="电话未接通")
    assert case.status == Status.CLOSED and case.visited_at is not None


def test_reopen_by_the_owner_or_a_level_above(
    closed, town, county_centre_zhuji, town_operator_other_town
):
    refused("reason_required", services.reopen_case, closed, **act(town), reason="")
    refused(
        "not_your_unit", services.reopen_case, closed, **act(town_operator_other_town), reason="x"
    )
    case = services.reopen_case(closed, **act(county_centre_zhuji), reason="群众再次反映")
    assert (case.status, case.handler_unit, case.closed_at, case.resolved) == (
        Status.ACCEPTED,
        None,
        None,
        None,
    )
    assert case.handle_due_at is not None
    assert case.changes.get(action=Action.REOPEN).level == Level.COUNTY


def test_reject_as_invalid_needs_a_reason_and_is_public(town_case, town):
    refused("reason_required", services.reject_case, town_case, **act(town), reason="")
    case = services.reject_case(town_case, **act(town), reason="重复举报")
    row = case.changes.get(action=Action.REJECT)
    assert case.status == Status.REJECTED and row.is_public and row.reason == "重复举报"
    assert services.reopen_case(case, **act(town), reason="误判").status == Status.ACCEPTED


# --- supervision, violence risk ----------------------------------------------------------------


def test_supervision_from_a_level_above_only_rises(town_case, town, county_centre_zhuji):
    refused("not_your_unit", services.supervise_case, town_case, **act(town), level=1, reason="x")
    case = services.supervise_case(
        town_case, **act(county_centre_zhuji), level=Supervision.YELLOW, reason="群众多次反映"
    )
    assert case.supervision == Supervision.YELLOW and case.supervised_by == county_centre_zhuji.unit
    refused(
        "already_supervised",
        services.supervise_case,
        case,
        **act(county_centre_zhuji),
        level=Supervision.NORMAL,
        reason="x",
    )
    assert Notification.objects.filter(unit=town.unit, kind="case.supervised").exists()


def test_supervision_outside_the_supervisors_area_is_refused(town_case, county_centre_yuecheng):
    refused(
        "not_your_unit",
        services.supervise_case,
        town_case,
        **act(county_centre_yuecheng),
        level=1,
        reason="x",
    )


def test_violence_risk_tells_the_police_and_the_town_centre_once(in_progress, mediator):
    case = services.mark_may_turn_violent(in_progress, **act(mediator), reason="一方扬言报复")
    assert case.may_turn_violent
    told = set(
        Notification.objects.filter(kind="case.violence_risk").values_list(
            "unit__kind", "unit__region_code"
        )
    )
    assert told == {(UnitKind.POLICE_STATION, FENGQIAO), (UnitKind.COMMAND_ROOM, FENGQIAO)}
    refused("already_flagged", services.mark_may_turn_violent, case, **act(mediator), reason="x")
    assert Notification.objects.filter(kind="case.violence_risk").count() == 2


def test_violence_risk_at_intake_reports_at_once(dispute_category, mediator):
    report(dispute_category, region_code=FENGYUAN, may_turn_violent=True, persona=mediator)
    assert (
        Notification.objects.filter(
            kind="case.violence_risk",
            unit__kind=UnitKind.POLICE_STATION,
            unit__region_code=FENGQIAO,
        ).count()
        == 1
    )


# --- intake validation, available actions, audit ------------------------------------------------


def test_intake_refusals_name_the_field(dispute_category):
    cases = [
        ({"title": ""}, "title"),
        ({"description": " "}, "description"),
        ({"channel": "pigeon"}, "channel"),
        ({"severity": 9}, "severity"),
        ({"urgency": "now"}, "urgency"),
        ({"region_code": "999999"}, "region_code"),
        ({"latitude": 30}, "latitude"),
        (
            {"parties": [services.PartyData(role=PartyRole.APPLICANT, name="张三", phone="12")]},
            "parties[0].phone",
        ),
    ]
    for values, field in cases:
        values.setdefault("region_code", FENGYUAN)
        with pytest.raises(WorkflowError) as caught:
            report(dispute_category, **values)
        assert caught.value.field == field, (values, caught.value.code)
    assert not Case.objects.filter(category=dispute_category).exists()


def test_staff_intake_without_a_place_uses_the_reporters_area(
    dispute_category, grid_worker_fengqiao
):
    case = report(dispute_category, persona=grid_worker_fengqiao)
    assert case.region_code == "330681109290001"
    assert case.region_resolution == "reporter"
    assert case.owner_unit == unit(UnitKind.MEDIATION_COMMITTEE, FENGYUAN)


def test_citizen_intake_without_any_place_is_refused(dispute_category):
    err = refused("region_required", report, dispute_category)
    assert err.field == "place_text"


def test_place_text_is_resolved_to_the_village(dispute_category):
    case = report(dispute_category, place_text="诸暨市枫桥镇枫源村")
    assert case.region_code == FENGYUAN and case.region_resolution == "text"


def test_available_actions_follow_state_and_unit(town_case, town, mediator, county_centre_zhuji):
    assert set(services.available_actions(town_case, town.membership)) == {
        "accept",
        "return",
        "escalate",
        "escalate_skip",
        "reject",
        "risk_flag",
    }
    assert services.available_actions(town_case, mediator.membership) == []
    assert set(services.available_actions(town_case, county_centre_zhuji.membership)) == {
        "supervise",
        "risk_flag",
    }
    assert services.available_actions(town_case, None) == []
    case = services.accept_case(town_case, **act(town))
    case = services.assign_case(case, **act(town), unit=mediator.unit)
    assert set(services.available_actions(case, mediator.membership)) == {
        "sign",
        "return",
        "escalate",
        "escalate_skip",
        "request_extension",
        "risk_flag",
    }


def test_audit_detail_carries_no_personal_data(dispute_category, mediator):
    phone, idn = "13812345678", id_number("33068119800101001")
    case = report(
        dispute_category,
        region_code=FENGYUAN,
        persona=mediator,
        parties=[
            services.PartyData(role=PartyRole.APPLICANT, name="张三丰", id_number=idn, phone=phone)
        ],
    )
    services.reject_case(case, **act(mediator), reason="张三丰 13812345678 重复")
    for event in AuditEvent.objects.filter(object_id=str(case.public_id)):
        text = str(event.detail)
        assert "张三丰" not in text and phone not in text and idn not in text
