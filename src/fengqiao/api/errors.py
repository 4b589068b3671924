"""Stable error codes and Chinese messages for the JSON API.

Every error the API returns is ``{"code": "...", "message": "...", "errors": [...]?}``: the code
is for programs and never changes; the message is for people, in Chinese.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from fengqiao.core import idempotency


@dataclass
class ApiError(Exception):
    """Raised by endpoints (after a service refused) to answer with a stable code."""

    code: str
    message: str
    status: int = 400
    errors: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def idempotency_errors() -> Iterator[None]:
    """The two refusals of an ``Idempotency-Key``, answered alike by every create endpoint."""
    try:
        yield
    except idempotency.InvalidIdempotencyKey as exc:
        raise ApiError(
            code="invalid_idempotency_key",
            message=_("The Idempotency-Key header must be 1 to 200 characters."),
            status=422,
        ) from exc
    except idempotency.IdempotencyConflict as exc:
        raise ApiError(
            code="idempotency_conflict",
            message=_("This Idempotency-Key was already used with a different request body."),
            status=422,
        ) from exc


MESSAGES = {
    "bad_request": "请求有误",
    "validation_error": "请求数据有误",
    "unauthenticated": "未登录或凭证无效",
    "forbidden": "无权执行此操作",
    "not_found": "未找到",
    "method_not_allowed": "不支持的请求方法",
    "rate_limited": "请求过于频繁，请稍后再试",
    "server_error": "服务器内部错误",
}
