"""A person logs in with password and a TOTP code and sees the workbench in Chinese."""

from __future__ import annotations

import pytest
from django_otp.oath import TOTP

from personas import PASSWORD, make_persona

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def current_code(device) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def test_login_with_totp_shows_chinese_workbench(live_server, page, django_db_setup):
    from fengqiao.regions import services

    # transaction=True flushes the spine between tests; load it again for this one.
    services.load_shipped_divisions()
    services.build_demo_structure()
    persona = make_persona("e2e_town", "town_operator", "command_room", "330681109")

    violations = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.goto(f"{live_server.url}/workbench/")
    assert "/login/" in page.url
    page.fill("input[name=username]", persona.user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/login/otp/**")
    page.fill("input[name=otp_token]", current_code(persona.device))
    page.click("button[type=submit]")
    page.wait_for_url("**/workbench/**")
    body = page.inner_text("body")
    assert "工作台" in body
    assert "枫桥镇综合信息指挥室" in body
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    # Bootstrap's stylesheet loaded (the navbar is styled) and nothing broke the CSP.
    assert page.eval_on_selector("nav.navbar", "el => getComputedStyle(el).display") == "flex"
    assert violations == []
