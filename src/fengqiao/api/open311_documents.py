"""Open311 GeoReport v2 documents: the same data written as XML or JSON, and the error document.

Responses are plain data (lists of dicts, nested lists for endpoints, formats, attributes and
values); ``render`` writes them in the format the URL asked for. XML goes through ElementTree, so
text is escaped; characters XML 1.0 cannot carry are dropped so the document stays well-formed
whatever a reporter typed.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from django.http import HttpResponse

FORMATS = ("xml", "json")
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
# Container element → element of each item (GeoReport v2 names).
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
}
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _append(parent: ET.Element, name: str, value: Any) -> None:
    element = ET.SubElement(parent, name)
    if isinstance(value, Mapping):
        for key, child in value.items():
            _append(element, key, child)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        item_name = ITEM_NAMES[name]
        for item in value:
            _append(element, item_name, item)
    else:
        element.text = _text(value)


def to_xml(root: str, data: Any) -> bytes:
    """``data`` under a root element: a list becomes repeated items, a dict child elements."""
    element = ET.Element(root)
    if isinstance(data, Mapping):
        for key, value in data.items():
            _append(element, key, value)
    else:
        for item in data:
            _append(element, ITEM_NAMES[root], item)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="utf-8")


def render(fmt: str, root: str, data: Any, *, status: int = 200) -> HttpResponse:
    """The response for ``data`` in ``fmt``; ``root`` names the XML root element."""
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    else:
        body = to_xml(root, data)
    return HttpResponse(
        body, status=status, content_type=CONTENT_TYPES.get(fmt, CONTENT_TYPES["xml"])
    )


def error(fmt: str, status: int, description: str) -> HttpResponse:
    """The spec's error document: ``<errors><error><code>…`` or ``[{"code": …}]``."""
    return render(fmt, "errors", [{"code": status, "description": str(description)}], status=status)


def format_of(path: str) -> str:
    """The format a path asks for by its extension; XML (the spec's default) otherwise."""
    return "json" if path.rstrip("/").endswith(".json") else "xml"
