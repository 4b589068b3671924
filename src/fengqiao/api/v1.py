"""The JSON API, version 1: one NinjaAPI with structured errors; routers come from the apps."""

from __future__ import annotations

import logging

from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest
from ninja import NinjaAPI, Router, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation
from ninja.renderers import JSONRenderer

from fengqiao.accounts.roles import capabilities_of
from fengqiao.api.auth import STAFF_AUTH
from fengqiao.api.cases import router as cases_router
from fengqiao.api.errors import MESSAGES, ApiError
from fengqiao.api.regions import router as regions_router
from fengqiao.api.schemas import ErrorOut
from fengqiao.api.tips import router as tips_router

logger = logging.getLogger(__name__)


class ChineseJSONRenderer(JSONRenderer):
    """JSON with Chinese left readable (UTF-8) rather than \\u-escaped."""

    json_dumps_params = {"ensure_ascii": False}


# The errors every operation may answer besides the ones it declares itself, and when.
SHARED_ERRORS = {
    400: "Bad Request: the body is not JSON or is too large",
    401: "Unauthorized: no valid token or verified session",
    403: "Forbidden: a session request failed the CSRF check",
    404: "Not Found: out of your scope, no such object, or your role may not use it",
    422: "Unprocessable Content: parameters or body do not match the schema",
    503: "Service Unavailable: the database cannot be reached; retry later",
}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def shared_errors(operation: Operation) -> list[int]:
    """The shared errors ``operation`` can answer: the handlers and middleware above answer
    these for any operation, so the schema must say so or clients meet undocumented codes."""
    sources = {model.__ninja_param_source__ for model in operation.models}
    statuses = [503]
    if "body" in sources:
        statuses.append(400)
    if operation.auth_callbacks:
        statuses.append(401)
        if UNSAFE_METHODS & set(operation.methods):
            statuses.append(403)
    if getattr(operation.view_func, "fengqiao_capability", None) or "path" in sources:
        statuses.append(404)
    if sources:
        statuses.append(422)
    return statuses


class ApiSchema(OpenAPISchema):
    """The generated schema, with every operation's shared errors declared as ``ErrorOut`` and
    one definition per component name."""

    def responses(self, operation: Operation) -> dict[int, dict]:
        declared = super().responses(operation)
        # Wrapped the way ninja wraps declared response models, so this is a $ref as well.
        wrapper = operation._create_response_model(ErrorOut)
        error = self._create_schema_from_model(wrapper, mode="serialization")[0]
        for status in shared_errors(operation):
            declared.setdefault(
                status,
                {
                    "description": SHARED_ERRORS[status],
                    "content": {self.api.renderer.media_type: {"schema": error}},
                },
            )
        return dict(sorted(declared.items()))

    def add_schema_definitions(self, definitions: dict) -> None:
        # Components are named by class; ninja lets a second class of the same name silently
        # replace the first (the case states once documented the tip endpoints).
        for name, definition in definitions.items():
            if self.schemas.get(name, definition) != definition:
                raise ImproperlyConfigured(f"two OpenAPI components are named {name!r}")
        super().add_schema_definitions(definitions)


class FengqiaoAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return ApiSchema(self, path_prefix)


api = FengqiaoAPI(
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
