"""Place → region (地点定位): which region of the deployment a reported place is in.

Three ways, tried in order:

1. an explicit pick in the region tree (``region_code``): it must be a region of this deployment;
2. the place text matched against division names: every county, town and village name found in
   the text (official name 枫源村委会, place name 枫源村, short name 枫桥/诸暨), then the longest
   chain of them going down the tree (诸暨市 → 枫桥镇 → 枫源村 → 第1网格). Full names
   (``Region.full_name``, 诸暨市枫桥镇枫源村) are concatenations of place names, so they match
   link by link, and so do shortened forms such as 诸暨枫桥镇枫源村. A name alone (枫源村) is
   accepted only when it is unique in the deployment;
3. the WGS-84 point located in the shipped county boundaries (``data/
   shaoxing_city_county_wgs84.geojson``, display grade) → the county, whose centre triages it.

A point outside every county of the deployment is refused (``outside_territory``); a place that
none of the three resolves is ``place_unresolved``.

The name index is built once per process from the regions table (one query) and kept until
regions change: saving or deleting a region or a ``regions.*`` audit event (imports and the demo
builder announce themselves that way) drops it at once in this process, and every
``INDEX_RECHECK_SECONDS`` a cheap count/last-change query notices imports done by other processes.
"""

from __future__ import annotations

import json
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Count, Max
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _

from fengqiao.core.models import AuditEvent
from fengqiao.regions.models import LEVEL_ORDER, Level, Region

BOUNDARIES = Path(__file__).resolve().parent / "data" / "shaoxing_city_county_wgs84.geojson"
INDEX_RECHECK_SECONDS = 60.0
# The boundaries are display grade: a point this close to a county (≈ 1 km) but in the gap
# between two simplified outlines still belongs to it.
BOUNDARY_TOLERANCE_DEGREES = 0.01
# How a resolution was made; the values are those of cases.models.RegionResolution.
HOW_PICKED = "picked"
HOW_TEXT = "text"
HOW_POINT = "point"
CODE_LENGTHS = frozenset({6, 9, 12, 15})
MAX_CANDIDATES_SHOWN = 5
_DEPTH = {level: index for index, level in enumerate(LEVEL_ORDER)}


def is_region_code(code: str) -> bool:
    """Whether ``code`` has the form of a statistical division code (ASCII digits, 6/9/12/15
    long). Anything else names no region and must not reach a query: PostgreSQL refuses a NUL."""
    return code.isascii() and code.isdigit() and len(code) in CODE_LENGTHS


@dataclass(frozen=True)
class PlaceResolution:
    region: Region
    how: str


class PlaceError(Exception):
    """A place that cannot be resolved; ``code`` is stable, ``message`` Chinese for people."""

    def __init__(self, code: str, message: str, *, candidates: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = str(message)
        self.candidates = candidates

    def __str__(self) -> str:
        return self.message


# --- the name index ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    id: int
    code: str
    level: str
    prefix: str
    full_name: str

    @property
    def depth(self) -> int:
        return _DEPTH[self.level]


@dataclass
class _NameIndex:
    entries: list[_Entry] = field(default_factory=list)
    # First two characters → (name, entry positions) longest name first.
    names: dict[str, list[tuple[str, tuple[int, ...]]]] = field(default_factory=dict)
    # Village position → {grid name: grid position} (第1网格, 枫源村第1网格).
    grids: dict[int, dict[str, int]] = field(default_factory=dict)
    county_codes: frozenset[str] = frozenset()
    stamp: tuple[Any, ...] = ()


def _normalise(text: str) -> str:
    # NFKC folds full-width digits and letters (３组 → 3组); people put spaces anywhere.
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def _stamp() -> tuple[Any, ...]:
    row = Region.objects.aggregate(n=Count("id"), last=Max("updated_at"))
    return (row["n"], row["last"])


def _build_index() -> _NameIndex:
    index = _NameIndex(stamp=_stamp())
    by_name: dict[str, list[int]] = {}
    village_positions: dict[str, int] = {}
    grid_rows = []
    rows = Region.objects.order_by("code").values_list(
        "id", "code", "level", "scope_prefix", "name", "place_name", "short_name", "full_name"
    )
    for region_id, code, level, prefix, name, place, short, full in rows.iterator(chunk_size=5000):
        if level == Level.GRID:
            grid_rows.append((region_id, code, prefix, name, place, full))
            continue
        position = len(index.entries)
        index.entries.append(_Entry(region_id, code, level, prefix, full or place or name))
        if level == Level.VILLAGE:
            village_positions[code] = position
        for variant in {_normalise(name), _normalise(place), _normalise(short)}:
            if len(variant) >= 2:
                by_name.setdefault(variant, []).append(position)
    for region_id, code, prefix, name, place, full in grid_rows:
        village = village_positions.get(code[:12])
        if village is None:
            continue
        position = len(index.entries)
        index.entries.append(_Entry(region_id, code, Level.GRID, prefix, full or name))
        names = index.grids.setdefault(village, {})
        for variant in {_normalise(name), _normalise(place)}:
            if variant:
                names[variant] = position
    for variant, positions in by_name.items():
        index.names.setdefault(variant[:2], []).append((variant, tuple(positions)))
    for bucket in index.names.values():
        bucket.sort(key=lambda item: -len(item[0]))
    index.county_codes = frozenset(e.code for e in index.entries if e.level == Level.COUNTY)
    return index


_lock = threading.Lock()
_index: _NameIndex | None = None
_checked_at = 0.0


def invalidate(**_kwargs: Any) -> None:
    """Drop the name index; the next lookup rebuilds it."""
    global _index
    _index = None


def _name_index() -> _NameIndex:
    global _index, _checked_at
    index = _index
    now = time.monotonic()
    if index is not None and now - _checked_at < INDEX_RECHECK_SECONDS:
        return index
    with _lock:
        if _index is not None and (
            now - _checked_at < INDEX_RECHECK_SECONDS or _index.stamp == _stamp()
        ):
            _checked_at = now
            return _index
        _index = _build_index()
        _checked_at = time.monotonic()
        return _index


def _on_audit_event(sender, instance: AuditEvent, created: bool, **kwargs: Any) -> None:
    if created and instance.action.startswith("regions."):
        invalidate()
        # Rebuilt before the import commits, another thread could cache the old names again.
        transaction.on_commit(invalidate)


# Connected here rather than in an AppConfig: there is no index to drop before this module is
# imported. Bulk imports skip Region's signals, hence the audit event as well.
post_save.connect(invalidate, sender=Region, dispatch_uid="regions.places.region_saved")
post_delete.connect(invalidate, sender=Region, dispatch_uid="regions.places.region_deleted")
post_save.connect(_on_audit_event, sender=AuditEvent, dispatch_uid="regions.places.audit")


# --- text -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Match:
    """The best chain of names found in a text: its last region and how good the chain is."""

    position: int
    links: int
    chars: int
    end: int


def _hits(index: _NameIndex, text: str) -> list[tuple[int, int, int]]:
    """(start, end, entry position) of every name in the text, minus names inside longer ones."""
    found: list[tuple[int, int, int]] = []
    for start in range(len(text) - 1):
        bucket = index.names.get(text[start : start + 2])
        if not bucket:
            continue
        seen: set[int] = set()
        for variant, positions in bucket:
            if text.startswith(variant, start):
                end = start + len(variant)
                for position in positions:
                    if position not in seen:
                        seen.add(position)
                        found.append((start, end, position))
    # 店口社区 holds the town's short name 店口: the longer name is what was written.
    spans = {(start, end) for start, end, _p in found}
    return sorted(
        (start, end, position)
        for start, end, position in found
        if not any(
            s <= start and end <= e and (e - s) > (end - start)
            for s, e in spans
            if (s, e) != (start, end)
        )
    )


def _chains(index: _NameIndex, hits: list[tuple[int, int, int]]) -> list[_Match]:
    """For each hit, the best chain of ancestors ending in it (links, matched characters)."""
    best: list[_Match] = []
    for i, (start, end, position) in enumerate(hits):
        entry = index.entries[position]
        links, chars = 1, end - start
        for j in range(i):
            p_start, p_end, p_position = hits[j]
            parent = index.entries[p_position]
            if (
                p_end <= start
                and parent.depth < entry.depth
                and entry.code.startswith(parent.prefix)
                and (best[j].links + 1, best[j].chars + end - start) > (links, chars)
            ):
                links, chars = best[j].links + 1, best[j].chars + end - start
        best.append(_Match(position, links, chars, end))
    return best


def _from_text(index: _NameIndex, text: str) -> list[_Match]:
    """The best matches of the text: one when it is clear, several when it is ambiguous."""
    text = _normalise(text)
    matches = _chains(index, _hits(index, text))
    if not matches:
        return []
    top = max((m.links, index.entries[m.position].depth) for m in matches)
    winners: dict[int, _Match] = {}
    for match in matches:
        if (match.links, index.entries[match.position].depth) == top:
            kept = winners.get(match.position)
            if kept is None or match.chars > kept.chars:
                winners[match.position] = match
    result = []
    for match in winners.values():
        grid = _grid_after(index, match, text)
        result.append(match if grid is None else _Match(grid, match.links + 1, match.chars, 0))
    return result


def _grid_after(index: _NameIndex, match: _Match, text: str) -> int | None:
    """A grid of the matched village named after it (枫源村第1网格)."""
    grids = index.grids.get(match.position)
    if not grids:
        return None
    rest = text[match.end :]
    named = [(len(name), position) for name, position in grids.items() if name in rest]
    return max(named)[1] if named else None


# --- points -----------------------------------------------------------------------------------


@cache
def _boundaries() -> list[tuple[str, Any]]:
    """(county code, prepared shape) of the shipped county outlines."""
    import shapely
    from shapely.geometry import shape

    features = json.loads(BOUNDARIES.read_text(encoding="utf-8"))["features"]
    outlines = []
    for feature in features:
        if feature["properties"].get("level") != "county":
            continue
        geometry = shape(feature["geometry"])
        shapely.prepare(geometry)
        outlines.append((feature["properties"]["code"], geometry))
    return sorted(outlines)


def _county_at(latitude: float, longitude: float) -> str | None:
    from shapely.geometry import Point

    point = Point(longitude, latitude)
    outlines = _boundaries()
    for code, outline in outlines:
        if outline.contains(point):
            return code
    near = min(((outline.distance(point), code) for code, outline in outlines), default=None)
    if near is not None and near[0] <= BOUNDARY_TOLERANCE_DEGREES:
        return near[1]
    return None


def _point(latitude: Any, longitude: Any) -> tuple[float, float] | None:
    if latitude in (None, "") and longitude in (None, ""):
        return None
    try:
        lat, lng = Decimal(str(latitude)), Decimal(str(longitude))
    except (InvalidOperation, ValueError):
        lat = lng = None
    if lat is None or lng is None or not lat.is_finite() or not lng.is_finite():
        raise PlaceError(
            "point_invalid",
            _("Give both latitude and longitude as decimal degrees (WGS-84)."),
        )
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise PlaceError(
            "point_invalid",
            _("Latitude must lie between -90 and 90 and longitude between -180 and 180."),
        )
    return float(lat), float(lng)


# --- resolution -------------------------------------------------------------------------------


def _region(index: _NameIndex, position: int) -> Region | None:
    return Region.objects.filter(pk=index.entries[position].id).first()


def _pick(region_code: str) -> PlaceResolution:
    code = region_code.strip()
    if not is_region_code(code):
        raise PlaceError(
            "region_invalid",
            _("“%(code)s” is not a region code (6, 9, 12 or 15 digits).") % {"code": code},
        )
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise PlaceError(
            "outside_territory",
            _("Region %(code)s is not in the territory this platform serves.") % {"code": code},
        )
    return PlaceResolution(region, HOW_PICKED)


def resolve_place(
    *,
    region_code: str | None = None,
    text: str = "",
    latitude: Any = None,
    longitude: Any = None,
) -> PlaceResolution:
    """The region a place is in: explicit pick, else the place text, else the point.

    Raises ``PlaceError`` with code ``region_invalid`` / ``point_invalid`` (malformed input),
    ``outside_territory`` (a region or point this deployment does not serve) or
    ``place_unresolved`` (nothing matched, or a name that several regions share).
    """
    point = _point(latitude, longitude)
    if region_code:
        return _pick(region_code)
    index = _name_index()
    matches = _from_text(index, text) if text else []
    # Stale index (regions removed since it was built): rebuild once and match again.
    regions = [_region(index, m.position) for m in matches]
    if any(region is None for region in regions):
        invalidate()
        index = _name_index()
        matches = _from_text(index, text)
        regions = [_region(index, m.position) for m in matches]
    regions = [region for region in regions if region is not None]

    county = _county_at(*point) if point else None
    if len(regions) > 1 and county:
        # The point settles a name several regions share (two villages called 新民村).
        inside = [region for region in regions if region.code.startswith(county)]
        if len(inside) == 1:
            return PlaceResolution(inside[0], HOW_TEXT)
    # A text that names only the city (or province) says less than a located point.
    if len(regions) == 1 and (_DEPTH[regions[0].level] >= _DEPTH[Level.COUNTY] or not point):
        return PlaceResolution(regions[0], HOW_TEXT)

    if point:
        located = _from_point(index, point, county)
        if located is not None:
            return located
    if len(regions) == 1:
        return PlaceResolution(regions[0], HOW_TEXT)
    if len(regions) > 1:
        names = sorted(region.full_name or region.name for region in regions)
        shown = "、".join(names[:MAX_CANDIDATES_SHOWN])
        raise PlaceError(
            "place_unresolved",
            _(
                "The place “%(text)s” matches several regions (%(names)s): add the town or the "
                "county, or pick the region."
            )
            % {"text": text.strip(), "names": shown},
            candidates=tuple(names),
        )
    raise PlaceError(
        "place_unresolved",
        _(
            "The place could not be matched to a region: write the county, town and village "
            "(e.g. 诸暨市枫桥镇枫源村), pick the region, or give the location."
        ),
    )


def _from_point(
    index: _NameIndex, point: tuple[float, float], county: str | None
) -> PlaceResolution | None:
    latitude, longitude = point
    if county is not None:
        region = Region.objects.filter(code=county, level=Level.COUNTY).first()
        if region is not None:
            return PlaceResolution(region, HOW_POINT)
    elif index.county_codes - {code for code, _outline in _boundaries()}:
        # Some counties of this deployment have no shipped outline: the point may be in one.
        return None
    raise PlaceError(
        "outside_territory",
        _(
            "The location (%(latitude).5f, %(longitude).5f) is outside the territory this "
            "platform serves."
        )
        % {"latitude": latitude, "longitude": longitude},
    )
