"""core.ratelimit: fixed windows in the cache, keys never stored as given, failing closed."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import RequestFactory

from fengqiao.core import ratelimit

LIMIT = ratelimit.Limit(name="test.route", count=3, period=60)


@pytest.mark.parametrize(
    ("rate", "count", "period"),
    [
        ("30/m", 30, 60),
        ("5/10m", 5, 600),
        ("100/d", 100, 86400),
        (" 7 / s ", 7, 1),
        ("0/h", 0, 3600),
    ],
)
def test_rates_parse(rate, count, period):
    limit = ratelimit.Limit.parse("x", rate)
    assert (limit.count, limit.period) == (count, period)


@pytest.mark.parametrize("rate", ["", "30", "30/minute", "-1/m", "a/m"])
def test_bad_rates_are_refused(rate):
    with pytest.raises(ValueError):
        ratelimit.Limit.parse("x", rate)


def test_a_bucket_fills_and_the_next_window_starts_empty():
    now = 1_000_040.0  # 40 s before a window boundary (1_000_080 is a multiple of 60)
    for expected in (1, 2, 3):
        assert ratelimit.hit(LIMIT, key="k", now=now) == expected
    with pytest.raises(ratelimit.RateLimited) as caught:
        ratelimit.hit(LIMIT, key="k", now=now)
    assert not caught.value.unavailable and 1 <= caught.value.retry_after <= 41
    assert ratelimit.hit(LIMIT, key="other", now=now) == 1  # buckets are separate
    assert ratelimit.hit(LIMIT, key="k", now=now + 60) == 1


def test_keys_reach_the_cache_only_as_an_hmac():
    ratelimit.hit(LIMIT, key="203.0.113.7", now=2_000_000.0)
    cache_key = ratelimit._bucket_key(LIMIT, "203.0.113.7", int(2_000_000.0 // 60))
    assert "203.0.113.7" not in cache_key and cache.get(cache_key) == 1


def test_a_failing_cache_refuses_instead_of_allowing():
    with (
        mock.patch.object(cache, "add", side_effect=OSError("disk full")),
        pytest.raises(ratelimit.RateLimited) as caught,
    ):
        ratelimit.hit(LIMIT)
    assert caught.value.unavailable


def test_the_view_decorator_answers_429_with_retry_after():
    limit = ratelimit.Limit(name="test.view", count=1, period=60)

    @ratelimit.limit_view(limit)
    def view(request):
        return HttpResponse("ok")

    factory = RequestFactory()
    assert view(factory.get("/")).status_code == 200  # GET does not count by default
    assert view(factory.post("/")).status_code == 200
    refused = view(factory.post("/"))
    assert refused.status_code == 429 and refused["Retry-After"]
    assert json.loads(refused.content)["code"] == "rate_limited"
