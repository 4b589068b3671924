"""The reporter's routes (no account): file a tip, then read, reply and give an opinion with the
receipt. Every bad receipt gets the same 404; rate limits fail closed (429)."""

import base64
import binascii
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja.responses import Status as Answer

from fengqiao.api.errors import ApiError
from fengqiao.api.schemas import idempotency_key_header
from fengqiao.api.tips.routing import (
    MIN_ANONYMOUS_KEY,
    OPERATION_PREFIX,
    PUBLIC_ERRORS,
    _idempotent,
    _invalid,
    _limited,
    _not_recognised,
    _refused,
    router,
)
from fengqiao.api.tips.schemas import (
    AttachmentIn,
    ReceiptIn,
    ReceiptOut,
    ReplyIn,
    ReporterOpinionIn,
    ReporterTipOut,
    TipSubmitIn,
)
from fengqiao.tips import attachments as files
from fengqiao.tips import policy, services
from fengqiao.tips.models import Channel


def _incoming(items: list[AttachmentIn]) -> list[files.IncomingFile]:
    incoming = []
    for index, item in enumerate(items):
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError(
                code="validation_error",
                message=_("The request has errors."),
                status=422,
                errors=[
                    {
                        "field": f"attachments[{index}].content_base64",
                        "code": "invalid_base64",
                        "message": _("Not valid base64."),
                    }
                ],
            ) from exc
        incoming.append(files.IncomingFile(filename=item.filename, content=content))
    return incoming


def _submit_kwargs(payload: TipSubmitIn) -> dict[str, Any]:
    return {
        "description": payload.description,
        "region_code": payload.region_code,
        "category": payload.category,
        "place_text": payload.place_text,
        "accused": [services.AccusedInput(**item.model_dump()) for item in payload.accused],
        "officials_involved": payload.officials_involved,
        "officials_region_code": payload.officials_region_code,
        "officials_text": payload.officials_text,
        "is_real_name": payload.real_name,
        "reporter_name": payload.reporter_name,
        "reporter_contact": payload.reporter_contact,
        "attachments": _incoming(payload.attachments),
    }


def _reporter(call: Callable[[], services.ReporterView]) -> dict[str, Any]:
    try:
        view = call()
    except services.ReceiptNotRecognised as exc:
        raise _not_recognised() from exc
    except ValidationError as exc:
        raise _invalid(exc) from exc
    except services.TipRefused as exc:
        raise _refused(exc) from exc
    return {
        "status": view.status,
        "status_text": view.status_text,
        "outcome_text": view.outcome_text,
        "received_on": view.received_on,
        "can_reply": view.can_reply,
        "can_give_opinion": view.can_give_opinion,
        "opinion": view.opinion,
        "messages": [
            {
                "sender": m.sender,
                "body": m.body,
                "sent_at": m.sent_at,
                "attachments": m.attachments,
            }
            for m in view.messages
        ],
    }


def _lookup_limits(receipt: str) -> HttpResponse | None:
    return _limited(
        (policy.lookup_limit(), "global"),
        (policy.lookup_per_receipt_limit(), services.receipt_bucket(receipt)),
    )


# --- the reporter's routes ----------------------------------------------------------------


@router.post(
    "/tips",
    auth=None,
    response={201: ReceiptOut, **PUBLIC_ERRORS},
    summary="File a tip without an account; answers the receipt once (honours Idempotency-Key)",
    operation_id=f"{OPERATION_PREFIX}tip_submit",
)
def tip_submit(
    request: HttpRequest,
    payload: TipSubmitIn,
    idempotency_key: str = idempotency_key_header(min_length=MIN_ANONYMOUS_KEY),
):
    if idempotency_key is not None and len(idempotency_key.strip()) < MIN_ANONYMOUS_KEY:
        raise ApiError(
            code="invalid_idempotency_key",
            message=_("Use a random Idempotency-Key of at least 16 characters (a UUID)."),
            status=422,
        )
    if refused := _limited((policy.submit_limit(), "global")):
        return refused

    def create() -> tuple[int, dict[str, Any]]:
        submission = services.submit_tip(channel=Channel.API, **_submit_kwargs(payload))
        return 201, {"receipt": submission.receipt}

    return _idempotent(
        scope="tips.submit:anonymous",
        key=idempotency_key,
        payload=payload.model_dump(mode="json"),
        create=create,
    )


@router.post(
    "/tips/lookup",
    auth=None,
    response={200: ReporterTipOut, **PUBLIC_ERRORS},
    summary="The reporter reads status and messages with the receipt",
    operation_id=f"{OPERATION_PREFIX}tip_lookup",
)
def tip_lookup(request: HttpRequest, payload: ReceiptIn):
    if refused := _lookup_limits(payload.receipt):
        return refused
    return _reporter(lambda: services.lookup_tip(payload.receipt))


@router.post(
    "/tips/lookup/reply",
    auth=None,
    response={201: ReporterTipOut, **PUBLIC_ERRORS},
    summary="The reporter answers a handler or adds material while the tip is open",
    operation_id=f"{OPERATION_PREFIX}tip_reply",
)
def tip_reply(request: HttpRequest, payload: ReplyIn):
    if refused := _lookup_limits(payload.receipt):
        return refused
    incoming = _incoming(payload.attachments)
    body = _reporter(
        lambda: services.reply_as_reporter(
            receipt=payload.receipt, body=payload.body, attachments=incoming
        )
    )
    return Answer(201, body)


@router.post(
    "/tips/lookup/opinion",
    auth=None,
    response={200: ReporterTipOut, **PUBLIC_ERRORS},
    summary="The reporter's opinion of the handling, once action was taken",
    operation_id=f"{OPERATION_PREFIX}tip_opinion",
)
def tip_opinion(request: HttpRequest, payload: ReporterOpinionIn):
    if refused := _lookup_limits(payload.receipt):
        return refused
    return _reporter(
        lambda: services.give_opinion(
            receipt=payload.receipt, opinion=payload.opinion, comment=payload.comment
        )
    )
