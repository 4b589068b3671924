"""The tip loop through the services: every transition, who may take it, and the refusals."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError

from fengqiao.core.models import AuditEvent
from fengqiao.regions.models import Unit, UnitKind
from fengqiao.tips import services
from fengqiao.tips.models import (
    TRANSITIONS,
    Action,
    Disposal,
    Opinion,
    Status,
    Tip,
    TransferKind,
    Verification,
)
from personas import FENGQIAO_TOWN, ZHUJI

from .factories import file_tip

pytestmark = pytest.mark.django_db


def police_station() -> Unit:
    return Unit.objects.get(kind=UnitKind.POLICE_STATION, region__code=FENGQIAO_TOWN)


def county_police() -> Unit:
    return Unit.objects.get(kind=UnitKind.PUBLIC_SECURITY_BUREAU, region__code=ZHUJI)


def county_discipline() -> Unit:
    return Unit.objects.get(kind=UnitKind.DISCIPLINE_COMMISSION, region__code=ZHUJI)


def actions_of(tip: Tip) -> list[str]:
    return list(tip.events.order_by("id").values_list("action", flat=True))


def to_status(status: str, *, triager, handler) -> Tip:
    """A fresh tip walked along the happy path up to ``status``."""
    tip = file_tip().tip
    steps = [
        (Status.TRIAGED, lambda t: services.accept_tip(t, membership=triager)),
        (
            Status.ASSIGNED,
            lambda t: services.assign_tip(t, membership=triager, unit=police_station()),
        ),
        (Status.VERIFYING, lambda t: services.start_verifying(t, membership=handler)),
        (
            Status.VERIFIED,
            lambda t: services.record_verification(
                t, membership=handler, outcome=Verification.SUBSTANTIATED, summary="经核查属实"
            ),
        ),
        (
            Status.DISPOSED,
            lambda t: services.dispose_tip(
                t,
                membership=handler,
                disposal=Disposal.CASE_OPENED,
                unit=county_police(),
                charges="寻衅滋事罪",
                case_opened_on=datetime.date(2026, 3, 2),
            ),
        ),
        (Status.CLOSED, lambda t: services.close_tip(t, membership=triager)),
    ]
    for target, step in steps:
        if tip.status == status:
            break
        tip = step(tip)
        assert tip.status == target
    assert tip.status == status
    return tip


def test_the_whole_loop_writes_one_event_and_one_audit_event_per_step(
    anti_gang_zhuji, police_fengqiao
):
    before = AuditEvent.objects.count()
    tip = to_status(
        Status.CLOSED, triager=anti_gang_zhuji.membership, handler=police_fengqiao.membership
    )
    assert actions_of(tip) == [
        Action.SUBMIT,
        Action.ACCEPT,
        Action.ASSIGN,
        Action.START_VERIFYING,
        Action.VERIFY,
        Action.DISPOSE,
        Action.CLOSE,
    ]
    actions = list(
        AuditEvent.objects.filter(id__gt=before, object_id=str(tip.public_id)).values_list(
            "action", flat=True
        )
    )
    assert actions == [
        "tips.received",
        "tips.accept",
        "tips.assign",
        "tips.start_verifying",
        "tips.verify",
        "tips.dispose",
        "tips.close",
    ]
    tip.refresh_from_db()
    assert tip.opinion == Opinion.NOT_GIVEN
    assert tip.case_charges == "寻衅滋事罪" and tip.disposal_unit == county_police()
    transfer = tip.transfers.get()
    assert transfer.kind == TransferKind.ASSIGNMENT and transfer.settled_at is not None


def test_the_routed_office_is_the_county_anti_gang_office():
    tip = file_tip().tip
    assert tip.routed_unit.kind == UnitKind.ANTI_GANG_OFFICE
    assert tip.routed_unit.region_code == ZHUJI
    assert tip.discipline_unit is None and tip.bypass_prefix == ""
    assert tip.status == Status.RECEIVED


# --- every transition, legal and illegal --------------------------------------------------

ALL_STATUSES = list(Status)


def in_status(status: str, *, triager, handler) -> Tip:
    """A fresh tip in ``status``, reached through the services."""
    if status == Status.MERGED:
        earlier = file_tip().tip
        return services.merge_tip(file_tip().tip, into=earlier, membership=triager)
    if status == Status.REJECTED:
        return services.reject_tip(file_tip().tip, membership=triager, reason="民间借贷纠纷")
    return to_status(status, triager=triager, handler=handler)


def attempts(triager, handler):
    """Action → a call taking the action on a tip, by the unit whose step it is."""
    return {
        Action.ACCEPT: lambda t: services.accept_tip(t, membership=triager),
        Action.MERGE: lambda t: services.merge_tip(t, into=file_tip().tip, membership=triager),
        Action.REJECT: lambda t: services.reject_tip(t, membership=triager, reason="不属于"),
        Action.FLAG_OFFICIALS: lambda t: services.flag_officials(
            t, membership=triager, officials_region_code=FENGQIAO_TOWN
        ),
        Action.ASSIGN: lambda t: services.assign_tip(t, membership=triager, unit=police_station()),
        Action.TRANSFER: lambda t: services.transfer_tip(
            t, membership=triager, to_unit=county_discipline(), reason="涉及公职人员"
        ),
        Action.START_VERIFYING: lambda t: services.start_verifying(t, membership=handler),
        Action.VERIFY: lambda t: services.record_verification(
            t, membership=handler, outcome=Verification.UNSUBSTANTIATED, summary="查无实据"
        ),
        Action.DISPOSE: lambda t: services.dispose_tip(
            t, membership=triager, disposal=Disposal.NOT_GANG_RELATED
        ),
        Action.CLOSE: lambda t: services.close_tip(t, membership=triager),
        Action.NOTE: lambda t: services.add_note(t, membership=triager, body="内部备注"),
        Action.CASE_LINKED: lambda t: services.link_case(
            t, membership=triager, case_code="330681-20260301-00001"
        ),
    }


@pytest.mark.parametrize(
    "action",
    [
        Action.ACCEPT,
        Action.MERGE,
        Action.REJECT,
        Action.FLAG_OFFICIALS,
        Action.ASSIGN,
        Action.TRANSFER,
        Action.START_VERIFYING,
        Action.VERIFY,
        Action.DISPOSE,
        Action.CLOSE,
        Action.NOTE,
        Action.CASE_LINKED,
    ],
)
def test_each_step_happens_exactly_from_the_states_the_table_allows(
    action, anti_gang_zhuji, police_fengqiao
):
    triager, handler = anti_gang_zhuji.membership, police_fengqiao.membership
    call = attempts(triager, handler)[action]
    sources, target = TRANSITIONS[action]
    for status in ALL_STATUSES:
        tip = in_status(status, triager=triager, handler=handler)
        events = tip.events.count()
        if status in sources:
            after = call(tip)
            tip.refresh_from_db()
            assert tip.status == (target or status), (action, status)
            assert tip.events.count() > events, (action, status)
            del after
        else:
            # Refused by the table; or, for the assigned unit's steps before any assignment,
            # not even visible to it (a 404 rather than a refusal).
            with pytest.raises((services.TipRefused, services.TipNotFound)) as caught:
                call(tip)
            if isinstance(caught.value, services.TipNotFound):
                assert not Tip.objects.visible_to(handler).filter(pk=tip.pk).exists()
            else:
                assert caught.value.code == "invalid_transition", (action, status)
            tip.refresh_from_db()
            assert tip.status == status and tip.events.count() == events


def test_reporter_steps_follow_the_table(anti_gang_zhuji, police_fengqiao):
    """Replies while open (a merged tip while its survivor is open); an opinion once disposed."""
    triager, handler = anti_gang_zhuji.membership, police_fengqiao.membership
    for status in ALL_STATUSES:
        submission_tip = in_status(status, triager=triager, handler=handler)
        # The receipt of a tip built by in_status is gone; give it a known one for the test.
        receipt = _rekey(submission_tip)
        reply_ok = status in TRANSITIONS[Action.REPORTER_REPLY][0] or status == Status.MERGED
        if reply_ok:
            view = services.reply_as_reporter(receipt=receipt, body="补充材料")
            assert view.messages[-1].sender == "you"
        else:
            with pytest.raises(services.TipRefused):
                services.reply_as_reporter(receipt=receipt, body="补充材料")
        if status == Status.DISPOSED:
            view = services.give_opinion(receipt=receipt, opinion=Opinion.SATISFIED)
            assert view.opinion == Opinion.SATISFIED and not view.can_give_opinion
            with pytest.raises(services.TipRefused):
                services.give_opinion(receipt=receipt, opinion=Opinion.DISSATISFIED)
        else:
            with pytest.raises(services.TipRefused):
                services.give_opinion(receipt=receipt, opinion=Opinion.SATISFIED)


def _rekey(tip: Tip) -> str:
    from fengqiao.tips import receipts

    receipt = receipts.new_receipt()
    Tip.objects.filter(pk=tip.pk).update(receipt_hmac=receipts.digest(receipt))
    return receipt


# --- whose step it is ---------------------------------------------------------------------


def test_the_handler_cannot_triage_and_the_triager_cannot_verify(anti_gang_zhuji, police_fengqiao):
    triager, handler = anti_gang_zhuji.membership, police_fengqiao.membership
    received = file_tip().tip
    with pytest.raises(services.TipNotFound):  # the station does not even see it yet
        services.accept_tip(received, membership=handler)
    assigned = to_status(Status.ASSIGNED, triager=triager, handler=handler)
    for call in (
        lambda: services.start_verifying(assigned, membership=triager),
        lambda: services.reject_tip(assigned, membership=handler, reason="x"),
    ):
        with pytest.raises(services.TipRefused) as caught:
            call()
        assert caught.value.code in {"not_your_step", "invalid_transition"}
    with pytest.raises(services.TipRefused) as caught:
        services.start_verifying(assigned, membership=triager)
    assert caught.value.code == "not_your_step"


def test_disposal_needs_its_particulars_and_follows_the_outcome(anti_gang_zhuji, police_fengqiao):
    triager, handler = anti_gang_zhuji.membership, police_fengqiao.membership
    tip = to_status(Status.VERIFYING, triager=triager, handler=handler)
    services.record_verification(
        tip, membership=handler, outcome=Verification.UNSUBSTANTIATED, summary="查无实据"
    )
    with pytest.raises(ValidationError) as caught:
        services.dispose_tip(tip, membership=handler, disposal=Disposal.PUNISHED, note="x")
    assert "disposal" in caught.value.message_dict
    tip = to_status(Status.VERIFIED, triager=triager, handler=handler)
    with pytest.raises(ValidationError) as caught:
        services.dispose_tip(tip, membership=handler, disposal=Disposal.CASE_OPENED)
    assert set(caught.value.message_dict) == {"unit", "charges", "case_opened_on"}
    with pytest.raises(ValidationError) as caught:
        services.dispose_tip(
            tip,
            membership=handler,
            disposal=Disposal.CASE_OPENED,
            unit_name="诸暨市人民检察院",
            charges="敲诈勒索罪",
            case_opened_on=datetime.date(2099, 1, 1),
        )
    assert "case_opened_on" in caught.value.message_dict
    services.dispose_tip(
        tip, membership=handler, disposal=Disposal.TRANSFERRED, unit=county_discipline()
    )
    tip.refresh_from_db()
    assert tip.disposal == Disposal.TRANSFERRED and tip.citizen_outcome()


def test_a_transfer_runs_its_own_clock_and_the_new_unit_takes_it_up(
    anti_gang_zhuji, police_fengqiao, discipline_zhuji
):
    triager, handler = anti_gang_zhuji.membership, police_fengqiao.membership
    tip = to_status(Status.VERIFYING, triager=triager, handler=handler)
    services.transfer_tip(tip, membership=handler, to_unit=county_discipline(), reason="涉公职人员")
    tip.refresh_from_db()
    assert tip.status == Status.ASSIGNED and tip.assigned_unit == county_discipline()
    first, second = tip.transfers.order_by("id")
    assert first.settled_at is not None and second.settled_at is None
    assert second.kind == TransferKind.TRANSFER and second.from_unit == police_station()
    assert second.reason == "涉公职人员"
    with pytest.raises(services.TipNotFound):
        services.start_verifying(tip, membership=handler)
    services.start_verifying(tip, membership=discipline_zhuji.membership)
    second.refresh_from_db()
    assert second.settled_at is not None
    with pytest.raises(ValidationError):
        services.transfer_tip(
            tip, membership=triager, to_unit=county_discipline(), reason="已在该单位"
        )


def test_rejection_keeps_its_reason_and_can_tell_the_reporter(anti_gang_zhuji):
    submission = file_tip()
    services.reject_tip(
        submission.tip,
        membership=anti_gang_zhuji.membership,
        reason="系普通民间借贷纠纷",
        message_to_reporter="您反映的问题属于民间纠纷，请向当地调解委员会反映。",
    )
    view = services.lookup_tip(submission.receipt)
    assert view.status == Status.REJECTED and not view.can_reply
    assert [m.sender for m in view.messages] == ["handler"]
    assert Tip.objects.get(pk=submission.tip.pk).rejection_reason == "系普通民间借贷纠纷"
    with pytest.raises(ValidationError):
        services.reject_tip(file_tip().tip, membership=anti_gang_zhuji.membership, reason="  ")


# --- messages and notes -------------------------------------------------------------------


def test_the_reporter_reads_messages_but_never_notes_or_names(anti_gang_zhuji, police_fengqiao):
    triager, handler = anti_gang_zhuji.membership, police_fengqiao.membership
    submission = file_tip()
    tip = submission.tip
    services.accept_tip(tip, membership=triager)
    services.assign_tip(tip, membership=triager, unit=police_station())
    services.send_message(tip, membership=handler, body="请问收保护费的大约是什么时间？")
    services.add_note(tip, membership=handler, body="内部：疑似与去年案件同一团伙")
    services.reply_as_reporter(receipt=submission.receipt, body="每月初，晚上八点左右。")
    view = services.lookup_tip(submission.receipt)
    assert [(m.sender, m.body) for m in view.messages] == [
        ("handler", "请问收保护费的大约是什么时间？"),
        ("you", "每月初，晚上八点左右。"),
    ]
    assert "内部" not in repr(view) and police_fengqiao.user.username not in repr(view)
    assert view.status_text and view.can_reply
    dossier = services.open_tip(tip, membership=triager)
    assert [m.body for m in dossier.messages][-1] == "每月初，晚上八点左右。"
    assert [n.body for n in dossier.notes] == ["内部：疑似与去年案件同一团伙"]
    assert Action.MESSAGE in dossier.allowed_actions


def test_opening_and_downloading_are_audited(anti_gang_zhuji):
    from fengqiao.tips import attachments

    tip = file_tip(attachments=[attachments.IncomingFile("a.txt", "证据".encode())]).tip
    before = AuditEvent.objects.count()
    dossier = services.open_tip(tip, membership=anti_gang_zhuji.membership)
    [info] = dossier.attachments
    found = services.download_attachment(
        tip.attachments.get(public_id=info.public_id), membership=anti_gang_zhuji.membership
    )
    assert found.content == "证据".encode() and found.filename.endswith("-1.txt")
    actions = list(AuditEvent.objects.filter(id__gt=before).values_list("action", flat=True))
    assert actions == ["tips.opened", "tips.attachment_downloaded"]
    assert all(
        "证据" not in str(detail)
        for detail in AuditEvent.objects.filter(id__gt=before).values_list("detail", flat=True)
    )


# --- revealing a real-name reporter -------------------------------------------------------


def test_revealing_a_real_name_reporter_takes_a_reason_and_a_second_person(
    anti_gang_zhuji, anti_gang_zhuji_2, police_fengqiao
):
    triager, second = anti_gang_zhuji.membership, anti_gang_zhuji_2.membership
    tip = file_tip(is_real_name=True, reporter_name="王五", reporter_contact="13800138000").tip
    dossier = services.open_tip(tip, membership=triager)
    assert (
        dossier.reporter_name_masked == "王*" and dossier.reporter_contact_masked == "138****8000"
    )
    assert "王五" not in repr(dossier.__dict__.get("reporter_name_masked"))
    with pytest.raises(services.TipRefused):
        services.reveal_reporter(tip, membership=triager)
    with pytest.raises(ValidationError):
        services.request_reveal(tip, membership=triager, reason=" ")
    reveal = services.request_reveal(tip, membership=triager, reason="需核实举报人陈述的细节")
    with pytest.raises(services.TipRefused) as caught:
        services.decide_reveal(reveal, membership=triager, approve=True)
    assert caught.value.code == "same_person"
    services.decide_reveal(reveal, membership=second, approve=True)
    identity = services.reveal_reporter(tip, membership=triager)
    assert identity == services.ReporterIdentity(name="王五", contact="13800138000")
    # The approver did not ask, so the approver does not see.
    with pytest.raises(services.TipRefused):
        services.reveal_reporter(tip, membership=second)
    with pytest.raises(services.TipRefused) as caught:
        services.decide_reveal(reveal, membership=second, approve=False)
    assert caught.value.code == "decided"
    revealed = AuditEvent.objects.filter(
        action="tips.reporter_revealed", object_id=str(tip.public_id)
    )
    assert revealed.count() == 1 and revealed.get().actor_id == anti_gang_zhuji.user.pk
    assert "王五" not in str(list(AuditEvent.objects.values_list("detail", flat=True)))


def test_an_approval_expires_and_a_refusal_reveals_nothing(anti_gang_zhuji, anti_gang_zhuji_2):
    import time_machine
    from django.utils import timezone

    triager, second = anti_gang_zhuji.membership, anti_gang_zhuji_2.membership
    tip = file_tip(is_real_name=True, reporter_name="王五").tip
    refused = services.request_reveal(tip, membership=triager, reason="核实")
    services.decide_reveal(refused, membership=second, approve=False)
    with pytest.raises(services.TipRefused):
        services.reveal_reporter(tip, membership=triager)
    approved = services.request_reveal(tip, membership=triager, reason="再次核实")
    services.decide_reveal(approved, membership=second, approve=True)
    assert services.reveal_reporter(tip, membership=triager).name == "王五"
    with (
        time_machine.travel(timezone.now() + datetime.timedelta(hours=25)),
        pytest.raises(services.TipRefused),
    ):
        services.reveal_reporter(tip, membership=triager)


def test_an_anonymous_reporter_has_nothing_to_reveal(anti_gang_zhuji):
    with pytest.raises(services.TipRefused) as caught:
        services.request_reveal(file_tip().tip, membership=anti_gang_zhuji.membership, reason="x")
    assert caught.value.code == "anonymous"


def test_the_database_refuses_a_self_approved_reveal(anti_gang_zhuji):
    from django.db import IntegrityError, transaction

    from fengqiao.tips.models import RevealRequest

    tip = file_tip(is_real_name=True, reporter_name="王五").tip
    reveal = services.request_reveal(tip, membership=anti_gang_zhuji.membership, reason="核实")
    with pytest.raises(IntegrityError), transaction.atomic():
        RevealRequest.objects.filter(pk=reveal.pk).update(decided_by=anti_gang_zhuji.user)


def test_case_links_are_kept_once(anti_gang_zhuji):
    tip = file_tip().tip
    services.link_case(
        tip, membership=anti_gang_zhuji.membership, case_code="330681-20260301-00001"
    )
    with pytest.raises(ValidationError):
        services.link_case(
            tip, membership=anti_gang_zhuji.membership, case_code="330681-20260301-00001"
        )
    with pytest.raises(ValidationError):
        services.link_case(tip, membership=anti_gang_zhuji.membership, case_code="bad code!")
    assert list(tip.case_links.values_list("case_code", flat=True)) == ["330681-20260301-00001"]
