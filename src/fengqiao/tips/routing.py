"""Where a tip goes: the supervising 扫黑办, the bypass for officials, who may receive it.

Ordinary tips go to the 扫黑办 of the county the place lies in (the city's when the place is the
city itself), which triages, assigns and supervises them.

A tip that names officials (保护伞) skips the officials' own level (DOMAIN §5, ARCHITECTURE §8):
it goes to the 扫黑办 **and** the 纪委监委 of the first level strictly above the officials'
region that has both, and no unit seated in the officials' region or below it may ever receive
or see it (``bypass_prefix``). Officials of a village or town are therefore handled at county
level; officials of a county at city level. When nothing exists above the officials' region in
this deployment (officials of the top-level city), the platform cannot keep the tip away from
them: the tip is refused with a pointer to the provincial channel, as the rule "reports about the
receiving body's own leadership go one level up and are not entered in the local system" asks.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from fengqiao.regions.models import Level, Region, Unit, UnitKind, ancestor_codes
from fengqiao.tips.querysets import bypassed_prefixes

TRIAGE_KIND = UnitKind.ANTI_GANG_OFFICE
DISCIPLINE_KIND = UnitKind.DISCIPLINE_COMMISSION
# Units a tip may be assigned or transferred to: 公安 (bureau or station), 扫黑办, 纪委监委.
HANDLING_KINDS = (
    UnitKind.PUBLIC_SECURITY_BUREAU,
    UnitKind.POLICE_STATION,
    UnitKind.ANTI_GANG_OFFICE,
    UnitKind.DISCIPLINE_COMMISSION,
)


@dataclass(frozen=True)
class Route:
    """Where a new or re-flagged tip goes."""

    routed_unit: Unit
    discipline_unit: Unit | None
    bypass_prefix: str


def _unit(kind: str, code: str) -> Unit | None:
    return Unit.objects.active().of_kind(kind).filter(region_code=code).order_by("pk").first()


def _county_or_above(region: Region) -> list[str]:
    """The codes from the region's county (or the region itself if higher) up to the top."""
    chain = [*ancestor_codes(region.code, region.level), region.code]
    top_down = [code for code in chain if len(code) == 6]
    return list(reversed(top_down))


def route_for(
    region: Region, officials_region: Region | None, *, officials_involved: bool = False
) -> Route:
    """The route of a tip about ``region`` naming officials of ``officials_region``.

    Officials involved at an unknown level (a place at the top of the tree, no officials'
    region): the 扫黑办 of the place with its 纪委监委 beside it, nothing bypassed.
    """
    if officials_region is None:
        for code in _county_or_above(region):
            unit = _unit(TRIAGE_KIND, code)
            if unit is not None:
                discipline = _unit(DISCIPLINE_KIND, code) if officials_involved else None
                return Route(routed_unit=unit, discipline_unit=discipline, bypass_prefix="")
        raise ValidationError(
            _("No anti-gang office serves this place; choose a place in this city."),
            code="no_triage_unit",
        )
    bypass = officials_region.scope_prefix
    above = [
        code
        for code in reversed(ancestor_codes(officials_region.code, officials_region.level))
        if not code.startswith(bypass)
    ]
    for code in above:
        triage, discipline = _unit(TRIAGE_KIND, code), _unit(DISCIPLINE_KIND, code)
        if triage is not None and discipline is not None:
            return Route(routed_unit=triage, discipline_unit=discipline, bypass_prefix=bypass)
    raise ValidationError(
        _(
            "This platform has no office above the officials you name. Please report to the "
            "provincial anti-gang office or the national 12337 platform instead."
        ),
        code="bypass_unavailable",
    )


def officials_region_for(region: Region, code: str) -> Region | None:
    """The officials' region from the code given, or — when none is given — the county of the
    tip's place: the protective choice, since it keeps the tip away from county officials too.
    None when the place is itself above county level (nothing to bypass by default)."""
    if code:
        found = Region.objects.filter(code=code).first()
        if found is None:
            raise ValidationError(
                _("Unknown region code for the officials: %(code)s") % {"code": code},
                code="unknown_officials_region",
            )
        if found.level in (Level.GRID,):
            found = found.parent
        return found
    if region.level in (Level.PROVINCE, Level.CITY):
        return None
    return Region.objects.filter(code=region.code[:6]).first()


def may_receive(unit: Unit, *, bypass_prefix: str, within: str) -> bool:
    """Whether ``unit`` may be assigned a tip: a handling kind, active, inside the supervising
    office's scope ``within``, and not seated where the named officials are."""
    return (
        unit.is_active
        and unit.kind in HANDLING_KINDS
        and unit.region_code.startswith(within)
        and not (bypass_prefix and bypass_prefix in bypassed_prefixes(unit.region_code))
    )
