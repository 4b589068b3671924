"""Open311 GeoReport v2 at /open311/v2/: discovery, services, service definitions, requests, tokens.

Decisions where the spec leaves room (documented for clients in the discovery ``contact``):

- Every service has ``metadata`` true and a definition with a few optional attributes that map to
  intake fields (urgency, people involved, and for disputes whether it may turn violent). Posted
  as ``attribute[code]=value``.
- ``address_id`` is a region code from the national statistical codes (e.g. 330681109290 for
  枫源村): an explicit pick in the region tree. ``address_string`` is the place text.
- A request is created synchronously, so the POST answers with ``service_request_id`` (the case
  code) and also a ``token`` (the case's public id) that ``tokens/{token}`` resolves.
- Reads are anonymous and public by the spec, so they carry no personal data: no description
  (free text may name people), no place text, the point rounded to 3 decimals (~100 m), the
  region's name as the address, status notes as the status label only. Only kinds that concern
  the public space (hazards, livelihood, other) and requests that came in through Open311 itself
  are listed; disputes, petitions and public-security cases reported elsewhere are not.
- Every answer, including unknown paths, wrong methods and server errors, is a GeoReport error
  document in the requested format (XML unless the path ends in .json), never an HTML page.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import wraps
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from fengqiao.api import open311_documents as documents
from fengqiao.api import services as key_services
from fengqiao.cases.models import (
    DONE_STATUSES,
    Case,
    CaseKind,
    Category,
    Channel,
    PartyRole,
    Status,
    Urgency,
)
from fengqiao.core import idempotency
from fengqiao.core.access import public
from fengqiao.core.validators import is_valid_phone

logger = logging.getLogger(__name__)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this implementation of the interface last changed (discovery's changeset).
CHANGESET = "2026-01-15T00:00:00+08:00"
WINDOW = timedelta(days=90)
PAGE_SIZE, MAX_PAGE_SIZE = 50, 100
MAX_PAGES = 1_000_000
MAX_IDS = 100
# Kinds whose requests concern the public space and may be listed to anyone (see module doc).
PUBLIC_KINDS = (CaseKind.HAZARD, CaseKind.LIVELIHOOD, CaseKind.OTHER)
CLOSED_STATUSES = (*DONE_STATUSES, Status.REJECTED)
POINT_PLACES = Decimal("0.001")
TITLE_LENGTH = 40


class Open311Error(Exception):
    """Answer with the spec's error document: 400 bad input, 403 key, 404 not found."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = str(description)


def _carries_nul(request: HttpRequest) -> bool:
    """Whether the path or a parameter holds U+0000, which PostgreSQL refuses in any text (a
    database error when it reached a query) and no client has a reason to send."""
    params = [*request.GET.lists(), *(request.POST.lists() if request.method == "POST" else ())]
    texts = [request.path, *(text for name, values in params for text in (name, *values))]
    return any("\x00" in text for text in texts)


def endpoint(*methods: str) -> Callable:
    """Public (anonymous by the spec), CSRF-exempt (key-authenticated, no cookies), and every
    failure written as an error document in the requested format."""
    allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, fmt: str | None = None, **kwargs: Any):
            fmt = fmt or documents.format_of(request.path)
            if request.method not in allowed:
                response = documents.error(fmt, 405, _("Method not allowed."))
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            try:
                if _carries_nul(request):
                    raise Open311Error(400, _("The request may not contain the NUL character."))
                return view(request, *args, fmt=fmt, **kwargs)
            except Open311Error as exc:
                return documents.error(fmt, exc.status, exc.description)
            except (OperationalError, InterfaceError, DatabaseError) as exc:
                logger.error("open311: database unavailable: %s", type(exc).__name__)
                response = documents.error(
                    fmt, 503, _("The service is temporarily unavailable; try again later.")
                )
                response["Retry-After"] = "5"
                return response
            except Exception:
                logger.exception("open311: unexpected error")
                return documents.error(fmt, 500, _("Internal server error."))

        return public(csrf_exempt(wrapped))

    return decorator


# --- discovery and services ---------------------------------------------------------------------


@endpoint("GET")
def discovery(request: HttpRequest, *, fmt: str) -> HttpResponse:
    return documents.render(
        fmt,
        "discovery",
        {
            "changeset": CHANGESET,
            "contact": _(
                "Contact the command room of your town or the social "
                "governance centre. Requests list only hazards, livelihood and other public-space "
                "matters and those posted through this interface, without personal data."
            ),
            "key_service": _(
                "Keys are issued by town command rooms and governance centres on the platform's "
                "Open311 keys page."
            ),
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": request.build_absolute_uri("/open311/v2"),
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
    )


def _services() -> list[Category]:
    return list(
        Category.objects.reportable().select_related("parent").order_by("taxonomy", "sort_order")
    )


def _service(category: Category) -> dict[str, Any]:
    keywords = [
        name for name in (category.parent and category.parent.name, category.name_en) if name
    ]
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": f"{category.get_kind_display()} · {category.get_taxonomy_display()}",
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join(keywords),
        "group": str(category.get_kind_display()),
    }


@endpoint("GET")
def service_list(request: HttpRequest, *, fmt: str) -> HttpResponse:
    return documents.render(fmt, "services", [_service(category) for category in _services()])


def _attributes(category: Category) -> list[dict[str, Any]]:
    """The optional attributes of a service; each maps to one intake field."""
    attributes: list[dict[str, Any]] = [
        {
            "variable": True,
            "code": "urgency",
            "datatype": "singlevaluelist",
            "required": False,
            "datatype_description": "",
            "order": 1,
            "description": _("How urgent is it?"),
            "values": [
                {"key": Urgency.NORMAL.value, "name": str(Urgency.NORMAL.label)},
                {"key": Urgency.URGENT.value, "name": str(Urgency.URGENT.label)},
            ],
        },
        {
            "variable": True,
            "code": "people_count",
            "datatype": "number",
            "required": False,
            "datatype_description": _("A whole number from 1 to 100000."),
            "order": 2,
            "description": _("How many people are involved?"),
        },
    ]
    if category.kind == CaseKind.DISPUTE:
        attributes.append(
            {
                "variable": True,
                "code": "may_turn_violent",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "",
                "order": 3,
                "description": _("Could the dispute turn violent?"),
                "values": [
                    {"key": "true", "name": _("Yes")},
                    {"key": "false", "name": _("No")},
                ],
            }
        )
    return attributes


def _category(code: str) -> Category | None:
    return Category.objects.reportable().filter(code=code).first()


@endpoint("GET")
def service_definition(request: HttpRequest, service_code: str, *, fmt: str) -> HttpResponse:
    category = _category(service_code)
    if category is None:
        raise Open311Error(404, _("service_code %(code)s was not found.") % {"code": service_code})
    return documents.render(
        fmt,
        "service_definition",
        {"service_code": category.code, "attributes": _attributes(category)},
    )


# --- reading requests ---------------------------------------------------------------------------


def _w3c(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _rounded(value: Decimal | None) -> str | None:
    return str(value.quantize(POINT_PLACES, rounding=ROUND_HALF_UP)) if value is not None else None


def public_requests():
    """Cases anyone may read through Open311 (see the module doc).

    ``unscoped_all``: the public interface serves no person, so no membership scope applies;
    what it may show is limited by kind and channel here and by fields in ``_request``.
    """
    return (
        Case.objects.unscoped_all()
        .filter(Q(kind__in=PUBLIC_KINDS) | Q(channel=Channel.OPEN311))
        .exclude(status=Status.DRAFT)
        .select_related("category", "owner_unit", "handler_unit", "region")
    )


def _request(case: Case) -> dict[str, Any]:
    is_open = case.status not in CLOSED_STATUSES
    unit = case.handler_unit or case.owner_unit
    return {
        "service_request_id": case.code,
        "status": "open" if is_open else "closed",
        "status_notes": str(case.get_status_display()),
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": "",
        "agency_responsible": unit.name if unit else "",
        "service_notice": "",
        "requested_datetime": _w3c(case.reported_at),
        "updated_datetime": _w3c(case.updated_at),
        "expected_datetime": _w3c(case.handle_due_at) if is_open else None,
        "address": case.region.full_name or case.region.name,
        "address_id": case.region_code,
        "zipcode": "",
        "lat": _rounded(case.latitude),
        "long": _rounded(case.longitude),
        "media_url": "",
    }


def _parse_when(name: str, raw: str, *, end: bool = False) -> datetime:
    """A W3C / ISO 8601 date-time; a bare date means the start (or end) of that local day."""
    value = raw.strip().replace(" ", "+")  # a "+08:00" offset arrives as " 08:00" when unescaped
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            if day is not None:
                parsed = datetime.combine(day, time.max if end else time.min)
    except ValueError:
        parsed = None
    if parsed is None:
        raise Open311Error(400, _("%(name)s is not an ISO 8601 date and time.") % {"name": name})
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _window(params) -> tuple[datetime, datetime]:
    start_raw, end_raw = params.get("start_date", ""), params.get("end_date", "")
    start = _parse_when("start_date", start_raw) if start_raw.strip() else None
    end = _parse_when("end_date", end_raw, end=True) if end_raw.strip() else None
    if start is None and end is None:
        end = timezone.now()
    if start is None:
        start = end - WINDOW
    if end is None:
        end = start + WINDOW
    if start > end:
        raise Open311Error(400, _("start_date must not be after end_date."))
    if end - start > WINDOW:
        raise Open311Error(400, _("The date range may be at most 90 days."))
    return start, end


def _page(params) -> tuple[int, int]:
    try:
        page = int(params.get("page", "1") or "1")
        size = int(params.get("page_size", str(PAGE_SIZE)) or PAGE_SIZE)
    except ValueError as exc:
        raise Open311Error(400, _("page and page_size must be whole numbers.")) from exc
    # Bounded so the offset stays within the database's integers (a huge page was a 503).
    if not 1 <= page <= MAX_PAGES:
        raise Open311Error(400, _("page must be between 1 and %(max)d.") % {"max": MAX_PAGES})
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise Open311Error(
            400, _("page_size must be between 1 and %(max)d.") % {"max": MAX_PAGE_SIZE}
        )
    return page, size


def _list_requests(request: HttpRequest, fmt: str) -> HttpResponse:
    params = request.GET
    cases = public_requests()
    ids = [code.strip() for code in params.get("service_request_id", "").split(",") if code.strip()]
    page, size = _page(params)
    if ids:
        # The spec: a list of ids overrides every other argument.
        if len(ids) > MAX_IDS:
            raise Open311Error(
                400, _("Ask for at most %(max)d service_request_id values.") % {"max": MAX_IDS}
            )
        cases = cases.filter(code__in=ids)
    else:
        start, end = _window(params)
        cases = cases.filter(reported_at__gte=start, reported_at__lte=end)
        if service_codes := [c for c in params.get("service_code", "").split(",") if c.strip()]:
            cases = cases.filter(category__code__in=[c.strip() for c in service_codes])
        status = params.get("status", "").strip()
        if status:
            wanted = {part.strip() for part in status.split(",")}
            if not wanted <= {"open", "closed"}:
                raise Open311Error(400, _("status must be open or closed."))
            if wanted == {"open"}:
                cases = cases.exclude(status__in=CLOSED_STATUSES)
            elif wanted == {"closed"}:
                cases = cases.filter(status__in=CLOSED_STATUSES)
    rows = cases.order_by("-reported_at", "-id")[(page - 1) * size : page * size]
    return documents.render(fmt, "service_requests", [_request(case) for case in rows])


@endpoint("GET", "POST")
def requests_view(request: HttpRequest, *, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create_request(request, fmt)
    return _list_requests(request, fmt)


@endpoint("GET")
def request_detail(request: HttpRequest, service_request_id: str, *, fmt: str) -> HttpResponse:
    case = public_requests().filter(code=service_request_id).first()
    if case is None:
        raise Open311Error(
            404, _("service_request_id %(id)s was not found.") % {"id": service_request_id}
        )
    return documents.render(fmt, "service_requests", [_request(case)])


@endpoint("GET")
def token_detail(request: HttpRequest, token: str, *, fmt: str) -> HttpResponse:
    try:
        public_id = uuid.UUID(token)
    except ValueError:
        public_id = None
    case = public_requests().filter(public_id=public_id).first() if public_id else None
    if case is None:
        raise Open311Error(404, _("token %(token)s was not found.") % {"token": token})
    return documents.render(
        fmt,
        "service_requests",
        [{"service_request_id": case.code, "token": str(case.public_id)}],
    )


# --- creating a request -------------------------------------------------------------------------


def _decimal(params, name: str, low: int, high: int) -> Decimal | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise Open311Error(400, _("%(name)s must be a number.") % {"name": name}) from exc
    if not value.is_finite() or not low <= value <= high:
        raise Open311Error(
            400,
            _("%(name)s must be between %(low)d and %(high)d.")
            % {"name": name, "low": low, "high": high},
        )
    return value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def _attribute_values(params, category: Category) -> dict[str, Any]:
    """``attribute[code]=value`` pairs, checked against the service definition."""
    known = {attribute["code"]: attribute for attribute in _attributes(category)}
    values: dict[str, Any] = {}
    for name in params:
        if not (name.startswith("attribute[") and name.endswith("]")):
            continue
        code = name[len("attribute[") : -1]
        raw = params.get(name, "").strip()
        if code not in known:
            raise Open311Error(400, _("Unknown attribute %(code)s.") % {"code": code})
        if not raw:
            continue
        attribute = known[code]
        if attribute["datatype"] == "singlevaluelist":
            keys = {value["key"] for value in attribute["values"]}
            if raw not in keys:
                raise Open311Error(
                    400,
                    _("attribute[%(code)s] must be one of: %(keys)s.")
                    % {"code": code, "keys": ", ".join(sorted(keys))},
                )
            values[code] = raw
        else:
            if not raw.isdigit() or not 1 <= int(raw) <= 100000:
                raise Open311Error(
                    400, _("attribute[%(code)s] must be a whole number.") % {"code": code}
                )
            values[code] = int(raw)
    return values


def _intake(params, client) -> Any:
    """The IntakeData for a posted request, or Open311Error naming the field at fault."""
    from fengqiao.cases import services as case_services

    service_code = params.get("service_code", "").strip()
    if not service_code:
        raise Open311Error(400, _("service_code is required."))
    category = _category(service_code)
    if category is None:
        raise Open311Error(400, _("service_code %(code)s was not found.") % {"code": service_code})
    latitude = _decimal(params, "lat", -90, 90)
    longitude = _decimal(params, "long", -180, 180)
    if (latitude is None) != (longitude is None):
        raise Open311Error(400, _("lat and long must be given together."))
    address = params.get("address_string", "").strip()
    address_id = params.get("address_id", "").strip()
    if address_id and not (address_id.isdigit() and 6 <= len(address_id) <= 15):
        raise Open311Error(400, _("address_id must be a region code of 6 to 15 digits."))
    if latitude is None and not address and not address_id:
        raise Open311Error(400, _("Give a location: lat and long, address_string or address_id."))
    if len(address) > 300:
        raise Open311Error(400, _("address_string may be at most 300 characters."))
    description = params.get("description", "").strip()
    if not description:
        raise Open311Error(400, _("description is required."))
    media_url = params.get("media_url", "").strip()
    if media_url:
        if not media_url.startswith(("http://", "https://")) or len(media_url) > 500:
            raise Open311Error(400, _("media_url must be an http or https address."))
        # Kept as text for staff to follow by hand; the server never fetches it (no SSRF).
        description = _("%(description)s\n\nMedia link: %(url)s") % {
            "description": description,
            "url": media_url,
        }
    if len(description) > 5000:
        raise Open311Error(400, _("description may be at most 5000 characters."))
    attributes = _attribute_values(params, category)

    parties = []
    name = (params.get("last_name", "").strip() + params.get("first_name", "").strip())[:100]
    phone = params.get("phone", "").strip()
    if phone and not is_valid_phone(phone):
        raise Open311Error(
            400, _("phone must be an 11-digit mobile or a landline with its area code.")
        )
    if name or phone:
        parties.append(
            case_services.PartyData(
                role=PartyRole.REPORTER, name=name or _("Reporter"), phone=phone
            )
        )
    first_line = description.splitlines()[0]
    title = first_line[:TITLE_LENGTH] or category.name
    return case_services.IntakeData(
        category=category,
        channel=Channel.OPEN311,
        title=title,
        description=description,
        place_text=address,
        latitude=latitude,
        longitude=longitude,
        region_code=address_id or None,
        urgency=attributes.get("urgency", Urgency.NORMAL),
        people_count=attributes.get("people_count"),
        may_turn_violent=attributes.get("may_turn_violent") == "true",
        external_ref=f"open311:{client.prefix}",
        parties=parties,
    )


def _create_request(request: HttpRequest, fmt: str) -> HttpResponse:
    from fengqiao.cases import services as case_services

    params = request.POST
    client = key_services.authenticate_client(params.get("api_key"))
    if client is None:
        raise Open311Error(403, _("A valid api_key is required to create a service request."))
    payload = {name: params.getlist(name) for name in sorted(params) if name != "api_key"}

    def create() -> tuple[int, list[dict[str, Any]]]:
        case = case_services.report_case(data=_intake(params, client))
        return 201, [
            {
                "service_request_id": case.code,
                "token": str(case.public_id),
                "service_notice": "",
                "account_id": None,
            }
        ]

    try:
        status, body = idempotency.run(
            scope=f"open311.create:{client.prefix}",
            key=request.headers.get("Idempotency-Key"),
            payload=payload,
            create=create,
        )
    except idempotency.InvalidIdempotencyKey as exc:
        raise Open311Error(400, _("The Idempotency-Key header is empty or too long.")) from exc
    except idempotency.IdempotencyConflict as exc:
        raise Open311Error(
            400, _("This Idempotency-Key was already used for a different request.")
        ) from exc
    except case_services.WorkflowError as exc:
        raise Open311Error(400, exc.message) from exc
    return documents.render(fmt, "service_requests", body, status=status)


@endpoint("GET", "POST", "PUT", "PATCH", "DELETE")
def not_found(request: HttpRequest, rest: str = "", *, fmt: str) -> HttpResponse:
    """Any other path under /open311/: a 404 error document, never an HTML page."""
    raise Open311Error(404, _("Not found."))
