"""The router every cases endpoint module registers on, its error map, and how service
refusals and idempotent replays become API answers.

Operation ids are pinned (``OPERATION_PREFIX``): ninja derives them from the module path, and they
were published from the single ``fengqiao.api.cases`` module before it became this package.
"""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status as Answer

from fengqiao.api.errors import ApiError, idempotency_errors
from fengqiao.api.schemas import ErrorOut
from fengqiao.cases import services
from fengqiao.core import idempotency

router = Router(tags=["cases"])

MAX_PAGE = 100
# Refusals that mean "not now / not you" rather than "bad input" (HTTP 409 Conflict).
CONFLICT_CODES = frozenset(
    {
        "illegal_transition",
        "not_your_unit",
        "not_allowed",
        "already_evaluated",
        "already_flagged",
        "already_supervised",
        "no_extension_requested",
    }
)
ERRORS = {404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
# Clients generated from the OpenAPI schema name operations by these ids; keep them stable.
OPERATION_PREFIX = "fengqiao_api_cases_"


def _workflow_error(exc: services.WorkflowError) -> ApiError:
    status = 409 if exc.code in CONFLICT_CODES else 422
    errors = [{"field": exc.field, "code": exc.code, "message": exc.message}] if exc.field else []
    return ApiError(code=exc.code, message=exc.message, status=status, errors=errors)


def _principal(request: HttpRequest) -> str:
    """Who is asking, for idempotency scopes: the person in the membership they act in."""
    return f"user:{request.user.pk}:membership:{request.membership.pk}"


def _idempotent(
    request: HttpRequest,
    *,
    scope: str,
    key: str | None,
    payload: Any,
    create: Callable,
    check_first: bool = True,
    prepare: Callable | None = None,
    audit_last: bool = False,
) -> Answer:
    """Run ``create`` once per key; a replay answers the first status and body. ``prepare``
    runs before the transaction opens and ``create`` gets its result; ``audit_last`` appends
    its audit events after the answer is built (``idempotency.run``)."""
    try:
        with idempotency_errors():
            status, body = idempotency.run(
                scope=f"{scope}:{_principal(request)}",
                key=key,
                payload=payload,
                create=create,
                check_first=check_first,
                prepare=prepare,
                audit_last=audit_last,
            )
    except services.WorkflowError as exc:
        raise _workflow_error(exc) from exc
    return Answer(status, body)


def _who(request: HttpRequest) -> dict[str, Any]:
    return {"actor": request.user, "membership": request.membership}
