"""The case list: filtered, paginated, rendered page by page."""

from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Query, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from fengqiao.accounts.roles import Cap
from fengqiao.api.auth import requires
from fengqiao.api.cases.lookups import _scoped
from fengqiao.api.cases.rendering import _case_out
from fengqiao.api.cases.routing import MAX_PAGE, OPERATION_PREFIX, router
from fengqiao.api.cases.schemas import CaseFilter, CaseOut
from fengqiao.api.schemas import MAX_OFFSET
from fengqiao.cases.models import Case
from fengqiao.regions.models import Region


class CasePageInput(Schema):
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class CasePages(LimitOffsetPagination):
    """Limit and offset, at most MAX_PAGE cases a page (more is a 422, not a silent cut)."""

    # Named apart from ninja's unbounded ``Input``: OpenAPI components are named by class.
    Input = CasePageInput


class _Rendered:
    """A queryset the paginator can count and slice, whose items come out rendered."""

    def __init__(self, queryset, render: Callable[[Case], dict[str, Any]]) -> None:
        self.queryset = queryset
        self.render = render

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        return [self.render(case) for case in self.queryset[window]]


@router.get(
    "/cases",
    response=list[CaseOut],
    summary="Cases in your scope, filtered",
    operation_id=f"{OPERATION_PREFIX}case_list",
)
@paginate(CasePages)
@requires(Cap.CASES_VIEW)
def case_list(request: HttpRequest, filters: Query[CaseFilter]):
    chosen = filters.dict(exclude_none=True)
    if region := chosen.get("region"):
        found = Region.objects.visible_to(request.membership).filter(code=region).first()
        if found is None:
            raise Http404
        chosen["region"] = found.scope_prefix
    now = timezone.now()
    cases = _scoped(request).apply_filters(**chosen).order_by("-reported_at", "-id")
    return _Rendered(cases, lambda case: _case_out(case, now))
