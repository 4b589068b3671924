"""Writers of the jurisdiction spine: division import and the demo structure (grids and units).

Both are bulk operations over tens of thousands of rows, so they use ``bulk_create`` /
``bulk_update`` in batches and set the derived columns (``scope_prefix``, ``region_code``,
``level``) themselves, since bulk writes skip ``save()``. Both are idempotent: running them again
changes only what differs and creates nothing twice.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from fengqiao.core import audit
from fengqiao.core.scoping import scope_prefix_for
from fengqiao.regions import divisions, naming
from fengqiao.regions.divisions import DivisionRow, KnownRegion
from fengqiao.regions.models import LEVEL_ORDER, Level, Region, Unit, UnitKind

SHIPPED_DIVISIONS = Path(__file__).resolve().parent / "data" / "shaoxing_divisions_2021.csv"
BATCH_SIZE = 1000
# Large enough for PostgreSQL, small enough for SQLite's limit of bound variables.
LOOKUP_CHUNK = 500
DEFAULT_DEMO_SEED = 2021
GRIDS_PER_VILLAGE = (3, 8)

T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _progress(total: int, description: str, enabled: bool) -> tqdm:
    return tqdm(total=total, desc=description, unit="行", disable=not enabled, leave=False)


# --- Division import ------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did: counts per level of created and updated regions."""

    rows: int = 0
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0
    seconds: float = 0.0

    @property
    def created_total(self) -> int:
        return sum(self.created.values())

    @property
    def updated_total(self) -> int:
        return sum(self.updated.values())

    def as_detail(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


def _known_regions(codes: Iterable[str]) -> dict[str, KnownRegion]:
    found: dict[str, KnownRegion] = {}
    for chunk in _chunks(sorted(set(codes)), LOOKUP_CHUNK):
        for code, level, prefix in Region.objects.filter(code__in=chunk).values_list(
            "code", "level", "scope_prefix"
        ):
            found[code] = KnownRegion(code, level, prefix)
    return found


@dataclass
class _Stored:
    id: int
    name: str
    place_name: str
    short_name: str
    full_name: str
    parent_id: int | None


# What an import writes on a known code (code and level never change: they are its identity).
_IMPORTED_FIELDS = ("name", "place_name", "short_name", "full_name", "parent_id")
_STORED_FIELDS = ("id", *_IMPORTED_FIELDS)


def _stored_regions(codes: Iterable[str]) -> dict[str, _Stored]:
    stored: dict[str, _Stored] = {}
    for chunk in _chunks(sorted(set(codes)), LOOKUP_CHUNK):
        for code, *values in Region.objects.filter(code__in=chunk).values_list(
            "code", *_STORED_FIELDS
        ):
            stored[code] = _Stored(*values)
    return stored


def full_name_for(level: str, place_name: str, parent_full_name: str) -> str:
    """Place names from the county down; a city or province is named alone (see Region)."""
    if level in (Level.PROVINCE, Level.CITY, Level.COUNTY):
        return place_name
    return f"{parent_full_name}{place_name}"


@transaction.atomic
def import_regions(
    path_or_file: str | Path | IO, *, actor: Any = None, progress: bool = True
) -> ImportReport:
    """Import a statistical division file (导入行政区划): all of it, or nothing.

    The whole file is validated first (``regions.divisions``); any problem raises
    ``DivisionFileRejected`` with every issue and line number, before anything is written.
    Known codes are updated in place (names, parent), new ones created level by level so that
    parents exist before their children. Re-importing the same file changes nothing.
    """
    started = time.monotonic()
    rows = divisions.validate(path_or_file, _known_regions)
    report = ImportReport(rows=len(rows))

    # Parents outside the file (already imported) supply ids and full names.
    in_file = {row.code for row in rows}
    stored = _stored_regions(
        in_file
        | {row.parent_code for row in rows if row.parent_code and row.parent_code not in in_file}
    )
    ids: dict[str, int] = {code: s.id for code, s in stored.items()}
    full_names: dict[str, str] = {code: s.full_name for code, s in stored.items()}
    renamed: list[str] = []
    now = timezone.now()

    by_level: dict[str, list[DivisionRow]] = {}
    for row in rows:
        by_level.setdefault(row.level, []).append(row)

    bar = _progress(len(rows), "导入区划", progress)
    for level in LEVEL_ORDER:
        level_rows = by_level.get(level, [])
        new: list[Region] = []
        changed: list[Region] = []
        for row in level_rows:
            place = naming.place_name_for(row.name, row.level)
            values = {
                "name": row.name,
                "place_name": place,
                "short_name": naming.short_name_for(row.name, row.level),
                "full_name": full_name_for(row.level, place, full_names.get(row.parent_code, "")),
                "parent_id": ids.get(row.parent_code),
            }
            full_names[row.code] = values["full_name"]
            current = stored.get(row.code)
            if current is None:
                new.append(
                    Region(
                        code=row.code,
                        level=row.level,
                        scope_prefix=scope_prefix_for(row.code, row.level),
                        **values,
                    )
                )
                continue
            if all(getattr(current, key) == value for key, value in values.items()):
                report.unchanged += 1
                continue
            if current.full_name != values["full_name"]:
                renamed.append(row.code)
            changed.append(Region(pk=current.id, updated_at=now, **values))
        for batch in _chunks(new, BATCH_SIZE):
            Region.objects.bulk_create(batch)
            bar.update(len(batch))
        _remember_ids(new, ids)
        for batch in _chunks(changed, BATCH_SIZE):
            Region.objects.bulk_update(batch, [*_IMPORTED_FIELDS, "updated_at"])
            bar.update(len(batch))
        bar.update(len(level_rows) - len(new) - len(changed))
        if new:
            report.created[level] = len(new)
        if changed:
            report.updated[level] = len(changed)
    bar.close()

    _link_cities_to_provinces()
    _refresh_names_below(renamed, skip=in_file)
    audit.record("regions.import", actor=actor, detail=report.as_detail())
    report.seconds = time.monotonic() - started
    return report


def _remember_ids(created: list[Region], ids: dict[str, int]) -> None:
    """Ids of freshly created rows: returned by the insert where the backend can, else read."""
    missing = []
    for region in created:
        if region.pk is None:
            missing.append(region.code)
        else:
            ids[region.code] = region.pk
    for chunk in _chunks(missing, LOOKUP_CHUNK):
        ids.update(Region.objects.filter(code__in=chunk).values_list("code", "id"))


def _link_cities_to_provinces() -> None:
    """A city imported before its province gets its parent once the province is there."""
    orphans = list(Region.objects.at_level(Level.CITY).filter(parent__isnull=True))
    if not orphans:
        return
    provinces = dict(
        Region.objects.at_level(Level.PROVINCE)
        .filter(code__in={city.code[:2] + "0000" for city in orphans})
        .values_list("code", "id")
    )
    for city in orphans:
        province_id = provinces.get(city.code[:2] + "0000")
        if province_id is not None:
            Region.objects.filter(pk=city.pk).update(
                parent_id=province_id, updated_at=timezone.now()
            )


# The parent of a town, village or grid is read off its code (9 → 6, 12 → 9, 15 → 12 digits).
_PARENT_CODE_LENGTH = {9: 6, 12: 9, 15: 12}


def _refresh_names_below(codes: list[str], *, skip: set[str]) -> None:
    """Recompute full names (and grid names) under renamed regions that the file did not carry.

    A renamed town changes the full name of its villages and grids; villages in the file were
    already recomputed, the rest (and every grid, which no file carries) are done here.
    Unit names are left alone: a body keeps its name until someone renames it.
    """
    now = timezone.now()
    for code in codes:
        region = Region.objects.get(code=code)
        # code → (full name, place name), filled top-down as the subtree is walked in code order.
        names = {region.code: (region.full_name, region.place_name)}
        changed: list[Region] = []
        for descendant in Region.objects.below(region).order_by("code"):
            parent_code = descendant.code[: _PARENT_CODE_LENGTH.get(len(descendant.code), 0)]
            parent_full, parent_place = names.get(parent_code, ("", ""))
            if descendant.code in skip:  # already written from the file
                names[descendant.code] = (descendant.full_name, descendant.place_name)
                continue
            full = full_name_for(descendant.level, descendant.place_name, parent_full)
            name = descendant.name
            if descendant.level == Level.GRID and parent_place:
                name = naming.grid_name(parent_place, int(descendant.code[-3:]))
            names[descendant.code] = (full, descendant.place_name)
            if (full, name) != (descendant.full_name, descendant.name):
                descendant.full_name, descendant.name, descendant.updated_at = full, name, now
                changed.append(descendant)
        Region.objects.bulk_update(
            changed, ["full_name", "name", "updated_at"], batch_size=BATCH_SIZE
        )


def load_shipped_divisions() -> ImportReport:
    """Import the shipped 绍兴市 division file (2,255 rows): fast, idempotent, quiet."""
    return import_regions(SHIPPED_DIVISIONS, progress=False)


# --- Demo structure -------------------------------------------------------------------------


@dataclass
class DemoStructureReport:
    """What ``build_demo_structure`` created (zero on a second run)."""

    grids: int = 0
    units: dict[str, int] = field(default_factory=dict)

    @property
    def units_total(self) -> int:
        return sum(self.units.values())


def grid_count(village_code: str, *, seed: int = DEFAULT_DEMO_SEED) -> int:
    """How many grids a village gets in the demo: 3–8, fixed by the village code and the seed.

    A hash rather than a random generator, so the answer does not depend on the order villages
    are visited or on how many were built before.
    """
    low, high = GRIDS_PER_VILLAGE
    digest = hashlib.sha256(f"{seed}:{village_code}".encode()).digest()
    return low + int.from_bytes(digest[:4], "big") % (high - low + 1)


@transaction.atomic
def build_demo_structure(
    *, seed: int = DEFAULT_DEMO_SEED, progress: bool = False
) -> DemoStructureReport:
    """Build grids (网格) under every village and the standard units of every region level.

    Works on whatever divisions are imported (one city or a province): each village gets
    3–8 grids (``grid_count``) with a grid station, and its people's mediation committee; each
    town its command room, police station, judicial office, enforcement team and market
    supervision office; each county its centre and bureaus; each city its centre, 政法委,
    扫黑办, 纪委监委 and the platform administration. Only missing grids and units are created
    (a unit is missing when its region has no unit of that kind), so a second run creates
    nothing. No accounts are created here.
    """
    report = DemoStructureReport()
    report.grids = _build_grids(seed=seed, progress=progress)

    regions = {
        level: list(
            Region.objects.at_level(level)
            .order_by("code")
            .values("id", "code", "name", "place_name")
        )
        for level in (Level.CITY, Level.COUNTY, Level.TOWN, Level.VILLAGE, Level.GRID)
    }
    names_by_code = {r["code"]: r["name"] for rows in regions.values() for r in rows}

    def city_name(code: str) -> str:
        return names_by_code.get(code[:4] + "00", "")

    planned: list[tuple[dict, str, str, str]] = []  # (region, level, kind, name)
    for city in regions[Level.CITY]:
        for kind, name in naming.city_unit_names(city["name"]).items():
            planned.append((city, Level.CITY, kind, name))
    for county in regions[Level.COUNTY]:
        names = naming.county_unit_names(county["name"], city_name(county["code"]))
        planned.extend((county, Level.COUNTY, kind, name) for kind, name in names.items())
    for town in regions[Level.TOWN]:
        names = naming.town_unit_names(
            town["name"], names_by_code.get(town["code"][:6], ""), city_name(town["code"])
        )
        planned.extend((town, Level.TOWN, kind, name) for kind, name in names.items())
    for village in regions[Level.VILLAGE]:
        names = naming.village_unit_names(village["place_name"] or village["name"])
        planned.extend((village, Level.VILLAGE, kind, name) for kind, name in names.items())
    for grid in regions[Level.GRID]:
        planned.append((grid, Level.GRID, UnitKind.GRID_STATION, grid["name"]))

    existing_kinds = set(Unit.objects.values_list("region_id", "kind"))
    existing_names = set(Unit.objects.values_list("region_id", "name"))
    new_units = [
        Unit(name=name, kind=kind, region_id=region["id"], region_code=region["code"], level=level)
        for region, level, kind, name in planned
        if (region["id"], kind) not in existing_kinds and (region["id"], name) not in existing_names
    ]
    bar = _progress(len(new_units), "创建单位", progress)
    for batch in _chunks(new_units, BATCH_SIZE):
        Unit.objects.bulk_create(batch)
        bar.update(len(batch))
    bar.close()
    for unit in new_units:
        report.units[unit.kind] = report.units.get(unit.kind, 0) + 1
    if report.grids or new_units:
        audit.record(
            "regions.demo_structure",
            detail={
                "seed": seed,
                "grids": report.grids,
                "units": report.units_total,
            },
        )
    return report


def _build_grids(*, seed: int, progress: bool) -> int:
    existing = set(Region.objects.at_level(Level.GRID).values_list("code", flat=True))
    villages = (
        Region.objects.at_level(Level.VILLAGE)
        .order_by("code")
        .values_list("id", "code", "place_name", "name", "full_name")
    )
    new: list[Region] = []
    for village_id, code, place, name, full in villages.iterator(chunk_size=5000):
        village_place = place or name
        for number in range(1, grid_count(code, seed=seed) + 1):
            grid_code = f"{code}{number:03d}"
            if grid_code in existing:
                continue
            grid_place = naming.grid_place_name(number)
            new.append(
                Region(
                    code=grid_code,
                    name=naming.grid_name(village_place, number),
                    place_name=grid_place,
                    short_name=grid_place,
                    full_name=full_name_for(Level.GRID, grid_place, full),
                    level=Level.GRID,
                    parent_id=village_id,
                    scope_prefix=scope_prefix_for(grid_code, Level.GRID),
                )
            )
    bar = _progress(len(new), "创建网格", progress)
    for batch in _chunks(new, BATCH_SIZE):
        Region.objects.bulk_create(batch)
        bar.update(len(batch))
    bar.close()
    return len(new)
