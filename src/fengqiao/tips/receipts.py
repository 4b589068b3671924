"""Tip receipts (回执码): 20 random digits and a Luhn check digit, shown once, never stored.

A receipt looks like ``4821-0937-5512-6604-2198-7``: 21 digits grouped 4-4-4-4-4-1. The 20 random
digits come from ``secrets`` (about 66 bits); the last digit is a **Luhn** check digit. Luhn was
chosen over ISO 7064 MOD 11-2 because its check is always a digit (MOD 11-2 needs an "X"), so a
receipt can be typed on a phone keypad and read aloud at a phone or walk-in intake; it catches
every single mistyped digit and every swap of two neighbours except 09 ↔ 90.

The server keeps only ``HMAC(pepper, receipt)`` (HMAC-SM3 by default, under a key derived from
``TIP_RECEIPT_PEPPER``), which finds the tip. ``lookup_digest`` gives equal work for every input:
a malformed or wrongly checked receipt is hashed in place of a fixed decoy, so the caller always
computes one HMAC and runs one query whatever was typed.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from fengqiao.core import crypto

RANDOM_DIGITS = 20
LENGTH = RANDOM_DIGITS + 1
GROUPS = (4, 4, 4, 4, 4, 1)
# Hashed instead of a receipt that cannot be one, so bad input costs the same as good input. No
# receipt hashes to the same value: receipts are 21 digits, the decoy is not.
_DECOY = "not-a-receipt"
_NOT_DIGIT = re.compile(r"\D")


def luhn_check_digit(digits: str) -> str:
    """The Luhn digit that makes ``digits + check`` pass the Luhn test."""
    total = 0
    # Rightmost digit of the payload is doubled, as the check digit will sit to its right.
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def is_well_formed(canonical: str) -> bool:
    """21 ASCII digits whose last one is the Luhn check digit of the first 20."""
    return (
        len(canonical) == LENGTH
        and canonical.isascii()
        and canonical.isdigit()
        and luhn_check_digit(canonical[:-1]) == canonical[-1]
    )


def new_receipt() -> str:
    """A fresh receipt, canonical (21 digits, no separators)."""
    body = "".join(secrets.choice("0123456789") for _ in range(RANDOM_DIGITS))
    return body + luhn_check_digit(body)


def canonical(text: str) -> str:
    """What the person typed, reduced to its digits (full-width digits, spaces, dashes allowed)."""
    return _NOT_DIGIT.sub("", unicodedata.normalize("NFKC", text or ""))


def display(receipt: str) -> str:
    """``482109375512660421987`` → ``4821-0937-5512-6604-2198-7``."""
    digits = canonical(receipt)
    parts, start = [], 0
    for size in GROUPS:
        parts.append(digits[start : start + size])
        start += size
    return "-".join(parts)


def _pepper_key() -> bytes:
    provider = crypto.provider()
    info = f"fengqiao/tip-receipt/{provider.alg}".encode()
    pepper = settings.TIP_RECEIPT_PEPPER.encode("utf-8")
    return HKDF(_hash(provider.alg), 32, salt=None, info=info).derive(pepper)


def _hash(alg: str) -> hashes.HashAlgorithm:
    return crypto.hash_for(alg)


def digest(receipt_canonical: str) -> str:
    """Hex HMAC of a canonical receipt: what ``Tip.receipt_hmac`` stores."""
    return crypto.provider().mac(_pepper_key(), receipt_canonical.encode("ascii")).hex()


def lookup_digest(text: str) -> tuple[str, bool]:
    """``(digest, well_formed)`` for typed input, with the same work for good and bad input."""
    candidate = canonical(text)
    well_formed = is_well_formed(candidate)
    return digest(candidate if well_formed else _DECOY), well_formed
