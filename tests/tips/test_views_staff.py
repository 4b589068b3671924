"""Staff tip pages: need-to-know scoping (404 for anything not visible), every workflow step
through the HTML forms, audited opens and downloads, the two-person reveal, operator intake and
the suppressed statistics."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from fengqiao.core.models import AuditEvent
from fengqiao.regions.models import Unit, UnitKind
from fengqiao.tips import receipts, services
from fengqiao.tips.attachments import IncomingFile
from fengqiao.tips.models import Channel, Direction, RevealRequest, Status, Tip, TipMessage
from personas import FENGQIAO_TOWN, ZHUJI

from .factories import DESCRIPTION, file_tip

pytestmark = pytest.mark.django_db


def police_station() -> Unit:
    return Unit.objects.get(kind=UnitKind.POLICE_STATION, region__code=FENGQIAO_TOWN)


def detail_url(tip: Tip) -> str:
    return reverse("tips:detail", args=[tip.public_id])


def act(persona, tip: Tip, action: str, **fields):
    data = {"action": action, **{f"act-{action}-{key}": value for key, value in fields.items()}}
    return persona.client.post(reverse("tips:act", args=[tip.public_id]), data)


def refreshed(tip: Tip) -> Tip:
    return Tip.objects.unscoped_all().get(pk=tip.pk)


def audit_actions(since: int) -> list[str]:
    return list(AuditEvent.objects.filter(id__gt=since).values_list("action", flat=True))


def last_audit_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.fixture
def assigned(anti_gang_zhuji):
    """A tip accepted by 诸暨市扫黑办 and assigned to 枫桥派出所."""
    tip = file_tip(attachments=[IncomingFile("note.txt", "现场记录".encode())]).tip
    services.accept_tip(tip, membership=anti_gang_zhuji.membership)
    services.assign_tip(tip, membership=anti_gang_zhuji.membership, unit=police_station())
    return refreshed(tip)


# --- scoping ------------------------------------------------------------------------------------


def test_the_list_shows_the_units_own_tips_without_content(anti_gang_zhuji, police_fengqiao):
    tip = file_tip().tip
    response = anti_gang_zhuji.client.get(reverse("tips:list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert tip.reference in html
    assert DESCRIPTION not in html
    # 枫桥派出所 is in the tip's region but not assigned: need to know, not jurisdiction.
    assert tip.reference not in police_fengqiao.client.get(reverse("tips:list")).content.decode()
    assert police_fengqiao.client.get(detail_url(tip)).status_code == 404


@pytest.mark.parametrize(
    "name", ["town_operator_fengqiao", "system_admin", "audit_admin", "county_centre_zhuji"]
)
def test_personas_without_the_tip_capability_get_404_everywhere(request, name):
    persona = request.getfixturevalue(name)
    tip = file_tip().tip
    for url in (reverse("tips:list"), detail_url(tip), reverse("tips:intake")):
        assert persona.client.get(url).status_code == 404, url


def test_the_list_is_a_fixed_number_of_queries(anti_gang_zhuji, django_assert_max_num_queries):
    for _ in range(3):
        file_tip()
    with django_assert_max_num_queries(12) as few:
        anti_gang_zhuji.client.get(reverse("tips:list"))
    for _ in range(6):
        file_tip()
    with django_assert_max_num_queries(len(few.captured_queries)):
        anti_gang_zhuji.client.get(reverse("tips:list"))


def test_opening_a_tip_decrypts_it_and_is_audited(anti_gang_zhuji):
    tip = file_tip(accused=[services.AccusedInput(name="张三", id_number="11010519491231002X")]).tip
    before = last_audit_id()
    response = anti_gang_zhuji.client.get(detail_url(tip))
    assert response.status_code == 200
    html = response.content.decode()
    assert DESCRIPTION in html and "张三" in html and "11010519491231002X" in html
    assert "tips.opened" in audit_actions(before)


def test_the_assigned_unit_sees_the_tip_and_its_neighbours_do_not(
    assigned, police_fengqiao, police_diankou, anti_gang_yuecheng, police_zhuji_bureau
):
    assert police_fengqiao.client.get(detail_url(assigned)).status_code == 200
    for other in (police_diankou, anti_gang_yuecheng, police_zhuji_bureau):
        assert other.client.get(detail_url(assigned)).status_code == 404
        post = other.client.post(reverse("tips:act", args=[assigned.public_id]), {"action": "x"})
        assert post.status_code == 404


def test_a_town_handler_never_sees_a_tip_naming_town_officials(anti_gang_zhuji, police_fengqiao):
    tip = file_tip(officials_involved=True, officials_region_code=FENGQIAO_TOWN).tip
    page = anti_gang_zhuji.client.get(detail_url(tip))
    assert page.status_code == 200
    # The town's own police station is not offered as a unit to assign to.
    services.accept_tip(tip, membership=anti_gang_zhuji.membership)
    html = anti_gang_zhuji.client.get(detail_url(tip)).content.decode()
    assert str(police_station().public_id) not in html
    assert police_fengqiao.client.get(detail_url(tip)).status_code == 404
    assert tip.reference not in police_fengqiao.client.get(reverse("tips:list")).content.decode()


# --- the workflow through the pages -------------------------------------------------------------


def test_the_whole_loop_through_the_forms(anti_gang_zhuji, police_fengqiao):
    tip = file_tip().tip
    assert act(anti_gang_zhuji, tip, "accept", category="market_bullying").status_code == 302
    assert refreshed(tip).status == Status.TRIAGED
    response = act(anti_gang_zhuji, tip, "assign", unit=str(police_station().public_id))
    assert response.status_code == 302
    assert refreshed(tip).assigned_unit == police_station()
    assert act(police_fengqiao, tip, "start_verifying").status_code == 302
    assert refreshed(tip).status == Status.VERIFYING
    response = act(police_fengqiao, tip, "verify", outcome="substantiated", summary="经查属实")
    assert response.status_code == 302
    response = act(
        police_fengqiao,
        tip,
        "dispose",
        disposal="case_opened",
        unit=str(police_station().public_id),
        charges="强迫交易罪",
        case_opened_on=timezone.localdate().isoformat(),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert refreshed(tip).status == Status.DISPOSED
    assert act(anti_gang_zhuji, tip, "close", opinion="", comment="").status_code == 302
    tip = refreshed(tip)
    assert tip.status == Status.CLOSED and tip.case_charges == "强迫交易罪"


def test_a_step_that_is_not_this_units_is_refused_and_changes_nothing(assigned, police_fengqiao):
    response = act(police_fengqiao, assigned, "accept", category="other")
    assert response.status_code == 302
    assert refreshed(assigned).status == Status.ASSIGNED
    follow = police_fengqiao.client.get(response.url)
    assert "该线索当前不能进行此操作" in follow.content.decode()


def test_a_form_error_is_shown_on_the_page(anti_gang_zhuji):
    tip = file_tip().tip
    response = act(anti_gang_zhuji, tip, "reject", reason="", message_to_reporter="")
    assert response.status_code == 400
    assert refreshed(tip).status == Status.RECEIVED
    assert "invalid-feedback" in response.content.decode()


def test_a_case_opened_needs_charges_and_a_date(assigned, police_fengqiao):
    services.start_verifying(assigned, membership=police_fengqiao.membership)
    services.record_verification(
        assigned, membership=police_fengqiao.membership, outcome="substantiated", summary="属实"
    )
    response = act(police_fengqiao, assigned, "dispose", disposal="case_opened", unit_name="法院")
    assert response.status_code == 400
    assert "涉嫌罪名" in response.content.decode()
    assert refreshed(assigned).status == Status.VERIFIED


def test_reject_with_a_message_the_reporter_reads(client, anti_gang_zhuji):
    submission = file_tip()
    response = act(
        anti_gang_zhuji,
        submission.tip,
        "reject",
        reason="属于一般民事纠纷",
        message_to_reporter="请向镇调解委员会反映。",
    )
    assert response.status_code == 302
    view = services.lookup_tip(submission.receipt)
    assert view.status == Status.REJECTED
    assert [m.body for m in view.messages] == ["请向镇调解委员会反映。"]


def test_flagging_officials_above_the_triager_takes_the_tip_out_of_sight(anti_gang_zhuji):
    tip = file_tip().tip
    response = act(anti_gang_zhuji, tip, "flag_officials", officials_region_code=ZHUJI)
    assert response.status_code == 302
    assert response.url == reverse("tips:list")
    assert anti_gang_zhuji.client.get(detail_url(tip)).status_code == 404


def test_merge_from_the_candidates(anti_gang_zhuji):
    first = file_tip(accused=[services.AccusedInput(name="张三")]).tip
    second = file_tip(accused=[services.AccusedInput(name="张三")]).tip
    services.refresh_link_suggestions(second)
    html = anti_gang_zhuji.client.get(detail_url(second)).content.decode()
    assert first.reference in html
    response = act(anti_gang_zhuji, second, "merge", target=first.reference)
    assert response.status_code == 302
    second = refreshed(second)
    assert second.status == Status.MERGED and second.merged_into_id == first.pk


def test_merge_into_an_unknown_reference_is_refused(anti_gang_zhuji, anti_gang_yuecheng):
    elsewhere = file_tip(region_code="330602001").tip  # 越城区: another office's tip
    tip = file_tip().tip
    response = act(anti_gang_zhuji, tip, "merge", target=elsewhere.reference)
    assert response.status_code == 400
    assert refreshed(tip).status == Status.RECEIVED


# --- messages, notes, files ---------------------------------------------------------------------


def test_messages_reach_the_reporter_and_notes_do_not(anti_gang_zhuji):
    submission = file_tip()
    tip = submission.tip
    url = reverse("tips:message", args=[tip.public_id])
    assert anti_gang_zhuji.client.post(url, {"message-body": "请问具体时间？"}).status_code == 302
    note = reverse("tips:note", args=[tip.public_id])
    assert anti_gang_zhuji.client.post(note, {"note-body": "内部：与另案相关"}).status_code == 302
    view = services.lookup_tip(submission.receipt)
    assert [m.body for m in view.messages] == ["请问具体时间？"]
    services.reply_as_reporter(receipt=submission.receipt, body="三月一日晚上。")
    html = anti_gang_zhuji.client.get(detail_url(tip)).content.decode()
    assert "三月一日晚上。" in html and "内部：与另案相关" in html
    assert TipMessage.objects.filter(tip=tip, direction=Direction.FROM_REPORTER).count() == 1


def test_an_empty_message_is_refused(anti_gang_zhuji):
    tip = file_tip().tip
    response = anti_gang_zhuji.client.post(reverse("tips:message", args=[tip.public_id]), {})
    assert response.status_code == 400
    assert not TipMessage.objects.exists()


def test_files_download_as_attachments_and_are_audited(assigned, police_fengqiao, police_diankou):
    attachment = assigned.attachments.get()
    url = reverse("tips:download", args=[assigned.public_id, attachment.public_id])
    before = last_audit_id()
    response = police_fengqiao.client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content == "现场记录".encode()
    assert "tips.attachment_downloaded" in audit_actions(before)
    assert police_diankou.client.get(url).status_code == 404


def test_a_file_of_another_tip_is_404(assigned, anti_gang_zhuji):
    other = file_tip(attachments=[IncomingFile("b.txt", b"other")]).tip
    url = reverse("tips:download", args=[assigned.public_id, other.attachments.get().public_id])
    assert anti_gang_zhuji.client.get(url).status_code == 404


def test_case_link(anti_gang_zhuji):
    tip = file_tip().tip
    url = reverse("tips:link_case", args=[tip.public_id])
    response = anti_gang_zhuji.client.post(url, {"link-case_code": "330681-20260301-00042"})
    assert response.status_code == 302
    assert list(tip.case_links.values_list("case_code", flat=True)) == ["330681-20260301-00042"]


# --- the two-person reveal ----------------------------------------------------------------------


def test_revealing_a_real_name_reporter_needs_a_second_person(anti_gang_zhuji, anti_gang_zhuji_2):
    tip = file_tip(is_real_name=True, reporter_name="王五", reporter_contact="13812345678").tip
    page = anti_gang_zhuji.client.get(detail_url(tip)).content.decode()
    assert "王五" not in page and "13812345678" not in page  # masked
    url = reverse("tips:reveal_request", args=[tip.public_id])
    assert anti_gang_zhuji.client.post(url, {"reveal-reason": "需核实举报细节"}).status_code == 302
    reveal = RevealRequest.objects.get(tip=tip)
    decide = reverse("tips:reveal_decide", args=[tip.public_id, reveal.public_id])
    identity = reverse("tips:reveal_identity", args=[tip.public_id])

    # The requester cannot approve their own request, nor look before approval.
    anti_gang_zhuji.client.post(decide, {"decision": "approve"})
    assert RevealRequest.objects.get(pk=reveal.pk).status == "pending"
    assert anti_gang_zhuji.client.post(identity).status_code == 302

    assert anti_gang_zhuji_2.client.post(decide, {"decision": "approve"}).status_code == 302
    assert RevealRequest.objects.get(pk=reveal.pk).status == "approved"
    # The approver does not get to look: only the requester, within the day.
    assert anti_gang_zhuji_2.client.post(identity).status_code == 302
    before = last_audit_id()
    response = anti_gang_zhuji.client.post(identity)
    assert response.status_code == 200
    html = response.content.decode()
    assert "王五" in html and "13812345678" in html
    assert "tips.reporter_revealed" in audit_actions(before)


def test_an_anonymous_tip_offers_no_reveal(anti_gang_zhuji):
    tip = file_tip().tip
    html = anti_gang_zhuji.client.get(detail_url(tip)).content.decode()
    assert reverse("tips:reveal_request", args=[tip.public_id]) not in html
    url = reverse("tips:reveal_request", args=[tip.public_id])
    assert anti_gang_zhuji.client.post(url, {"reveal-reason": "x"}).status_code == 400
    assert not RevealRequest.objects.exists()


# --- operator intake ----------------------------------------------------------------------------


def intake_data(**values) -> dict:
    data = {
        "channel": "phone",
        "category": "loan_sharking",
        "county": ZHUJI,
        "town": FENGQIAO_TOWN,
        "description": "来电反映有人高利放贷并上门暴力催收。",
        "accused-TOTAL_FORMS": "1",
        "accused-INITIAL_FORMS": "0",
        "accused-MIN_NUM_FORMS": "0",
        "accused-MAX_NUM_FORMS": "20",
        "accused-0-nickname": "阿强",
    }
    data.update(values)
    return data


def test_operator_intake_files_a_tip_and_shows_the_receipt_once(police_fengqiao):
    assert police_fengqiao.client.get(reverse("tips:intake")).status_code == 200
    before = last_audit_id()
    response = police_fengqiao.client.post(reverse("tips:intake"), intake_data())
    assert response.status_code == 200, response.content.decode()[:3000]
    receipt = re.search(r"\d{4}-\d{4}-\d{4}-\d{4}-\d{4}-\d", response.content.decode()).group(0)
    tip = Tip.objects.unscoped_all().get()
    assert tip.channel == Channel.PHONE
    assert tip.receipt_hmac == receipts.digest(receipts.canonical(receipt))
    assert services.find_by_receipt(receipt).pk == tip.pk
    assert "tips.received" in audit_actions(before)
    assert AuditEvent.objects.filter(action="tips.received", actor=police_fengqiao.user).exists()
    # The operator's station is not the tip's handler: it cannot open what it filed.
    assert police_fengqiao.client.get(detail_url(tip)).status_code == 404


def test_operator_intake_shows_errors(police_fengqiao):
    response = police_fengqiao.client.post(reverse("tips:intake"), intake_data(description=""))
    assert response.status_code == 400
    assert not Tip.objects.unscoped_all().exists()


# --- statistics ---------------------------------------------------------------------------------


def test_statistics_suppress_small_counts(anti_gang_zhuji):
    file_tip()
    response = anti_gang_zhuji.client.get(reverse("tips:statistics"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "&lt;3" in html
    assert "枫桥镇" in html


def test_statistics_export_is_figures_only(anti_gang_zhuji):
    for _ in range(3):
        file_tip()
    today = timezone.localdate()
    url = reverse("tips:statistics_export")
    response = anti_gang_zhuji.client.get(
        url, {"region": ZHUJI, "start": f"{today.year}-01-01", "end": today.isoformat()}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    book = load_workbook(io.BytesIO(response.content))
    cells = [str(c.value) for row in book.active.iter_rows() for c in row if c.value is not None]
    assert not any(DESCRIPTION in cell for cell in cells)
    assert "3" in cells  # the total of received tips
    assert AuditEvent.objects.filter(action="tips.statistics_exported").exists()


def test_statistics_of_a_region_outside_is_refused(anti_gang_zhuji, city_leader, police_fengqiao):
    outside = anti_gang_zhuji.client.get(reverse("tips:statistics"), {"region": "330602"})
    assert outside.status_code == 404  # like any object outside the scope (SECURITY 7)
    assert (
        city_leader.client.get(reverse("tips:statistics"), {"region": "330602"}).status_code == 200
    )
    assert police_fengqiao.client.get(reverse("tips:statistics")).status_code == 404


def test_statistics_period_must_be_in_order(anti_gang_zhuji):
    response = anti_gang_zhuji.client.get(
        reverse("tips:statistics"),
        {"region": ZHUJI, "start": "2026-06-01", "end": str(datetime.date(2026, 1, 1))},
    )
    assert response.status_code == 400


def test_merge_into_itself_is_refused(anti_gang_zhuji):
    tip = file_tip().tip
    response = act(anti_gang_zhuji, tip, "merge", target=tip.reference)
    assert response.status_code == 400
    assert refreshed(tip).status == Status.RECEIVED


def test_the_menu_offers_tips_by_capability(anti_gang_zhuji, city_leader, town_operator_fengqiao):
    list_link = f'href="{reverse("tips:list")}"'
    stats_link = f'href="{reverse("tips:statistics")}"'
    page = anti_gang_zhuji.client.get(reverse("accounts:workbench")).content.decode()
    assert list_link in page and stats_link in page
    page = city_leader.client.get(reverse("accounts:workbench")).content.decode()
    assert list_link not in page and stats_link in page
    page = town_operator_fengqiao.client.get(reverse("accounts:workbench")).content.decode()
    assert list_link not in page and stats_link not in page


def test_the_discipline_commission_sees_tips_naming_officials_only(discipline_zhuji):
    ordinary = file_tip().tip
    umbrella = file_tip(officials_involved=True, officials_region_code=FENGQIAO_TOWN).tip
    assert discipline_zhuji.client.get(detail_url(ordinary)).status_code == 404
    response = discipline_zhuji.client.get(detail_url(umbrella))
    assert response.status_code == 200
    note = reverse("tips:note", args=[umbrella.public_id])
    assert discipline_zhuji.client.post(note, {"note-body": "纪委已关注"}).status_code == 302


def test_staff_pages_carry_no_inline_script_or_style(anti_gang_zhuji):
    tip = file_tip().tip
    for url in (
        reverse("tips:list"),
        detail_url(tip),
        reverse("tips:intake"),
        reverse("tips:statistics"),
    ):
        html = anti_gang_zhuji.client.get(url).content.decode()
        assert "<script>" not in html and " style=" not in html and "onclick=" not in html, url


def test_the_workbench_counts_tips_to_triage_without_reading_content(anti_gang_zhuji):
    from tests.tips.factories import file_tip

    from fengqiao.accounts import workbench

    before = {q.key: q.count for q in workbench.queues_for(anti_gang_zhuji.membership)}
    file_tip()  # about 枫源村 (诸暨市): triaged by the 诸暨 扫黑办
    queues = {q.key: q for q in workbench.queues_for(anti_gang_zhuji.membership)}
    assert queues["tips_to_triage"].count == before["tips_to_triage"] + 1
    assert queues["tips_in_hand"].count == before["tips_in_hand"]
    assert queues["tips_to_triage"].url == "/tips/"
