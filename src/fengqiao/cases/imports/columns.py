"""The import file's shape: size limits, the columns and their headers and help, and the words and
formats cells may use."""

from __future__ import annotations

import re
from decimal import Decimal

from django.utils.translation import gettext_lazy

from fengqiao.cases.models import Severity, Urgency

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 2000
SHEET_TITLE = "案件"
# Rows of the blank template whose ID number, phone and code cells are pre-formatted as text.
TEMPLATE_TEXT_ROWS = 500

# (field, header). The header text is what the template carries and what errors name.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("category_code", "类别编码"),
    ("category_name", "类别名称"),
    ("title", "标题"),
    ("description", "描述"),
    ("place_text", "地点"),
    ("region_code", "行政区划代码"),
    ("latitude", "纬度"),
    ("longitude", "经度"),
    ("severity", "严重程度"),
    ("urgency", "紧急程度"),
    ("people_count", "涉及人数"),
    ("amount", "涉及金额"),
    ("occurred_at", "发生时间"),
    ("external_ref", "外部编号"),
    ("party_name", "当事人姓名"),
    ("party_id_number", "当事人身份证号"),
    ("party_phone", "当事人电话"),
)
HEADER = dict(COLUMNS)
FIELD_BY_HEADER = {header: name for name, header in COLUMNS}
# Shown in the template's instructions sheet, beside each header.
COLUMN_HELP = {
    "category_code": gettext_lazy(
        "Category code (e.g. dispute.neighbour); give it or the category name. "
        "See the “类别” sheet."
    ),
    "category_name": gettext_lazy(
        "Category name (e.g. 邻里纠纷); give the code when names repeat."
    ),
    "title": gettext_lazy("Required, up to 200 characters."),
    "description": gettext_lazy("Required, up to 5,000 characters."),
    "place_text": gettext_lazy(
        "Place, e.g. 诸暨市枫桥镇枫源村3组; give at least the place, the region code or the "
        "coordinates."
    ),
    "region_code": gettext_lazy("Region code (6, 9, 12 or 15 digits); used first when given."),
    "latitude": gettext_lazy("Latitude (WGS-84 decimal degrees), together with the longitude."),
    "longitude": gettext_lazy("Longitude (WGS-84 decimal degrees), together with the latitude."),
    "severity": gettext_lazy("一般, 较大, 重大, 特别重大 or 1–4; 一般 when empty."),
    "urgency": gettext_lazy("一般 or 紧急; 一般 when empty."),
    "people_count": gettext_lazy("Number of people involved, a whole number."),
    "amount": gettext_lazy("Amount involved in yuan, not negative, at most two decimals."),
    "occurred_at": gettext_lazy(
        "When it happened, e.g. 2026-03-01 14:30 or 2026-03-01; not in the future."
    ),
    "external_ref": gettext_lazy(
        "Reference in the source system, up to 100 characters; references imported before are "
        "skipped."
    ),
    "party_name": gettext_lazy("Party's name; required with an ID number or phone."),
    "party_id_number": gettext_lazy("18-character resident ID number, in a text cell."),
    "party_phone": gettext_lazy("11-digit mobile, or a landline with its area code."),
}

GUIDE_NOTE = gettext_lazy(
    "One case per row. A file with any problem imports nothing: correct the rows the error list "
    "names and upload it again."
)

SEVERITY_WORDS = {
    "一般": Severity.GENERAL,
    "较大": Severity.LARGE,
    "重大": Severity.MAJOR,
    "特别重大": Severity.EXTREME,
}
URGENCY_WORDS = {
    "一般": Urgency.NORMAL,
    "普通": Urgency.NORMAL,
    "正常": Urgency.NORMAL,
    "normal": Urgency.NORMAL,
    "紧急": Urgency.URGENT,
    "加急": Urgency.URGENT,
    "urgent": Urgency.URGENT,
}
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
)
EARLIEST_YEAR = 1950
MAX_PEOPLE = 1_000_000
MAX_AMOUNT = Decimal("999999999999.99")
# Required-column markers people add to headers: 标题*, 标题（必填）.
_HEADER_DECORATION = re.compile(r"[\s*＊]|[（(]必填[）)]")
