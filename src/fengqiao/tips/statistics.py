"""Tip statistics for 扫黑办 leaders (DOMAIN §5 metrics) and their Excel export.

One table per region and period: a row per child region plus the total. Tips are counted by the
day they were received (a cohort), so a period's figures settle as its tips are handled:

- received (收到线索), concluded (办结: closed, rejected or merged) and 查结率 = concluded / received;
- verified (查实 + 查否), substantiated (查实) and 查实率 = substantiated / verified;
- transferred (移送), cases opened (立案), officials involved (涉及公职人员), overdue (carded).

**Small counts are suppressed** so that no reporter can be singled out: a count of 1 or 2 is shown
as "<3" (0 is shown: it singles nobody out). Where a column has exactly one suppressed child cell,
the smallest other non-zero child cell of that column is suppressed too, since the total minus the
others would give it away. A rate is shown only when both of its counts are shown.

Tips that name officials at or above the viewer's seat are left out of the viewer's figures, as
they are left out of everything else the viewer sees (the bypass rule). The export contains these
figures only, never a tip's content; text cells that a spreadsheet would run as a formula (starting
with = + - @) are neutralised with a leading apostrophe.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from fengqiao.regions.models import Region
from fengqiao.tips.models import CONCLUDED_STATUSES, Disposal, Tip, Verification

SUPPRESS_BELOW = 3
COUNTS = (
    "received",
    "concluded",
    "verified",
    "substantiated",
    "transferred",
    "cases_opened",
    "officials",
    "overdue",
)
RATES = {
    "conclusion_rate": ("concluded", "received"),
    "substantiation_rate": ("substantiated", "verified"),
}
_FORMULA_START = ("=", "+", "-", "@")


@dataclass
class Row:
    """One line of the table; a count is None when suppressed, a rate None when not shown."""

    region_code: str
    region_name: str
    counts: dict[str, int | None] = field(default_factory=dict)
    rates: dict[str, float | None] = field(default_factory=dict)


@dataclass
class Table:
    region_code: str
    region_name: str
    start: date
    end: date
    rows: list[Row]
    total: Row


def _aggregates() -> dict[str, Count]:
    return {
        "received": Count("id"),
        "concluded": Count("id", filter=Q(status__in=CONCLUDED_STATUSES)),
        "verified": Count("id", filter=~Q(verification="")),
        "substantiated": Count("id", filter=Q(verification=Verification.SUBSTANTIATED)),
        "transferred": Count("id", filter=Q(disposal=Disposal.TRANSFERRED)),
        "cases_opened": Count("id", filter=Q(disposal=Disposal.CASE_OPENED)),
        "officials": Count("id", filter=Q(officials_involved=True)),
        "overdue": Count("id", filter=~Q(card="none")),
    }


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    first = timezone.make_aware(datetime.combine(start, time.min))
    after = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
    return first, after


def build_table(*, region: Region, viewer_region_code: str, start: date, end: date) -> Table:
    """The statistics of ``region`` for tips received from ``start`` to ``end`` (inclusive),
    as seen from a unit seated at ``viewer_region_code`` (see the bypass note above)."""
    first, after = _bounds(start, end)
    tips = (
        Tip.objects.unscoped_all()
        .within(region.scope_prefix)
        .not_bypassing(viewer_region_code)
        .filter(received_at__gte=first, received_at__lt=after)
        .order_by()
    )
    children = list(Region.objects.children_of(region).order_by("code"))
    raw: dict[str, dict[str, int]] = {}
    if children:
        length = len(children[0].scope_prefix)
        grouped = tips.annotate(prefix=Substr("region_code", 1, length)).values("prefix")
        for entry in grouped.annotate(**_aggregates()):
            raw[entry.pop("prefix")] = entry
    total_raw = tips.aggregate(**_aggregates())
    rows = [
        Row(
            child.code,
            child.display_name,
            dict(raw.get(child.scope_prefix, dict.fromkeys(COUNTS, 0))),
        )
        for child in children
    ]
    total = Row(region.code, pgettext("tip statistics", "Total"), dict(total_raw))
    _suppress(rows, total)
    for row in [*rows, total]:
        row.rates = {
            name: _rate(row.counts[num], row.counts[den]) for name, (num, den) in RATES.items()
        }
    return Table(region.code, region.display_name, start, end, rows, total)


def _rate(numerator: int | None, denominator: int | None) -> float | None:
    if numerator is None or denominator in (None, 0):
        return None
    return round(numerator / denominator, 4)


def _small(value: int | None) -> bool:
    return value is not None and 0 < value < SUPPRESS_BELOW


def _suppress(rows: list[Row], total: Row) -> None:
    """Primary suppression of 1 and 2, then one complementary cell per exposed column."""
    for column in COUNTS:
        hidden = [row for row in rows if _small(row.counts[column])]
        for row in hidden:
            row.counts[column] = None
        if _small(total.counts[column]):
            total.counts[column] = None
        if len(hidden) == 1 and total.counts[column] is not None:
            shown = [row for row in rows if row.counts[column]]
            if shown:
                partner = min(shown, key=lambda row: (row.counts[column], row.region_code))
                partner.counts[column] = None


# --- Excel ----------------------------------------------------------------------------------


def neutralise(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe (SECURITY 13)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def headers() -> list[str]:
    # A context keeps these column names apart from the same English words elsewhere.
    return [
        pgettext("tip statistics", "Region"),
        pgettext("tip statistics", "Received"),
        pgettext("tip statistics", "Concluded"),
        pgettext("tip statistics", "Conclusion rate"),
        pgettext("tip statistics", "Verified"),
        pgettext("tip statistics", "Substantiated"),
        pgettext("tip statistics", "Substantiation rate"),
        pgettext("tip statistics", "Transferred"),
        pgettext("tip statistics", "Cases opened"),
        pgettext("tip statistics", "Officials involved"),
        pgettext("tip statistics", "Overdue"),
    ]


def _line(row: Row) -> list[object]:
    suppressed = "<3"

    def count(name: str) -> object:
        value = row.counts[name]
        return suppressed if value is None else value

    def rate(name: str) -> object:
        value = row.rates[name]
        return "" if value is None else value

    return [
        row.region_name,
        count("received"),
        count("concluded"),
        rate("conclusion_rate"),
        count("verified"),
        count("substantiated"),
        rate("substantiation_rate"),
        count("transferred"),
        count("cases_opened"),
        count("officials"),
        count("overdue"),
    ]


def to_xlsx(table: Table) -> bytes:
    """The table as an Excel workbook (figures only; see the module docstring)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = _("Tip statistics")[:31]
    sheet.append([neutralise(_("Tip statistics: %(region)s") % {"region": table.region_name})])
    sheet.append(
        [
            neutralise(
                _("Tips received %(start)s to %(end)s") % {"start": table.start, "end": table.end}
            )
        ]
    )
    sheet.append([neutralise(h) for h in headers()])
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for row in [*table.rows, table.total]:
        sheet.append([neutralise(value) for value in _line(row)])
        for index in (4, 7):  # the two rates
            cell = sheet.cell(row=sheet.max_row, column=index)
            if isinstance(cell.value, float):
                cell.number_format = "0.0%"
    sheet.append([])
    sheet.append(
        [neutralise(_("Counts of 1 or 2 are shown as <3 so that no reporter can be singled out."))]
    )
    sheet.column_dimensions["A"].width = 24
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
