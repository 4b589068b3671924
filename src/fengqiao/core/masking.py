"""Masked display of personal identifiers (SECURITY 8): what pages show without a reveal.

Each function takes either the full value (when the caller has it, e.g. right after entry) or
only the stored last four characters (``Party.id_number_tail`` / ``phone_tail``), so a list page
can mask without decrypting anything. The masked form keeps the length of the real identifier.
"""

from __future__ import annotations

ID_NUMBER_LENGTH = 18
PHONE_LENGTH = 11
MASK = "*"


def mask_id_number(value: str) -> str:
    """330602********1234 from a full ID number; **************1234 from its last four."""
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) >= 15:
        # The first six digits are the area of registration, as printed on official notices.
        return value[:6] + MASK * (len(value) - 10) + value[-4:]
    tail = value[-4:]
    return MASK * (ID_NUMBER_LENGTH - len(tail)) + tail


def mask_phone(value: str) -> str:
    """138****5678 from a full mobile number; *******5678 from its last four."""
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) >= 7:
        return value[:3] + MASK * (len(value) - 7) + value[-4:]
    tail = value[-4:]
    return MASK * (PHONE_LENGTH - len(tail)) + tail


def mask_name(value: str) -> str:
    """张三丰 → 张**: the family name and a star per remaining character."""
    value = (value or "").strip()
    if len(value) <= 1:
        return value
    return value[0] + MASK * (len(value) - 1)
