"""The router every tips endpoint module registers on, its error maps, and how service refusals,
invalid input, idempotent replays and rate limits become API answers.

Operation ids are pinned (``OPERATION_PREFIX``): ninja derives them from the module path, and they
were published from the single ``fengqiao.api.tips`` module before it became this package.
"""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Router
from ninja.responses import Status as Answer

from fengqiao.api.errors import ApiError, idempotency_errors
from fengqiao.api.schemas import ErrorOut
from fengqiao.core import idempotency, ratelimit
from fengqiao.tips import services

router = Router(tags=["tips"])

MAX_PAGE = 100
# Anonymous Idempotency-Keys share one scope: a short, guessable key could replay another
# reporter's answer (their receipt) to whoever sends the same body with it.
MIN_ANONYMOUS_KEY = 16
# Refusals that mean "not now / not you" rather than "bad input" (HTTP 409 Conflict): a request
# with no body at all can meet the identity ones (no approved request, your own request).
CONFLICT_CODES = frozenset(
    {
        "invalid_transition",
        "not_your_step",
        "tip_closed",
        "target_closed",
        "no_opinion_now",
        "anonymous",
        "decided",
        "not_approved",
        "same_person",
    }
)
ERRORS = {404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
PUBLIC_ERRORS = {404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}
# Clients generated from the OpenAPI schema name operations by these ids; keep them stable.
OPERATION_PREFIX = "fengqiao_api_tips_"


def _invalid(exc: ValidationError) -> ApiError:
    errors = []
    for field, messages in getattr(exc, "message_dict", {"": exc.messages}).items():
        for message in messages:
            errors.append({"field": field, "code": "invalid", "message": str(message)})
    return ApiError(
        code="validation_error", message=_("The request has errors."), status=422, errors=errors
    )


def _refused(exc: services.TipRefused) -> ApiError:
    return ApiError(
        code=exc.code, message=exc.message, status=409 if exc.code in CONFLICT_CODES else 422
    )


def _not_recognised() -> ApiError:
    return ApiError(
        code="receipt_not_recognised",
        message=_("This receipt is not recognised. Check the 21 digits and try again."),
        status=404,
    )


def _idempotent(*, scope: str, key: str | None, payload: Any, create: Callable) -> Answer:
    try:
        with idempotency_errors():
            status, body = idempotency.run(scope=scope, key=key, payload=payload, create=create)
    except ValidationError as exc:
        raise _invalid(exc) from exc
    except services.TipRefused as exc:
        raise _refused(exc) from exc
    return Answer(status, body)


def _limited(*limits: tuple[ratelimit.Limit, str]) -> HttpResponse | None:
    for limit, key in limits:
        try:
            ratelimit.hit(limit, key=key)
        except ratelimit.RateLimited as exc:
            return ratelimit.refused_response(exc)
    return None
