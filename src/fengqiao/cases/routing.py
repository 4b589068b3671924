"""Routing (分流): the unit a case lands at, and the unit an escalation goes to.

小事不出村、大事不出镇、矛盾不上交: a case lands at the lowest level its ``CategoryRule`` allows.
The target level is the rule's default level, raised to ``escalate_level`` when the severity
reaches ``escalate_severity``. In the case's region at that level we look for an active unit of
the rule's handling kind, else the level's triage unit (village → people's mediation committee,
town → command room, county and city → governance centre); else one level up, and so on. A case
whose region is above the target level (only a town or a county was resolved) starts at that
region itself, so a county-only case lands at the county centre for triage.

Every candidate unit is read in one query (codes of the region's ancestors are read off the code
itself, no recursion).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _

from fengqiao.cases.errors import WorkflowError
from fengqiao.regions.models import LEVEL_ORDER, Level, Region, Unit, UnitKind, ancestor_codes

if TYPE_CHECKING:
    from fengqiao.cases.models import Case, Category, CategoryRule
    from fengqiao.core.models import AuditEvent

# The unit that sorts out whatever arrives at a level it has no specialist for.
TRIAGE_KIND: dict[str, str] = {
    Level.VILLAGE: UnitKind.MEDIATION_COMMITTEE,
    Level.TOWN: UnitKind.COMMAND_ROOM,
    Level.COUNTY: UnitKind.GOVERNANCE_CENTRE,
    Level.CITY: UnitKind.GOVERNANCE_CENTRE,
    Level.PROVINCE: UnitKind.GOVERNANCE_CENTRE,
}
# Without a rule for its category a case goes to the town command room for triage.
DEFAULT_LEVEL = Level.TOWN


def level_index(level: str) -> int:
    """Position from the top: province 0 … grid 5 (lower levels have larger numbers)."""
    return LEVEL_ORDER.index(level)


def higher(level_a: str, level_b: str) -> str:
    """The higher (closer to the province) of two levels."""
    return level_a if level_index(level_a) <= level_index(level_b) else level_b


def parent_level(level: str) -> str | None:
    """The next level up; a grid's triage happens in its village, so grid → village."""
    index = level_index(level)
    return LEVEL_ORDER[index - 1] if index > 0 else None


def region_codes_by_level(code: str, level: str) -> dict[str, str]:
    """{level: code} for the region and every region above it, read off the code."""
    codes = dict(zip(LEVEL_ORDER, ancestor_codes(code, level), strict=False))
    codes[level] = code
    return codes


def level_of_code(code: str) -> str:
    """A region's level read off its statistical code (ARCHITECTURE §5), without a query."""
    by_length = {15: Level.GRID, 12: Level.VILLAGE, 9: Level.TOWN}
    if len(code) in by_length:
        return by_length[len(code)]
    if code.endswith("0000"):
        return Level.PROVINCE
    return Level.CITY if code.endswith("00") else Level.COUNTY


# Rules, unit candidates, categories and regions are read on every intake but change a few times
# a year, so each process keeps them for CACHE_SECONDS; saves in this process clear them at once
# (signals at the bottom), other processes pick changes up within CACHE_SECONDS.
CACHE_SECONDS = 60.0
_rules: dict[int, tuple[float, CategoryRule | None]] = {}
_units: dict[tuple[tuple[str, ...], frozenset[str]], tuple[float, list[Unit]]] = {}
_categories: dict[str, tuple[float, Category | None]] = {}
_regions: dict[str, tuple[float, Region]] = {}


def invalidate(**_kwargs: object) -> None:
    _rules.clear()
    _units.clear()
    _categories.clear()
    _regions.clear()


def region_for_code(code: str) -> Region | None:
    """The region with this statistical code, or None when there is none (cached per process
    like the units: API clients name the region of nearly every report by its code). Only
    regions found are kept, so a region imported since is seen at once."""
    now = time.monotonic()
    hit = _regions.get(code)
    if hit is not None and hit[0] > now:
        return hit[1]
    # A unique code: no ORDER BY / LIMIT (``.first()`` would sort by Meta.ordering).
    found = list(Region.objects.filter(code=code).order_by())
    if not found:
        return None
    _regions[code] = (now + CACHE_SECONDS, found[0])
    return found[0]


def _on_audit_event(sender: object, instance: AuditEvent, created: bool, **_kwargs: object) -> None:
    # Division imports write regions in bulk (no per-row signals) and record a "regions." event.
    if created and instance.action.startswith("regions."):
        invalidate()
        transaction.on_commit(invalidate)


def reportable_category(code: str) -> Category | None:
    """The active, reportable category with this code, or None (cached per process like the
    rules: API and Open311 intake name the category by code on every request)."""
    from fengqiao.cases.models import Category

    now = time.monotonic()
    hit = _categories.get(code)
    if hit is not None and hit[0] > now:
        return hit[1]
    # A unique code: no ORDER BY / LIMIT (``.first()`` would sort by Meta.ordering).
    found = list(Category.objects.reportable().filter(code=code).order_by())
    category = found[0] if found else None
    _categories[code] = (now + CACHE_SECONDS, category)
    return category


def rule_for(category: Category) -> CategoryRule | None:
    """The category's routing rule with its clock policy (cached per process)."""
    from fengqiao.cases.models import CategoryRule

    now = time.monotonic()
    hit = _rules.get(category.pk)
    if hit is not None and hit[0] > now:
        return hit[1]
    rule = CategoryRule.objects.select_related("clock_policy").filter(category=category).first()
    _rules[category.pk] = (now + CACHE_SECONDS, rule)
    return rule


def _candidate_units(region_codes: list[str], kinds: set[str]) -> list[Unit]:
    """Active units of ``kinds`` seated in ``region_codes``, oldest first (cached per process)."""
    key = (tuple(sorted(region_codes)), frozenset(kinds))
    now = time.monotonic()
    hit = _units.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    units = list(
        Unit.objects.active()
        .filter(region_code__in=region_codes, kind__in=kinds)
        .select_related("region")
        .order_by("id")
    )
    _units[key] = (now + CACHE_SECONDS, units)
    return units


def target_level(rule: CategoryRule | None, severity: int) -> str:
    """The level a new case of this rule and severity should land at."""
    if rule is None:
        return DEFAULT_LEVEL
    level = rule.default_level
    if (
        rule.escalate_severity is not None
        and rule.escalate_level
        and severity >= rule.escalate_severity
    ):
        level = higher(level, rule.escalate_level)
    return level


def _find(
    codes: dict[str, str],
    start_level: str,
    kinds_at: Callable[[str], list[str]],
    error_level: str,
) -> Unit:
    """Walk up from ``start_level``; at each level take the first kind of ``kinds_at(level)``
    with an active unit in that level's region. One query for all candidates."""
    levels = [lv for lv in LEVEL_ORDER[: level_index(start_level) + 1] if lv in codes]
    levels.reverse()  # bottom first
    wanted_kinds = {kind for level in levels for kind in kinds_at(level)}
    candidates: dict[tuple[str, str], Unit] = {}
    for unit in _candidate_units([codes[level] for level in levels], wanted_kinds):
        candidates.setdefault((unit.region_code, unit.kind), unit)
    for level in levels:
        for kind in kinds_at(level):
            unit = candidates.get((codes[level], kind))
            if unit is not None:
                return unit
    raise WorkflowError(
        "no_unit_found",
        _("No active unit can take this case at or above the %(level)s level.")
        % {"level": Level(error_level).label},
    )


def route(*, region: Region, category: Category, severity: int) -> Unit:
    """The unit a new case lands at (its owner unit, 受理单位)."""
    rule = rule_for(category)
    target = target_level(rule, severity)
    # A region above the target level (only a town or a county was found) starts at itself.
    start = region.level if level_index(region.level) < level_index(target) else target
    codes = region_codes_by_level(region.code, region.level)
    handling = rule.handling_unit_kind if rule is not None else None

    def kinds_at(level: str) -> list[str]:
        kinds = [handling] if handling else []
        triage = TRIAGE_KIND.get(level)
        if triage and triage not in kinds:
            kinds.append(triage)
        return kinds

    return _find(codes, start, kinds_at, start)


def escalation_target(case: Case, skip: bool = False, target_level: str | None = None) -> Unit:
    """The triage unit an escalation (上报) goes to: one level above the case's level, or for a
    skip (越级上报) two levels up or the named ``target_level``; higher still when that level has
    none. Refused at the top level or when the named level is not above the case."""
    current = case.level
    # A grid's work belongs to its village: escalating from a grid goes to the town.
    if current == Level.GRID:
        current = Level.VILLAGE
    one_up = parent_level(current)
    if one_up is None or one_up not in TRIAGE_KIND:
        raise WorkflowError("no_higher_level", _("This case is already at the highest level."))
    codes = region_codes_by_level(case.region_code, level_of_code(case.region_code))
    if target_level:
        if target_level not in TRIAGE_KIND or level_index(target_level) >= level_index(current):
            raise WorkflowError(
                "invalid_target_level",
                _("An escalation must go to a level above the case's current level."),
                field="target_level",
            )
        start = target_level
    elif skip:
        two_up = parent_level(one_up)
        start = two_up if two_up in TRIAGE_KIND and two_up in codes else one_up
    else:
        start = one_up
    if start not in codes:
        raise WorkflowError("no_higher_level", _("This case is already at the highest level."))
    return _find(codes, start, lambda level: [TRIAGE_KIND[level]], start)


def _connect_invalidation() -> None:
    from fengqiao.cases.models import Category, CategoryRule, ClockPolicy
    from fengqiao.core.models import AuditEvent

    for model in (Unit, Category, CategoryRule, ClockPolicy, Region):
        uid = f"cases.routing.invalidate.{model.__name__}"
        post_save.connect(invalidate, sender=model, dispatch_uid=uid + ".save")
        post_delete.connect(invalidate, sender=model, dispatch_uid=uid + ".delete")
    post_save.connect(_on_audit_event, sender=AuditEvent, dispatch_uid="cases.routing.audit")
