"""Notes on a case, internal or public; honours ``Idempotency-Key``."""

from typing import Any

from django.http import HttpRequest

from fengqiao.accounts.roles import Cap
from fengqiao.api.auth import requires
from fengqiao.api.cases.lookups import _visible_case
from fengqiao.api.cases.rendering import _note_out
from fengqiao.api.cases.routing import ERRORS, OPERATION_PREFIX, _idempotent, _who, router
from fengqiao.api.cases.schemas import CaseCode, NoteIn, NoteOut
from fengqiao.api.schemas import idempotency_key_header
from fengqiao.cases import services


@router.post(
    "/cases/{code}/notes",
    response={201: NoteOut, **ERRORS},
    summary="Add an internal or public note; honours Idempotency-Key",
    operation_id=f"{OPERATION_PREFIX}case_note",
)
@requires(Cap.CASES_HANDLE)
def case_note(
    request: HttpRequest,
    code: CaseCode,
    payload: NoteIn,
    idempotency_key: str = idempotency_key_header(),
):
    case = _visible_case(request, code)

    def create() -> tuple[int, dict[str, Any]]:
        note = services.add_note(
            case, body=payload.body, is_public=payload.is_public, **_who(request)
        )
        return 201, NoteOut(**_note_out(note)).model_dump(mode="json")

    return _idempotent(
        request,
        scope=f"cases.note:{case.code}",
        key=idempotency_key,
        payload=payload.model_dump(mode="json"),
        create=create,
    )
