"""Rate limits for anonymous intake, receipt lookups and other unauthenticated work (SECURITY 16).

A fixed-window counter in the shared cache (the file cache on one machine, Redis at scale)::

    from fengqiao.core import ratelimit

    SUBMIT = ratelimit.Limit.parse("tips.submit", settings.TIPS_SUBMIT_RATE)   # "30/m"
    ratelimit.hit(SUBMIT)                       # one global bucket for the route
    ratelimit.hit(LOOKUP_PER_RECEIPT, key=hmac)  # one bucket per (non-identifying) key

``hit`` raises ``RateLimited`` when the bucket is full **and when the cache cannot be asked**:
the limits fail closed, so a broken cache refuses intake rather than letting a flood through.

What the key is, is the caller's decision, and the reason this module takes any string: the
anonymous tip line must not key anything on the client's address (SECURITY 19), so its routes use
one global bucket per route plus, for lookups, a bucket per receipt HMAC; a citizen case form may
choose differently. Keys never reach the cache as given: they are HMAC'd with the secret key first,
so an address passed in by another caller is not readable in the cache either.

The windows are fixed (aligned to multiples of the period), so a burst of up to twice the rate
can straddle a boundary; on the file cache the increment is a read and a write, so concurrent
workers may let a few extra requests through. Both are acceptable for flood control, which is
what these limits are for (enumerating 21-digit receipts is already hopeless).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.crypto import salted_hmac

logger = logging.getLogger(__name__)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
CACHE_PREFIX = "fengqiao:rl"


class RateLimited(Exception):
    """The request must be refused: the bucket is full, or the limiter could not be consulted."""

    def __init__(self, limit: Limit, *, retry_after: int, unavailable: bool = False) -> None:
        super().__init__(limit.name)
        self.limit = limit
        self.retry_after = max(1, retry_after)
        self.unavailable = unavailable


@dataclass(frozen=True)
class Limit:
    """At most ``count`` hits per ``period`` seconds in each bucket of the limit ``name``."""

    name: str
    count: int
    period: int

    def __post_init__(self) -> None:
        if self.count < 0 or self.period < 1:
            raise ValueError("a rate limit needs count >= 0 and a period of at least 1 second")

    @classmethod
    def parse(cls, name: str, rate: str) -> Limit:
        """``"30/m"``, ``"600/h"``, ``"5/10m"`` (five per ten minutes), ``"100/d"``."""
        match = _RATE.match(rate or "")
        if match is None:
            raise ValueError(f"rate limit {name!r}: {rate!r} is not like '30/m' or '5/10m'")
        count, multiple, unit = match.groups()
        return cls(name=name, count=int(count), period=int(multiple or 1) * _UNITS[unit])


def _bucket_key(limit: Limit, key: str, window: int) -> str:
    digest = salted_hmac("fengqiao.ratelimit", f"{limit.name}\x1f{key}").hexdigest()[:32]
    return f"{CACHE_PREFIX}:{limit.name}:{digest}:{window}"


def hit(limit: Limit, *, key: str = "global", now: float | None = None) -> int:
    """Count one request in ``limit``'s bucket ``key``; return the count so far in this window.

    Raises ``RateLimited`` when the count passes ``limit.count`` or when the cache fails.
    """
    moment = time.time() if now is None else now
    window = int(moment // limit.period)
    retry_after = int((window + 1) * limit.period - moment) + 1
    cache_key = _bucket_key(limit, key, window)
    try:
        # add() is a no-op when the window's counter exists; the timeout outlives the window.
        cache.add(cache_key, 0, timeout=limit.period + 5)
        count = cache.incr(cache_key)
    except Exception as exc:
        # Fail closed: without a counter there is no limit, so there is no answer either.
        logger.error("rate limiter unavailable for %s: %s", limit.name, type(exc).__name__)
        raise RateLimited(limit, retry_after=5, unavailable=True) from exc
    if count > limit.count:
        raise RateLimited(limit, retry_after=retry_after)
    return count


def refused_response(exc: RateLimited) -> HttpResponse:
    """The structured 429 every refusal answers with (HTML forms and the API alike)."""
    response = JsonResponse(
        {"code": "rate_limited", "message": "请求过于频繁，请稍后再试"},
        status=429,
        json_dumps_params={"ensure_ascii": False},
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


def limit_view(
    limit: Limit,
    *,
    key: Callable[[HttpRequest], str] | None = None,
    methods: tuple[str, ...] = ("POST",),
    refused: Callable[[HttpRequest, RateLimited], HttpResponse] | None = None,
) -> Callable:
    """Decorate a Django view: requests with one of ``methods`` count against ``limit``.

    ``key`` maps the request to its bucket (default: one global bucket). ``refused`` renders the
    refusal (default: the JSON 429 of ``refused_response``); an HTML form can render a page.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method in methods:
                try:
                    hit(limit, key=key(request) if key is not None else "global")
                except RateLimited as exc:
                    if refused is not None:
                        return refused(request, exc)
                    return refused_response(exc)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
