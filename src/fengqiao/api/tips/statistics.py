"""Tip statistics per region and period, as JSON or an Excel workbook (``tips.statistics``)."""

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Query

from fengqiao.accounts.roles import Cap
from fengqiao.api.auth import requires
from fengqiao.api.tips.routing import ERRORS, OPERATION_PREFIX, _invalid, router
from fengqiao.api.tips.schemas import StatisticsOut, StatisticsQuery
from fengqiao.tips import services


def _table(request: HttpRequest, query: StatisticsQuery):
    try:
        return services.tip_statistics(
            membership=request.membership,
            region_code=query.region,
            start=query.start,
            end=query.end,
        )
    except services.TipNotFound as exc:
        raise Http404 from exc
    except ValidationError as exc:
        raise _invalid(exc) from exc


@router.get(
    "/tips/statistics",
    response={200: StatisticsOut, **ERRORS},
    summary="Tip statistics per region and period; counts of 1 or 2 suppressed",
    operation_id=f"{OPERATION_PREFIX}tip_statistics",
)
@requires(Cap.TIPS_STATS)
def tip_statistics(request: HttpRequest, query: Query[StatisticsQuery]):
    table = _table(request, query)

    def row(item) -> dict[str, Any]:
        return {
            "region_code": item.region_code,
            "region_name": item.region_name,
            "counts": item.counts,
            "rates": item.rates,
        }

    return {
        "region_code": table.region_code,
        "region_name": table.region_name,
        "start": table.start,
        "end": table.end,
        "rows": [row(item) for item in table.rows],
        "total": row(table.total),
    }


@router.get(
    "/tips/statistics.xlsx",
    response={200: None, **ERRORS},
    summary="The statistics as an Excel workbook (figures only, never contents; audited)",
    operation_id=f"{OPERATION_PREFIX}tip_statistics_export",
)
@requires(Cap.TIPS_STATS)
def tip_statistics_export(request: HttpRequest, query: Query[StatisticsQuery]):
    try:
        content = services.export_statistics(
            membership=request.membership,
            region_code=query.region,
            start=query.start,
            end=query.end,
        )
    except services.TipNotFound as exc:
        raise Http404 from exc
    except ValidationError as exc:
        raise _invalid(exc) from exc
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = (
        f'attachment; filename="tip-statistics-{query.region}-{stamp}.xlsx"'
    )
    return response
