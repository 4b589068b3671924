"""The JSON API, version 1: one NinjaAPI with structured errors; routers come from the apps."""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest
from ninja import NinjaAPI, Router, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.renderers import JSONRenderer

from fengqiao.accounts.roles import capabilities_of
from fengqiao.api.auth import STAFF_AUTH
from fengqiao.api.cases import router as cases_router
from fengqiao.api.errors import MESSAGES, ApiError
from fengqiao.api.regions import router as regions_router
from fengqiao.api.tips import router as tips_router

logger = logging.getLogger(__name__)


class ChineseJSONRenderer(JSONRenderer):
    """JSON with Chinese left readable (UTF-8) rather than \\u-escaped."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=ChineseJSONRenderer(),
    title="Fengqiao API",
    version="1",
    description="枫桥 基层治理平台 JSON API. Errors: {code, message, errors?}.",
    urls_namespace="api-v1",
    auth=STAFF_AUTH,
)


def _error(request: HttpRequest, status: int, code: str, message: str | None = None, errors=None):
    body = {"code": code, "message": message or MESSAGES.get(code, code)}
    if errors:
        body["errors"] = errors
    return api.create_response(request, body, status=status)


@api.exception_handler(ApiError)
def on_api_error(request, exc: ApiError):
    return _error(request, exc.status, exc.code, exc.message, exc.errors)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    errors = [
        {
            "field": ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "payload")),
            "code": err.get("type", "invalid"),
            "message": err.get("msg", ""),
        }
        for err in exc.errors
    ]
    return _error(request, 422, "validation_error", errors=errors)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return _error(request, 401, "unauthenticated")


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return _error(request, 404, "not_found")


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    code = {
        401: "unauthenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        429: "rate_limited",
    }.get(exc.status_code, "bad_request")
    return _error(request, exc.status_code, code)


class MembershipOut(Schema):
    id: int
    unit: str
    unit_id: str
    unit_kind: str
    role: str
    role_label: str
    region_code: str
    active: bool


class MeOut(Schema):
    username: str
    full_name: str
    active_membership: MembershipOut
    memberships: list[MembershipOut]
    capabilities: list[str]


me_router = Router(tags=["me"])


def _membership_out(membership, active_pk: int) -> dict:
    return {
        "id": membership.pk,
        "unit": membership.unit.name,
        "unit_id": str(membership.unit.public_id),
        "unit_kind": membership.unit.kind,
        "role": membership.role,
        "role_label": str(membership.get_role_display()),
        "region_code": membership.region_code,
        "active": membership.pk == active_pk,
    }


@me_router.get("/me", response=MeOut, summary="Who am I: user, active membership, capabilities")
def me(request: HttpRequest):
    user = request.user
    active = request.membership
    memberships = user.memberships.active().select_related("unit")
    return {
        "username": user.username,
        "full_name": user.full_name,
        "active_membership": _membership_out(active, active.pk),
        "memberships": [_membership_out(m, active.pk) for m in memberships],
        "capabilities": sorted(capabilities_of(active.role)),
    }


api.add_router("", me_router)
api.add_router("", regions_router)
api.add_router("", tips_router)
api.add_router("", cases_router)
