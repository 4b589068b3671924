"""Walks the URL resolver so security tests cover every route, including ones added later."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

_SAMPLE = {
    "int": "1",
    "uuid": str(uuid.UUID(int=1)),
    "slug": "sample",
    "path": "sample",
    "str": "330681109",
}


@dataclass(frozen=True)
class Route:
    url: str
    name: str  # "namespace:name" or the pattern when unnamed
    callback: object


# Named groups of re_path patterns, by group name.
_GROUP_SAMPLE = {
    "code": "330681109",
    "day": "2026-10-01",
    "case_code": "330681-20261128-00001",
    "attachment_id": "5f0c6c1e-8d43-4a8e-9d7e-2f1f3c0b9a11",
    "party_id": "5f0c6c1e-8d43-4a8e-9d7e-2f1f3c0b9a12",
    "token": "AbCdEfGhIjKlMnOpQrSt",
    "category_code": "dispute.neighbour",
    "policy_code": "standard",
}


def _fill(pattern: str) -> str:
    def sub(match: re.Match) -> str:
        converter = match.group(1) or "str"
        return _SAMPLE.get(converter, "1")

    def sub_group(match: re.Match) -> str:
        return _GROUP_SAMPLE.get(match.group(1), "1")

    # Regex groups first, so their <name> is not mistaken for a path converter.
    pattern = re.sub(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)", sub_group, pattern)
    filled = re.sub(r"<(?:(\w+):)?\w+>", sub, pattern)
    # Regex patterns (re_path, e.g. Django's static/i18n helpers): strip anchors.
    return filled.replace("^", "").replace("$", "")


def iter_routes() -> Iterator[Route]:
    def walk(patterns, prefix: str, namespace: str) -> Iterator[Route]:
        for entry in patterns:
            part = str(entry.pattern)
            if isinstance(entry, URLResolver):
                ns = namespace
                if entry.namespace:
                    ns = f"{namespace}{entry.namespace}:"
                yield from walk(entry.url_patterns, prefix + part, ns)
            elif isinstance(entry, URLPattern):
                name = f"{namespace}{entry.name}" if entry.name else prefix + part
                yield Route(url="/" + _fill(prefix + part), name=name, callback=entry.callback)

    yield from walk(get_resolver().url_patterns, "", "")
