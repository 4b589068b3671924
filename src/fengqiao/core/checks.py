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


@register()
def field_keys_check(app_configs, **kwargs) -> list[Error]:
    """FIELD_KEYS, FIELD_KEY_ID and BLIND_INDEX_KEY must form a usable key ring at start-up."""
    from fengqiao.core.crypto import KeyConfigurationError, SoftwareProvider

    try:
        SoftwareProvider(
            suite=settings.FENGQIAO_CRYPTO,
            field_keys=settings.FIELD_KEYS,
            active_key_id=settings.FIELD_KEY_ID,
            blind_index_key=settings.BLIND_INDEX_KEY,
        )
    except KeyConfigurationError as exc:
        return [Error(f"Field encryption keys are misconfigured: {exc}", id="fengqiao.E003")]
    return []
