"""Excel export of a filtered case list (导出).

A write-only openpyxl workbook: rows go to disk as they are written, and the cases are read in
chunks, so a large export does not hold every row in memory twice. Cells a spreadsheet would
read as a formula (starting with ``= + - @``, or a tab or carriage return before one) are
neutralised with a leading apostrophe (SECURITY 13, OWASP CSV injection). The sheet carries no
party data (names, ID numbers, phones) and no free-text description: only case fields.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from fengqiao.cases.models import Case

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Larger lists are narrowed with the filters first; an export is a working list, not a dump.
MAX_ROWS = 100_000
CHUNK = 2000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would evaluate becomes literal text; other values pass."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _local(value: datetime | None) -> datetime | None:
    # Excel has no time zones: write local wall-clock time (Asia/Shanghai by default).
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def _unit(unit: Any) -> str:
    return unit.name if unit is not None else ""


COLUMNS: list[tuple[Any, Callable[[Case], Any]]] = [
    (gettext_lazy("Case code"), lambda c: c.code),
    (gettext_lazy("Title"), lambda c: c.title),
    (gettext_lazy("Kind"), lambda c: c.get_kind_display()),
    (gettext_lazy("Category"), lambda c: c.category.name),
    (gettext_lazy("Channel"), lambda c: c.get_channel_display()),
    (gettext_lazy("Status"), lambda c: c.get_status_display()),
    (gettext_lazy("Level"), lambda c: c.get_level_display()),
    (gettext_lazy("Accepting unit"), lambda c: _unit(c.owner_unit)),
    (gettext_lazy("Handling unit"), lambda c: _unit(c.handler_unit)),
    (gettext_lazy("Region"), lambda c: c.region.display_name),
    (gettext_lazy("Region code"), lambda c: c.region_code),
    (gettext_lazy("Place"), lambda c: c.place_text),
    (gettext_lazy("Severity"), lambda c: c.get_severity_display()),
    (gettext_lazy("Urgency"), lambda c: c.get_urgency_display()),
    (gettext_lazy("Supervision"), lambda c: c.get_supervision_display()),
    (gettext_lazy("Reported at"), lambda c: _local(c.reported_at)),
    (gettext_lazy("Accept by"), lambda c: _local(c.accept_due_at)),
    (gettext_lazy("Handle by"), lambda c: _local(c.handle_due_at)),
    (gettext_lazy("Closed at"), lambda c: _local(c.closed_at)),
    (gettext_lazy("Satisfaction"), lambda c: c.satisfaction),
]


def cases_workbook(cases: Iterable[Case]) -> bytes:
    """The .xlsx file of ``cases`` (a queryset with ``for_list()`` joins, already scoped)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Cases"))
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for title, _getter in COLUMNS:
        cell = WriteOnlyCell(sheet, value=str(title))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    rows = cases.iterator(chunk_size=CHUNK) if hasattr(cases, "iterator") else cases
    for case in rows:
        row = []
        for _title, getter in COLUMNS:
            cell = WriteOnlyCell(sheet, value=neutralise(getter(case)))
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            row.append(cell)
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
