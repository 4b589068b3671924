"""Regions and units over the JSON API, scoped to the caller's active membership.

Every lookup goes through ``visible_to(request.membership)``: a region or unit outside the
caller's jurisdiction answers 404, exactly like one that does not exist. (No ``from __future__
import annotations`` here: ninja reads the parameter annotations at runtime.)
"""

from typing import Annotated
from uuid import UUID

from django.http import Http404, HttpRequest
from ninja import Field, Path, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from fengqiao.accounts.roles import Cap
from fengqiao.api.auth import requires
from fengqiao.api.schemas import MAX_OFFSET
from fengqiao.regions.models import Level, Region, Unit, UnitKind
from fengqiao.regions.querysets import children_with_counts, subtree_counts

router = Router(tags=["regions"])

# The path parameter naming a region: its statistical code, as the other region fields take it.
RegionCode = Annotated[str, Path(pattern=r"^[0-9]{6,15}$", description="Statistical code")]


class CountsOut(Schema):
    """Regions per level strictly below a region, and active units at or below it."""

    province: int = 0
    city: int = 0
    county: int = 0
    town: int = 0
    village: int = 0
    grid: int = 0
    units: int = 0


class RegionOut(Schema):
    code: str = Field(description="National statistical code at its natural length")
    name: str = Field(description="Official statistical name (枫源村委会)")
    place_name: str = Field(description="Name of the place (枫源村)")
    full_name: str = Field(description="Place names from the county down (诸暨市枫桥镇枫源村)")
    level: Level
    parent_code: str | None = Field(
        description="Parent's code; null at the top or when the parent is outside your scope"
    )
    counts: CountsOut


class UnitOut(Schema):
    id: UUID = Field(alias="public_id", description="Public id of the unit")
    name: str
    kind: UnitKind
    kind_label: str
    level: Level
    region_code: str
    region_name: str
    is_active: bool

    @staticmethod
    def resolve_kind_label(unit: Unit) -> str:
        return str(unit.get_kind_display())

    @staticmethod
    def resolve_region_name(unit: Unit) -> str:
        return unit.region.display_name


class UnitFilter(Schema):
    region: str | None = Field(
        None,
        description="Units seated in this region or anywhere below it",
        pattern=r"^[0-9]{6,15}$",
    )
    kind: UnitKind | None = None


class UnitPageInput(Schema):
    limit: int = Field(50, ge=1, le=MAX_OFFSET)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class UnitPages(LimitOffsetPagination):
    """ninja's limit and offset, bounded: a number past the database's integers was a 500."""

    Input = UnitPageInput


def _visible_region(request: HttpRequest, code: str) -> Region:
    region = (
        Region.objects.visible_to(request.membership)
        .filter(code=code)
        .select_related("parent")
        .first()
    )
    if region is None:
        raise Http404
    return region


def _region_out(request: HttpRequest, region: Region, counts: dict[str, int]) -> dict:
    parent = region.parent
    # A parent above the caller's scope root is not disclosed.
    visible_parent = parent is not None and parent.code.startswith(request.membership.scope_prefix)
    return {
        "code": region.code,
        "name": region.name,
        "place_name": region.display_name,
        "full_name": region.full_name,
        "level": region.level,
        "parent_code": parent.code if visible_parent else None,
        "counts": counts,
    }


@router.get("/regions/{code}", response=RegionOut, summary="A region and its subtree counts")
@requires(Cap.REGIONS_BROWSE)
def region_detail(request: HttpRequest, code: RegionCode):
    region = _visible_region(request, code)
    return _region_out(request, region, subtree_counts(region, scope=request.membership))


@router.get(
    "/regions/{code}/children",
    response=list[RegionOut],
    summary="A region's children, each with its subtree counts",
)
@requires(Cap.REGIONS_BROWSE)
def region_children(request: HttpRequest, code: RegionCode):
    region = _visible_region(request, code)
    return [
        _region_out(request, child.region, child.counts)
        for child in children_with_counts(region, scope=request.membership)
    ]


@router.get("/regions/{code}/counts", response=CountsOut, summary="Subtree counts per level")
@requires(Cap.REGIONS_BROWSE)
def region_counts(request: HttpRequest, code: RegionCode):
    region = _visible_region(request, code)
    return subtree_counts(region, scope=request.membership)


@router.get("/units", response=list[UnitOut], summary="Units in your scope, by region and kind")
@paginate(UnitPages)
@requires(Cap.REGIONS_BROWSE)
def unit_list(request: HttpRequest, filters: Query[UnitFilter]):
    units = Unit.objects.visible_to(request.membership).select_related("region")
    if filters.region:
        units = units.within(_visible_region(request, filters.region).scope_prefix)
    if filters.kind:
        units = units.of_kind(filters.kind)
    return units.order_by("region_code", "kind", "name")


@router.get("/units/{public_id}", response=UnitOut, summary="One unit")
@requires(Cap.REGIONS_BROWSE)
def unit_detail(request: HttpRequest, public_id: UUID):
    unit = (
        Unit.objects.visible_to(request.membership)
        .select_related("region")
        .filter(public_id=public_id)
        .first()
    )
    if unit is None:
        raise Http404
    return unit
