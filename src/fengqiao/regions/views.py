"""Region browser (区划浏览): a person's jurisdiction from their scope root down to the grids."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from fengqiao.accounts.roles import Cap
from fengqiao.core.access import requires
from fengqiao.regions.models import LEVEL_ORDER, Level, Region, Unit
from fengqiao.regions.places import is_region_code
from fengqiao.regions.querysets import children_with_counts

# Column headings for the counts shown beside each child.
COUNT_LABELS = {
    Level.CITY: _("Cities"),
    Level.COUNTY: _("Counties"),
    Level.TOWN: _("Towns"),
    Level.VILLAGE: _("Villages"),
    Level.GRID: _("Grids"),
    "units": _("Units"),
}


def require_region_in_scope(membership, code: str | None) -> None:
    """A region named in a filter outside the membership's scope (or no such region) is a 404
    like any object there (SECURITY 7) — not a form error that would still answer 200 or 400."""
    if not code:
        return
    if not is_region_code(code) or not (
        Region.objects.visible_to(membership).filter(code=code).exists()
    ):
        raise Http404


def scope_root(membership) -> Region:
    """The top of what a membership may see: the region of its unit."""
    return membership.unit.region


@requires(Cap.REGIONS_BROWSE)
def browser(request: HttpRequest) -> HttpResponse:
    return _render_region(request, scope_root(request.membership))


@requires(Cap.REGIONS_BROWSE)
def detail(request: HttpRequest, code: str) -> HttpResponse:
    region = (
        Region.objects.visible_to(request.membership)
        .filter(code=code)
        .select_related("parent")
        .first()
    )
    if region is None:
        raise Http404
    return _render_region(request, region)


def _render_region(request: HttpRequest, region: Region) -> HttpResponse:
    membership = request.membership
    # Ancestors are read off the code; only those inside the person's scope are shown, so the
    # breadcrumb never links to a page that would answer 404.
    breadcrumb = list(
        Region.objects.visible_to(membership)
        .filter(code__in=region.ancestor_codes)
        .order_by("code")
    )
    children = children_with_counts(region, scope=membership)
    units = list(
        Unit.objects.visible_to(membership).active().in_region(region).order_by("kind", "name")
    )
    count_keys: list[str] = []
    totals: dict[str, int] = {"units": len(units)}
    if children:
        child_level = children[0].region.level
        count_keys = [*LEVEL_ORDER[LEVEL_ORDER.index(child_level) + 1 :], "units"]
        # The region's own totals are the children's, summed: no extra counting query.
        totals[child_level] = len(children)
        for key in count_keys:
            totals[key] = totals.get(key, 0) + sum(child.counts.get(key, 0) for child in children)
    context = {
        "region": region,
        "breadcrumb": breadcrumb,
        "rows": [
            {"region": child.region, "counts": [child.counts.get(key, 0) for key in count_keys]}
            for child in children
        ],
        "count_headings": [COUNT_LABELS[key] for key in count_keys],
        "totals": [
            {"label": COUNT_LABELS[key], "count": totals[key]}
            for key in [*LEVEL_ORDER, "units"]
            if key in totals
        ],
        "units": units,
        "is_root": region.pk == scope_root(membership).pk,
    }
    return render(request, "regions/region_detail.html", context)
