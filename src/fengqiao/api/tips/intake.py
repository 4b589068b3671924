"""Operator intake: staff file a phone, letter or walk-in tip on a reporter's behalf."""

from typing import Any

from django.http import HttpRequest

from fengqiao.accounts.roles import Cap
from fengqiao.api.auth import requires
from fengqiao.api.schemas import idempotency_key_header
from fengqiao.api.tips.reporter import _submit_kwargs
from fengqiao.api.tips.routing import ERRORS, OPERATION_PREFIX, _idempotent, router
from fengqiao.api.tips.schemas import OperatorIntakeIn, ReceiptOut
from fengqiao.tips import services


@router.post(
    "/tips/intake",
    response={201: ReceiptOut, **ERRORS},
    summary="File a phone, letter or walk-in tip on a reporter's behalf (operator mode)",
    operation_id=f"{OPERATION_PREFIX}tip_intake",
)
@requires(Cap.TIPS_INTAKE)
def tip_intake(
    request: HttpRequest,
    payload: OperatorIntakeIn,
    idempotency_key: str = idempotency_key_header(),
):
    def create() -> tuple[int, dict[str, Any]]:
        kwargs = _submit_kwargs(payload)
        submission = services.submit_tip(
            channel=payload.channel, operator=request.membership, **kwargs
        )
        return 201, {"receipt": submission.receipt}

    return _idempotent(
        scope=f"tips.intake:user:{request.user.pk}:membership:{request.membership.pk}",
        key=idempotency_key,
        payload=payload.model_dump(mode="json"),
        create=create,
    )
