"""The jurisdiction spine: regions (块) with national statistical codes, and units (条)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from fengqiao.core.models import PublicId, TimeStamped
from fengqiao.core.scoping import scope_prefix_for
from fengqiao.regions.querysets import RegionQuerySet, UnitQuerySet


class Level(models.TextChoices):
    """Administrative levels, top to bottom. Grids are 3 more digits under a village."""

    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County")
    TOWN = "town", _("Town")
    VILLAGE = "village", _("Village")
    GRID = "grid", _("Grid")


LEVEL_ORDER = [level.value for level in Level]
# Natural code length per level (ARCHITECTURE §5): province and city share 6 digits.
CODE_LENGTH = {"province": 6, "city": 6, "county": 6, "town": 9, "village": 12, "grid": 15}
PARENT_LEVEL = {
    "city": "province",
    "county": "city",
    "town": "county",
    "village": "town",
    "grid": "village",
}


class Region(TimeStamped):
    """An administrative region (行政区划) or grid (网格), keyed by its statistical code.

    ``code`` is the national statistical code at its natural length (city 330600, county 330681,
    town 330681109, village 330681109201, grid village + 3 digits). ``scope_prefix`` is the
    prefix that covers exactly this region's subtree; scoping everywhere else filters the
    denormalised ``region_code`` column of a row by it. Rows are written by
    ``regions.services`` (import and demo structure), which set ``scope_prefix`` themselves
    because ``bulk_create`` skips ``save()``.
    """

    code = models.CharField(_("code"), max_length=15, unique=True)
    # The official statistical name, as published (枫源村委会, 店口社区居委会).
    name = models.CharField(_("name"), max_length=100)
    # The place itself, for display and for matching place text (枫源村, 店口社区, 第1网格).
    place_name = models.CharField(_("place name"), max_length=100, blank=True)
    # Towns and counties without their suffix, as used inside unit names (枫桥, 诸暨).
    short_name = models.CharField(_("short name"), max_length=100, blank=True)
    # Place names from the county down (诸暨市枫桥镇枫源村第1网格); a city or province is just
    # its own name. The city is left out because addresses inside a city never repeat it.
    full_name = models.CharField(_("full name"), max_length=300, blank=True)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    scope_prefix = models.CharField(_("scope prefix"), max_length=15)
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level__in=LEVEL_ORDER), name="region_level_valid"
            ),
        ]
        indexes = [
            # Region.objects.children_of(...) and the browser's child listing.
            models.Index(fields=["parent", "code"], name="region_parent_code"),
            # Region.objects.at_level(...).within(prefix) for counts per level.
            models.Index(fields=["level", "code"], name="region_level_code"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.place_name or self.name

    def save(self, *args, **kwargs) -> None:
        # Derived, never entered: keep the stored prefix in step with code and level.
        self.scope_prefix = scope_prefix_for(self.code, self.level)
        super().save(*args, **kwargs)

    @property
    def region_code(self) -> str:
        return self.code

    def contains(self, code: str) -> bool:
        return code.startswith(self.scope_prefix)

    @property
    def ancestor_codes(self) -> list[str]:
        return ancestor_codes(self.code, self.level)


def ancestor_codes(code: str, level: str) -> list[str]:
    """Codes of the regions above ``code``, top first, read off the code itself (no queries).

    330681109290001 (grid) → 330000, 330600, 330681, 330681109, 330681109290.
    """
    depth = LEVEL_ORDER.index(level)
    candidates = [code[:2] + "0000", code[:4] + "00", code[:6], code[:9], code[:12]]
    return candidates[:depth]


class UnitKind(models.TextChoices):
    """Kinds of handling bodies (单位). The label is the Chinese-facing name via gettext."""

    COMMAND_ROOM = "command_room", _("Integrated information command room")
    POLICE_STATION = "police_station", _("Police station")
    JUSTICE_OFFICE = "justice_office", _("Judicial office")
    ENFORCEMENT_TEAM = "enforcement_team", _("Comprehensive law-enforcement team")
    MARKET_SUPERVISION = "market_supervision", _("Market supervision office")
    GOVERNANCE_CENTRE = "governance_centre", _("Social governance centre")
    PETITION_BUREAU = "petition_bureau", _("Letters and visits bureau")
    PUBLIC_SECURITY_BUREAU = "public_security_bureau", _("Public security bureau")
    JUSTICE_BUREAU = "justice_bureau", _("Justice bureau")
    HRSS_BUREAU = "hrss_bureau", _("Human resources and social security bureau")
    HOUSING_BUREAU = "housing_bureau", _("Housing and urban-rural development bureau")
    COURT = "court", _("Court (litigation services)")
    ANTI_GANG_OFFICE = "anti_gang_office", _("Anti-gang office")
    DISCIPLINE_COMMISSION = "discipline_commission", _("Discipline inspection and supervision")
    POLITICAL_LEGAL_COMMITTEE = "political_legal_committee", _("Political-legal committee")
    MEDIATION_COMMITTEE = "mediation_committee", _("People's mediation committee")
    GRID_STATION = "grid_station", _("Grid station")
    ADMINISTRATION = "administration", _("Platform administration")


class Unit(PublicId, TimeStamped):
    """A body that handles work (单位/部门): command room, 派出所, 司法所, 扫黑办, 调委会 …

    Units are the "条" beside the "块" of regions; cases and tips are assigned to units, and a
    membership's unit region is the member's scope.
    """

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=40, choices=UnitKind.choices)
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="units"
    )
    region_code = models.CharField(_("region code"), max_length=15, db_index=True)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    is_active = models.BooleanField(_("active"), default=True)

    objects = UnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["region_code", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="unit_unique_name_in_region"),
        ]
        indexes = [
            # Routing: "the unit of kind K in region R" (cases.routing, tips bypass).
            models.Index(fields=["kind", "region_code"], name="unit_kind_region"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        # Denormalised from the region so scoping is one indexed range on this table.
        self.region_code = self.region.code
        self.level = self.region.level
        super().save(*args, **kwargs)

    @property
    def scope_prefix(self) -> str:
        return self.region.scope_prefix
