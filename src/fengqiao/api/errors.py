"""Stable error codes and Chinese messages for the JSON API.

Every error the API returns is ``{"code": "...", "message": "...", "errors": [...]?}``: the code
is for programs and never changes; the message is for people, in Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ApiError(Exception):
    """Raised by endpoints (after a service refused) to answer with a stable code."""

    code: str
    message: str
    status: int = 400
    errors: list[dict[str, Any]] = field(default_factory=list)


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
