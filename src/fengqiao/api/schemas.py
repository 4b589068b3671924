"""Schema base classes shared by every API router."""

from __future__ import annotations

from ninja import Schema
from pydantic import ConfigDict


class StrictSchema(Schema):
    """Input schema that rejects fields it does not declare (SECURITY 8, 12)."""

    model_config = ConfigDict(extra="forbid")


class ErrorOut(Schema):
    code: str
    message: str
    errors: list[dict] | None = None
