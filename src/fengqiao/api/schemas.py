"""Schema base classes shared by every API router."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from ninja import Header, Schema
from pydantic import BeforeValidator, ConfigDict, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from fengqiao.core.idempotency import MAX_KEY_LENGTH

# No list is this long: an offset beyond it is past the end, and a larger number would overflow
# the database's integers (SQLite's are 64-bit) into a server error instead of an empty page.
MAX_OFFSET = 2**31 - 1


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    return False


def _refuse_nul(value: Any) -> Any:
    # PostgreSQL refuses U+0000 in text outright: it reached a query as a 500. No client has a
    # reason to send it, so the API refuses it as invalid input, on both databases alike.
    if _has_nul(value):
        raise PydanticCustomError("nul_character", "Text may not contain the NUL character")
    return value


# Published on every free-text input, so clients (and schemathesis) know the rule above.
NO_NUL = r"^[^\x00]*$"

# Free text a query parameter carries to the database (bodies are StrictSchema, checked whole).
Text = Annotated[str, StringConstraints(pattern=NO_NUL)]


def _publish_no_nul(node: dict[str, Any]) -> None:
    """Add NO_NUL to every free-text string in a JSON schema (patterns, formats and enums are
    narrower already)."""
    if node.get("type") == "string" and not {"pattern", "format", "enum", "const"} & set(node):
        node["pattern"] = NO_NUL
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in node.get(key, ()):
            _publish_no_nul(branch)
    if isinstance(node.get("items"), dict):
        _publish_no_nul(node["items"])


def _no_nul_schema(schema: dict[str, Any], model: type) -> None:
    for node in schema.get("properties", {}).values():
        _publish_no_nul(node)


class StrictSchema(Schema):
    """Input schema that rejects fields it does not declare (SECURITY 8, 12), and the NUL
    character in any text of any field."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_no_nul_schema)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return _refuse_nul(value)


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: Any) -> Any:
    # pydantic also reads a number, or a string of digits, as Unix time ("0" is 1970-01-01); the
    # schema promises an ISO 8601 text, and anything else is refused rather than guessed at.
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DAY.fullmatch(value)):
        return value
    raise PydanticCustomError("date_format", "Input should be a date as YYYY-MM-DD")


def _iso_moment(value: Any) -> Any:
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DAY.match(value)):
        return value
    raise PydanticCustomError("datetime_format", "Input should be an ISO 8601 date and time")


# Input dates and times: ISO 8601 text only (see _iso_day).
IsoDate = Annotated[date, BeforeValidator(_iso_day)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_moment)]


class ErrorOut(Schema):
    code: str
    message: str
    errors: list[dict] | None = None


def idempotency_key_header(*, min_length: int = 1) -> Any:
    """The optional ``Idempotency-Key`` header, its rules published in the schema.

    The endpoints check the key themselves (422 ``invalid_idempotency_key``, a stable code), so
    the rules are documented here rather than enforced a second time with another code. Annotate
    the parameter ``str`` (it is None when absent): ``str | None`` would publish null as a value,
    which a client can only send as the text "null".
    """
    header = Header(
        None,
        alias="Idempotency-Key",
        description="Replays answer the first result; reuse with another body is a 422",
    )
    # ninja's Header() fills json_schema_extra itself, so the rules are added to it afterwards.
    header.json_schema_extra.update(
        minLength=min_length,
        maxLength=MAX_KEY_LENGTH,
        # Surrounding blanks are stripped before the length is checked.
        pattern=r"^\S(.*\S)?$",
    )
    return header
