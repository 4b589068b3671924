"""One case and its timeline."""

from django.http import HttpRequest

from fengqiao.accounts.roles import Cap
from fengqiao.api.auth import requires
from fengqiao.api.cases.lookups import _detail_case, _visible_case
from fengqiao.api.cases.rendering import _detail, _person
from fengqiao.api.cases.routing import OPERATION_PREFIX, router
from fengqiao.api.cases.schemas import CaseCode, CaseDetailOut, TimelineEntryOut


@router.get(
    "/cases/{code}",
    response=CaseDetailOut,
    summary="One case, parties masked",
    operation_id=f"{OPERATION_PREFIX}case_detail",
)
@requires(Cap.CASES_VIEW)
def case_detail(request: HttpRequest, code: CaseCode):
    return _detail(request, _detail_case(request, code))


@router.get(
    "/cases/{code}/timeline",
    response=list[TimelineEntryOut],
    summary="The case's status changes",
    operation_id=f"{OPERATION_PREFIX}case_timeline",
)
@requires(Cap.CASES_VIEW)
def case_timeline(request: HttpRequest, code: CaseCode):
    case = _visible_case(request, code)
    changes = case.changes.select_related("actor", "actor_unit", "from_unit", "to_unit").order_by(
        "at", "id"
    )
    return [
        {
            "action": change.action,
            "action_label": str(change.get_action_display()),
            "from_status": change.from_status,
            "to_status": change.to_status,
            "at": change.at,
            "actor": _person(change.actor),
            "actor_unit": change.actor_unit.name if change.actor_unit else "",
            "from_unit": change.from_unit.name if change.from_unit else "",
            "to_unit": change.to_unit.name if change.to_unit else "",
            "level": change.level,
            "reason": change.reason,
            "on_time": change.on_time,
            "is_public": change.is_public,
        }
        for change in changes
    ]
