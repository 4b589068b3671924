"""Helpers for driving the real login sequence in tests."""

from __future__ import annotations

import re

from django.test import Client
from django_otp.oath import totp

from fengqiao.accounts.models import TOTPAuthenticator
from personas import PASSWORD


def current_code(device: TOTPAuthenticator, offset_steps: int = 0) -> str:
    """The code the person's authenticator shows now (or ``offset_steps`` steps later)."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + offset_steps):0{device.digits}d}"


def code_for_key(key_hex: str) -> str:
    device = TOTPAuthenticator(key=key_hex)
    return current_code(device)


def password_step(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post("/login/", {"username": username, "password": password, **extra})


def full_login(client: Client, username: str, device: TOTPAuthenticator, password: str = PASSWORD):
    response = password_step(client, username, password)
    assert response.status_code == 302 and response.url == "/login/otp/", response
    return client.post("/login/otp/", {"otp_token": current_code(device)})


_CSRF = re.compile(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+')


def normalised(response, *replace: str) -> str:
    """A page's HTML without the per-response CSRF tokens (and with given strings blanked)."""
    text = _CSRF.sub(r"\1CSRF", response.content.decode())
    for value in replace:
        text = text.replace(value, "USERNAME")
    return text
