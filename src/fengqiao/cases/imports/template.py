"""The blank template workbook: the case sheet, its instructions and the list of categories."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _

from fengqiao.cases.imports.columns import (
    COLUMN_HELP,
    COLUMNS,
    GUIDE_NOTE,
    HEADER,
    SHEET_TITLE,
    TEMPLATE_TEXT_ROWS,
)
from fengqiao.cases.models import Category, Taxonomy


def build_template() -> bytes:
    """The blank workbook: the case sheet with its headers, instructions, and the categories."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLE
    sheet.append([header for _name, header in COLUMNS])
    for position, (name, header) in enumerate(COLUMNS, start=1):
        letter = get_column_letter(position)
        sheet.cell(row=1, column=position).font = Font(bold=True)
        sheet.column_dimensions[letter].width = max(12, len(header) * 2 + 4)
        if name in ("party_id_number", "party_phone", "region_code", "external_ref"):
            # Text cells, so Excel keeps every digit of ID numbers, phones and codes.
            for row in range(2, TEMPLATE_TEXT_ROWS + 2):
                sheet.cell(row=row, column=position).number_format = "@"
    sheet.freeze_panes = "A2"

    guide = workbook.create_sheet("填写说明")
    guide.append([str(_("Column")), str(_("What to enter"))])
    for name, header in COLUMNS:
        guide.append([header, str(COLUMN_HELP[name])])
    guide.append([])
    guide.append(["", str(GUIDE_NOTE)])
    guide.column_dimensions["A"].width = 18
    guide.column_dimensions["B"].width = 80

    listing = workbook.create_sheet("类别")
    listing.append([HEADER["category_code"], HEADER["category_name"], str(_("Taxonomy"))])
    labels = dict(Taxonomy.choices)
    for category in Category.objects.reportable().order_by("taxonomy", "sort_order", "code"):
        listing.append([category.code, category.name, str(labels[category.taxonomy])])
    listing.column_dimensions["A"].width = 32
    listing.column_dimensions["B"].width = 28
    listing.column_dimensions["C"].width = 24

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
