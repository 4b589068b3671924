"""System checks that turn unsafe configuration into start-up errors."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

# Cybersecurity Law art. 21 and SECURITY.md 23: network logs are kept at least six months.
MIN_AUDIT_RETENTION_DAYS = 184


@register()
def audit_retention_check(app_configs, **kwargs) -> list[Error]:
    days = getattr(settings, "AUDIT_RETENTION_DAYS", 0)
    if days < MIN_AUDIT_RETENTION_DAYS:
        return [
            Error(
                f"AUDIT_RETENTION_DAYS is {days}; the law requires at least "
                f"{MIN_AUDIT_RETENTION_DAYS} days.",
                id="fengqiao.E001",
            )
        ]
    return []


@register()
def crypto_choice_check(app_configs, **kwargs) -> list[Error]:
    if settings.FENGQIAO_CRYPTO not in {"sm", "aes"}:
        return [Error("FENGQIAO_CRYPTO must be 'sm' or 'aes'.", id="fengqiao.E002")]
    return []
