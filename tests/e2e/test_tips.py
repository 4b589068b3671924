"""The tip line end to end in Chromium: a citizen files an anonymous tip with a picture and keeps
the receipt; the county 扫黑办 assigns it; the police station asks a question; the citizen
answers with the receipt; the station records 查实 and a case opened and closes the tip; the
citizen sees it closed. No page breaks the CSP, and the citizen's browser holds no cookie."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from django_otp.oath import TOTP
from PIL import Image

from fengqiao.accounts.roles import Role
from fengqiao.regions.models import Unit, UnitKind
from fengqiao.tips.models import Status, Tip
from personas import FENGQIAO_TOWN, FENGYUAN_VILLAGE, PASSWORD, ZHUJI, make_persona

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RECEIPT = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{4}-\d{4}-\d$")


def current_code(device) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def watch_csp(page, violations: list[str]) -> None:
    def on_console(message) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            violations.append(message.text)

    page.on("console", on_console)


def log_in(page, base: str, persona) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", persona.user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/login/otp/**")
    page.fill("input[name=otp_token]", current_code(persona.device))
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def open_action(page, key: str) -> None:
    """Unfold one step's form on the tip page (Bootstrap collapse)."""
    page.click(f"button[data-bs-target='#act-{key}']")
    page.wait_for_selector(f"#act-{key}.show")


def file_the_tip(page, base: str, picture) -> str:
    page.goto(f"{base}/tips/public/")
    page.click("a[href='/tips/public/report/']")
    page.wait_for_url("**/tips/public/report/")
    page.select_option("#id_category", "market_bullying")
    page.select_option("#id_county", ZHUJI)
    page.wait_for_selector(f"#id_town option[value='{FENGQIAO_TOWN}']", state="attached")
    page.select_option("#id_town", FENGQIAO_TOWN)
    page.wait_for_selector(f"#id_village option[value='{FENGYUAN_VILLAGE}']", state="attached")
    page.select_option("#id_village", FENGYUAN_VILLAGE)
    page.fill("#id_place_text", "村口农贸市场")
    page.fill("#id_description", "有一伙人每月向市场摊主强收“管理费”，不交就砸摊打人。")
    page.fill("#id_accused-0-name", "赵某")
    page.fill("#id_accused-0-nickname", "赵老大")
    page.click(".js-accused-add")
    page.fill("#id_accused-1-nickname", "小刀")
    # The real-name fields stay folded away while the box is not ticked.
    assert not page.is_visible("#id_reporter_name")
    page.set_input_files("#id_files", str(picture))
    page.click("form button[type=submit]")
    page.wait_for_url("**/tips/public/report/")
    page.wait_for_selector(".fq-receipt")
    assert "只显示这一次" in page.inner_text("body")
    receipt = page.text_content(".js-receipt-text").strip()
    assert RECEIPT.match(receipt), receipt
    return receipt


def look_up(page, base: str, receipt: str) -> None:
    page.goto(f"{base}/tips/public/lookup/")
    page.fill("#id_receipt", receipt)
    page.click("form button[type=submit]")
    page.wait_for_selector(".js-tip-status")


def test_a_tip_from_anonymous_report_to_closed_case(live_server, browser, tmp_path):
    from fengqiao.core import services as core_services
    from fengqiao.regions import services

    # transaction=True flushes the spine between tests; load it (and the calendar) again.
    services.load_shipped_divisions()
    services.build_demo_structure()
    core_services.seed_calendar_from_package()
    triager = make_persona(
        "e2e_saoheiban", Role.ANTI_GANG_HANDLER, UnitKind.ANTI_GANG_OFFICE, ZHUJI
    )
    handler = make_persona(
        "e2e_paichusuo", Role.DEPARTMENT_HANDLER, UnitKind.POLICE_STATION, FENGQIAO_TOWN
    )
    station = Unit.objects.get(kind=UnitKind.POLICE_STATION, region__code=FENGQIAO_TOWN)
    picture = tmp_path / "IMG_20260301_081522.png"
    Image.new("RGB", (32, 24), (180, 40, 40)).save(picture)
    base = live_server.url
    violations: list[str] = []

    citizen_context = browser.new_context(locale="zh-CN")
    citizen = citizen_context.new_page()
    watch_csp(citizen, violations)
    staff_context = browser.new_context(locale="zh-CN")
    staff = staff_context.new_page()
    watch_csp(staff, violations)
    handler_context = browser.new_context(locale="zh-CN")
    station_page = handler_context.new_page()
    watch_csp(station_page, violations)
    try:
        # 1. The citizen files an anonymous tip with a picture and keeps the receipt.
        receipt = file_the_tip(citizen, base, picture)
        tip = Tip.objects.unscoped_all().get()
        assert tip.attachments.count() == 1 and tip.accused.count() == 2
        assert not tip.is_real_name

        # 2. The county 扫黑办 triager accepts and assigns it to 枫桥派出所.
        log_in(staff, base, triager)
        staff.goto(f"{base}/tips/")
        staff.click(f"text={tip.reference}")
        staff.wait_for_selector(".js-tip-description")
        assert "强收" in staff.inner_text(".js-tip-description")
        open_action(staff, "accept")
        staff.click("#act-accept button[type=submit]")
        staff.wait_for_selector("#act-assign", state="attached")
        open_action(staff, "assign")
        staff.select_option("#id_act-assign-unit", str(station.public_id))
        staff.click("#act-assign button[type=submit]")
        staff.wait_for_selector(f".js-tip-status[data-status='{Status.ASSIGNED}']")

        # 3. The station takes it up and asks the reporter a question.
        log_in(station_page, base, handler)
        station_page.goto(f"{base}/tips/{tip.public_id}/")
        station_page.click("button:has-text('签收并开始核查')")
        station_page.wait_for_selector(f".js-tip-status[data-status='{Status.VERIFYING}']")
        station_page.fill("#id_message-body", "请问收“管理费”的大概是哪几天？")
        station_page.click("button:has-text('发送给举报人')")
        station_page.wait_for_selector("text=留言已发送给举报人。")

        # 4. The citizen reads the question with the receipt and answers.
        look_up(citizen, base, receipt)
        assert "请问收“管理费”的大概是哪几天？" in citizen.inner_text("body")
        citizen.fill("#id_body", "每月初一、十五，早上七点左右。")
        citizen.click("form[action='/tips/public/lookup/reply/'] button[type=submit]")
        citizen.wait_for_selector("text=谢谢，您的留言已发送。")

        # 5. The station records 查实, a case opened, and closes the tip.
        station_page.goto(f"{base}/tips/{tip.public_id}/")
        assert "每月初一、十五" in station_page.inner_text("body")
        open_action(station_page, "verify")
        station_page.select_option("#id_act-verify-outcome", "substantiated")
        station_page.fill("#id_act-verify-summary", "经蹲守核实，情况属实。")
        station_page.click("#act-verify button[type=submit]")
        station_page.wait_for_selector(f".js-tip-status[data-status='{Status.VERIFIED}']")
        open_action(station_page, "dispose")
        station_page.select_option("#id_act-dispose-disposal", "case_opened")
        station_page.select_option("#id_act-dispose-unit", str(station.public_id))
        station_page.fill("#id_act-dispose-charges", "强迫交易罪")
        station_page.fill("#id_act-dispose-case_opened_on", timezone.localdate().isoformat())
        station_page.click("#act-dispose button[type=submit]")
        station_page.wait_for_selector(f".js-tip-status[data-status='{Status.DISPOSED}']")
        open_action(station_page, "close")
        station_page.click("#act-close button[type=submit]")
        station_page.wait_for_selector(f".js-tip-status[data-status='{Status.CLOSED}']")

        # 6. The citizen sees the tip closed, with the outcome in plain words.
        look_up(citizen, base, receipt)
        assert citizen.get_attribute(".js-tip-status", "data-status") == Status.CLOSED
        body = citizen.inner_text("body")
        assert "已办结" in body and "主管机关已立案" in body
        assert "不再接收留言" in body

        # The reporter's browser holds nothing from the tip line, and no page broke the CSP.
        assert citizen_context.cookies() == []
        assert violations == []
    finally:
        citizen_context.close()
        staff_context.close()
        handler_context.close()
