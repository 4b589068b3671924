"""Reading the workbook: the header row and the non-blank rows below it, cells as written."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time
from typing import Any

from django.utils.translation import gettext as _

from fengqiao.cases.imports.columns import (
    _HEADER_DECORATION,
    FIELD_BY_HEADER,
    HEADER,
    MAX_FILE_BYTES,
    MAX_ROWS,
)
from fengqiao.cases.imports.results import ImportIssue, ImportRejected


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return str(value).strip()


def read_sheet(data: bytes) -> tuple[list[str], list[tuple[int, tuple[Any, ...]]]]:
    """Header texts and (Excel row number, cell values) of the non-blank rows below them."""
    from openpyxl import load_workbook

    if len(data) > MAX_FILE_BYTES:
        raise ImportRejected(
            [ImportIssue(0, "", "file_too_large", _("The file is larger than 5 MB."))]
        )
    try:
        # read_only streams the sheet; data_only=False keeps formulas as their literal text.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportRejected(
            [ImportIssue(0, "", "invalid_file", _("The file is not an Excel workbook (.xlsx)."))]
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise ImportRejected(
                [ImportIssue(1, "", "empty_file", _("The sheet is empty: no header row."))]
            )
        body: list[tuple[int, tuple[Any, ...]]] = []
        for number, values in enumerate(rows, start=2):
            if all(_cell_text(value) == "" for value in values):
                continue
            if len(body) >= MAX_ROWS:
                raise ImportRejected(
                    [
                        ImportIssue(
                            number,
                            "",
                            "too_many_rows",
                            _("A file holds at most %(max)d cases; split it.") % {"max": MAX_ROWS},
                        )
                    ]
                )
            body.append((number, tuple(values)))
    finally:
        workbook.close()
    return [_cell_text(value) for value in header], body


def _columns(header: list[str]) -> tuple[dict[str, int], list[ImportIssue]]:
    """Field → column position, and the problems of the header row."""
    positions: dict[str, int] = {}
    issues: list[ImportIssue] = []
    for position, raw in enumerate(header):
        text = _HEADER_DECORATION.sub("", raw)
        if not text:
            continue
        name = FIELD_BY_HEADER.get(text)
        if name is None:
            issues.append(
                ImportIssue(
                    1,
                    raw,
                    "unknown_column",
                    _("Unknown column “%(header)s”: use the headers of the template.")
                    % {"header": raw},
                )
            )
        elif name in positions:
            issues.append(
                ImportIssue(
                    1,
                    raw,
                    "duplicate_column",
                    _("The column “%(header)s” appears twice.") % {"header": raw},
                )
            )
        else:
            positions[name] = position
    for name in ("title", "description"):
        if name not in positions:
            issues.append(_missing_column(HEADER[name]))
    if "category_code" not in positions and "category_name" not in positions:
        issues.append(_missing_column(HEADER["category_code"]))
    if not positions.keys() & {"place_text", "region_code", "latitude"}:
        issues.append(_missing_column(HEADER["place_text"]))
    return positions, issues


def _missing_column(header: str) -> ImportIssue:
    return ImportIssue(
        1, header, "missing_column", _("The column “%(header)s” is missing.") % {"header": header}
    )
