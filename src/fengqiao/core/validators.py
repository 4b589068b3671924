"""Validators for personal identifiers: resident ID numbers (GB 11643-1999) and phone numbers.

They check shape only: a valid ID number is one whose check digit and birth date agree, not one
that belongs to anybody. Both accept the forms people type (full-width digits, spaces, dashes,
+86) through the same normalisation the blind indexes use, so what validates also matches.
"""

from __future__ import annotations

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from fengqiao.core.crypto import normalise

# GB 11643-1999: weights 2^(17-i) mod 11 for the first 17 digits; check = CHECK_CHARS[sum % 11].
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
# Mainland mobiles (11 digits, 13x–19x) and landlines with an area code (0 + 2–3 digits, 7–8).
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")


def id_number_check_char(first17: str) -> str:
    """The check character (0–9 or X) that GB 11643 assigns to 17 leading digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def normalise_id_number(value: str) -> str:
    return normalise(value, "id_number")


def normalise_phone(value: str) -> str:
    return normalise(value, "phone")


def is_valid_id_number(value: str) -> bool:
    number = normalise_id_number(value)
    if not _ID_SHAPE.match(number):
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > date.today():
        return False
    return id_number_check_char(number[:17]) == number[17]


def validate_id_number(value: str) -> None:
    """Raise ValidationError unless ``value`` is an 18-character resident ID number."""
    if not is_valid_id_number(value):
        raise ValidationError(
            _(
                "Enter a valid 18-character resident ID number (the last character is a check digit)."
            ),
            code="invalid_id_number",
        )


def is_valid_phone(value: str) -> bool:
    number = normalise_phone(value)
    return bool(_MOBILE.match(number) or _LANDLINE.match(number))


def validate_phone(value: str) -> None:
    """Raise ValidationError unless ``value`` is a mainland mobile or a landline with area code."""
    if not is_valid_phone(value):
        raise ValidationError(
            _("Enter a valid phone number: an 11-digit mobile or a landline with its area code."),
            code="invalid_phone",
        )
