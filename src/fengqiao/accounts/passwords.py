"""Password rules: ASVS length limits always, 等保-style composition only when a deployment asks.

ASVS 6.2 asks for 12–128 characters, paste allowed and no composition rules; GB/T 22239 assessors
often ask for three of four character classes, so ``ComplexityValidator`` is added to
AUTH_PASSWORD_VALIDATORS only when settings.PASSWORD_COMPLEXITY is on.
"""

from __future__ import annotations

import string

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

MIN_LENGTH = 12
MAX_LENGTH = 128


class LengthValidator:
    """At least ``min_length`` and at most ``max_length`` characters (Unicode code points)."""

    def __init__(self, min_length: int = MIN_LENGTH, max_length: int = MAX_LENGTH) -> None:
        self.min_length = min_length
        self.max_length = max_length

    def validate(self, password: str, user=None) -> None:
        if len(password) < self.min_length:
            raise ValidationError(
                ngettext(
                    "This password is too short. It must contain at least %(min)d character.",
                    "This password is too short. It must contain at least %(min)d characters.",
                    self.min_length,
                ),
                code="password_too_short",
                params={"min": self.min_length},
            )
        if len(password) > self.max_length:
            raise ValidationError(
                ngettext(
                    "This password is too long. It may contain at most %(max)d character.",
                    "This password is too long. It may contain at most %(max)d characters.",
                    self.max_length,
                ),
                code="password_too_long",
                params={"max": self.max_length},
            )

    def get_help_text(self) -> str:
        return _("Your password must be %(min)d to %(max)d characters long.") % {
            "min": self.min_length,
            "max": self.max_length,
        }


def character_classes(password: str) -> set[str]:
    """Which of the four classes (lower, upper, digit, other) a password uses."""
    classes = set()
    for char in password:
        if char in string.ascii_lowercase:
            classes.add("lower")
        elif char in string.ascii_uppercase:
            classes.add("upper")
        elif char in string.digits:
            classes.add("digit")
        else:
            classes.add("other")
    return classes


class ComplexityValidator:
    """At least ``min_classes`` of: lower-case, upper-case, digits, other characters."""

    def __init__(self, min_classes: int = 3) -> None:
        self.min_classes = min_classes

    def validate(self, password: str, user=None) -> None:
        if len(character_classes(password)) < self.min_classes:
            raise ValidationError(
                _(
                    "This password must use at least %(count)d of: lower-case letters, "
                    "upper-case letters, digits and other characters."
                ),
                code="password_too_simple",
                params={"count": self.min_classes},
            )

    def get_help_text(self) -> str:
        return _(
            "Your password must use at least %(count)d of: lower-case letters, upper-case "
            "letters, digits and other characters."
        ) % {"count": self.min_classes}
