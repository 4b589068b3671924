"""The tip line's configurable numbers: legal clocks and rate limits (DOMAIN §5 defaults).

Each is a setting (environment-driven in ``settings.py``) with the default below, so a deployment
whose rules differ changes configuration, not code.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings

from fengqiao.core import ratelimit, workdays

# Verification within 30 natural days of intake (DOMAIN §5).
VERIFY_NATURAL_DAYS = 30
# Reports sent up or down are forwarded within 5 working days; transfers between 纪委监委 and
# 公安 take 3–5 working days: the receiving unit takes a tip up within this many (DOMAIN §5).
FORWARD_WORKING_DAYS = 5
# A yellow card when a clock runs out; red when it is still running this many working days later.
RED_AFTER_WORKING_DAYS = 5
# How long an approved identity request lets the requester look.
REVEAL_HOURS = 24


def verify_natural_days() -> int:
    return int(getattr(settings, "TIPS_VERIFY_NATURAL_DAYS", VERIFY_NATURAL_DAYS))


def forward_working_days() -> int:
    return int(getattr(settings, "TIPS_FORWARD_WORKING_DAYS", FORWARD_WORKING_DAYS))


def red_after_working_days() -> int:
    return int(getattr(settings, "TIPS_RED_AFTER_WORKING_DAYS", RED_AFTER_WORKING_DAYS))


def verify_by(received_on: date) -> date:
    return received_on + timedelta(days=verify_natural_days())


def forward_by(start: date) -> date:
    return workdays.add_working_days(start, forward_working_days())


def red_card_after(deadline: date) -> date:
    """The last day a clock that ran out on ``deadline`` stays at a yellow card."""
    return workdays.add_working_days(deadline, red_after_working_days())


# Anonymous routes key nothing on the client (SECURITY 19): one global bucket per route, and for
# receipt lookups also one bucket per receipt HMAC, so hammering one receipt is cut off early.
def submit_limit() -> ratelimit.Limit:
    return ratelimit.Limit.parse("tips.submit", getattr(settings, "TIPS_SUBMIT_RATE", "30/m"))


def lookup_limit() -> ratelimit.Limit:
    return ratelimit.Limit.parse("tips.lookup", getattr(settings, "TIPS_LOOKUP_RATE", "120/m"))


def lookup_per_receipt_limit() -> ratelimit.Limit:
    return ratelimit.Limit.parse(
        "tips.lookup.receipt", getattr(settings, "TIPS_LOOKUP_PER_RECEIPT_RATE", "20/10m")
    )
