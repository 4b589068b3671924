"""Tip statistics for 扫黑办 leaders: one region and period, small counts suppressed by the
service, and their Excel export — figures only, never a tip's content (``tips.statistics``)."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from fengqiao.accounts.roles import Cap
from fengqiao.core.access import requires
from fengqiao.regions.models import Level, Region
from fengqiao.regions.views import require_region_in_scope
from fengqiao.tips import services, statistics
from fengqiao.tips.forms import StatisticsForm

# Rows that can be opened as a table of their own: below a town come villages and grids, whose
# counts are almost all suppressed anyway.
DRILL_LEVELS = (Level.CITY, Level.COUNTY, Level.TOWN)


def _regions(membership: Any) -> list[Region]:
    """The membership's own region and the regions under it down to towns (the region select)."""
    own = Region.objects.filter(code=membership.region_code).first()
    if own is None:
        return []
    below = (
        Region.objects.visible_to(membership)
        .within(own.scope_prefix)
        .filter(level__in=DRILL_LEVELS)
        .exclude(pk=own.pk)
        .order_by("code")
    )
    return [own, *below]


def _form(request: HttpRequest) -> StatisticsForm:
    require_region_in_scope(request.membership, request.GET.get("region"))
    regions = _regions(request.membership)
    today = timezone.localdate()
    defaults = {
        "region": regions[0].code if regions else "",
        "start": datetime.date(today.year, 1, 1).isoformat(),
        "end": today.isoformat(),
    }
    data = {key: request.GET.get(key) or value for key, value in defaults.items()}
    return StatisticsForm(data, regions=regions)


def _row(row: statistics.Row, drill: set[str]) -> dict[str, Any]:
    return {
        "code": row.region_code,
        "name": row.region_name,
        "counts": [row.counts[name] for name in statistics.COUNTS],
        "rates": row.rates,
        "drill": row.region_code in drill,
    }


@requires(Cap.TIPS_STATS)
@require_GET
def statistics_page(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    context: dict[str, Any] = {"form": form, "table": None}
    if form.is_valid():
        data = form.cleaned_data
        try:
            table = services.tip_statistics(
                membership=request.membership,
                region_code=data["region"],
                start=data["start"],
                end=data["end"],
            )
        except services.TipNotFound as exc:
            raise Http404 from exc
        drill = {
            code
            for code in Region.objects.filter(
                code__in=[row.region_code for row in table.rows], level__in=DRILL_LEVELS
            ).values_list("code", flat=True)
        }
        context.update(
            table=table,
            rows=[_row(row, drill) for row in table.rows],
            total=_row(table.total, set()),
            query={"start": data["start"].isoformat(), "end": data["end"].isoformat()},
        )
    return render(request, "tips/statistics.html", context, status=200 if form.is_valid() else 400)


@requires(Cap.TIPS_STATS)
@require_GET
def statistics_export(request: HttpRequest) -> HttpResponse:
    """The statistics as an Excel workbook (audited by the service as an export)."""
    form = _form(request)
    if not form.is_valid():
        raise Http404
    data = form.cleaned_data
    try:
        content = services.export_statistics(
            membership=request.membership,
            region_code=data["region"],
            start=data["start"],
            end=data["end"],
        )
    except services.TipNotFound as exc:
        raise Http404 from exc
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    filename = f"tip-statistics-{data['region']}-{data['start']:%Y%m%d}-{data['end']:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
