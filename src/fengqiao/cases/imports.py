"""Excel batch import of cases (批量导入): every row checked first, then all rows or none.

The template (``build_template``) has one header row in Chinese and one case per row below it.
``import_cases`` reads the whole sheet and validates every row — category, place, numbers, dates,
ID numbers (GB 11643 check digit), phones, lengths — collecting each problem as
``(row, column, code, message)`` with the Excel row number; if anything is wrong nothing is
written. Otherwise every case is created in ONE transaction through ``services.report_case``
(channel "import"), so a refusal on any row rolls back the rows before it too.

Idempotency, decided here:
- the same file (same SHA-256) imported again creates nothing and answers with the first
  import's result (``core.idempotency``, scope ``cases.import``);
- a row whose 外部编号 (external reference) was already imported through the import channel —
  from any file — is skipped and reported as skipped, so an edited file can be re-imported safely;
- rows without an external reference are only protected by the file hash: give 外部编号 when a
  file may be changed and imported again.

Cells are read as written, never evaluated: a cell that looks like a formula (=, +, -, @) is
stored as the literal text (the Excel export neutralises such cells on the way out).
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fengqiao.cases.models import Case, Category, Channel, Severity, Taxonomy, Urgency
from fengqiao.core import audit, idempotency
from fengqiao.core.validators import (
    is_valid_id_number,
    is_valid_phone,
    normalise_id_number,
    normalise_phone,
)
from fengqiao.regions.places import PlaceError, resolve_place

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 2000
# pg_advisory_xact_lock key serialising imports ("FQIMPORT"): the "already imported" check on
# external references and the inserts must not interleave between two imports.
ADVISORY_LOCK_KEY = 0x4651_494D_504F_5254
IDEMPOTENCY_SCOPE = "cases.import"
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


@dataclass(frozen=True)
class ImportIssue:
    """One problem: Excel row number (1 is the header row; 0 the file itself), column, code."""

    row: int
    column: str
    code: str
    message: str


class ImportRejected(Exception):
    """The file was refused; ``issues`` lists every problem found, in row order."""

    def __init__(self, issues: list[ImportIssue]) -> None:
        super().__init__(f"{len(issues)} problem(s)")
        self.issues = sorted(issues, key=lambda issue: (issue.row, issue.column))


@dataclass
class ImportRow:
    """A validated row, ready for ``report_case``."""

    row: int
    category: Category
    title: str
    description: str
    place_text: str = ""
    region_code: str | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    severity: int = Severity.GENERAL
    urgency: str = Urgency.NORMAL
    people_count: int | None = None
    amount: Decimal | None = None
    occurred_at: datetime | None = None
    external_ref: str = ""
    party_name: str = ""
    party_id_number: str = ""
    party_phone: str = ""


@dataclass
class ImportResult:
    """What an import did: case codes created, rows skipped as already imported."""

    sha256: str
    rows: int = 0
    created: list[str] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    # True when this exact file had been imported before: nothing was done this time.
    replayed: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "skipped": [list(item) for item in self.skipped],
        }


# --- reading ----------------------------------------------------------------------------------


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


# --- validating -------------------------------------------------------------------------------


class _RowChecker:
    """Parses one row's cells into an ``ImportRow``, noting every problem."""

    def __init__(self, number: int, values: tuple[Any, ...], positions: dict[str, int]) -> None:
        self.number = number
        self.values = values
        self.positions = positions
        self.issues: list[ImportIssue] = []

    def raw(self, name: str) -> Any:
        position = self.positions.get(name)
        if position is None or position >= len(self.values):
            return None
        return self.values[position]

    def text(self, name: str) -> str:
        return _cell_text(self.raw(name))

    def fail(self, name: str, code: str, message: str) -> None:
        self.issues.append(ImportIssue(self.number, HEADER[name], code, message))

    def required_text(self, name: str, limit: int) -> str:
        value = self.text(name)
        if not value:
            self.fail(name, "required", _("This column is required."))
        elif len(value) > limit:
            self.fail(name, "too_long", _("At most %(limit)d characters.") % {"limit": limit})
        return value

    def optional_text(self, name: str, limit: int) -> str:
        value = self.text(name)
        if len(value) > limit:
            self.fail(name, "too_long", _("At most %(limit)d characters.") % {"limit": limit})
        return value

    def decimal(self, name: str) -> Decimal | None:
        value = self.raw(name)
        if value is None or _cell_text(value) == "":
            return None
        text = _cell_text(value).replace(",", "").replace("，", "").removesuffix("元")
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            self.fail(name, "invalid_number", _("Enter a number."))
            return None
        return number

    def people_count(self) -> int | None:
        number = self.decimal("people_count")
        if number is None:
            return None
        if number != number.to_integral_value() or not 0 <= number <= MAX_PEOPLE:
            self.fail(
                "people_count",
                "invalid_number",
                _("Enter a whole number of people between 0 and %(max)d.") % {"max": MAX_PEOPLE},
            )
            return None
        return int(number)

    def amount(self) -> Decimal | None:
        number = self.decimal("amount")
        if number is None:
            return None
        if number < 0 or number > MAX_AMOUNT or number != number.quantize(Decimal("0.01")):
            self.fail(
                "amount",
                "invalid_number",
                _("Enter an amount in yuan, not negative, with at most two decimals."),
            )
            return None
        return number.quantize(Decimal("0.01"))

    def severity(self) -> int:
        text = self.text("severity")
        if not text:
            return Severity.GENERAL
        if text in SEVERITY_WORDS:
            return SEVERITY_WORDS[text]
        if text.isdigit() and int(text) in Severity.values:
            return int(text)
        self.fail(
            "severity",
            "invalid_choice",
            _("Write 一般, 较大, 重大 or 特别重大 (or 1 to 4)."),
        )
        return Severity.GENERAL

    def urgency(self) -> str:
        text = self.text("urgency")
        if not text:
            return Urgency.NORMAL
        if text.lower() in URGENCY_WORDS:
            return URGENCY_WORDS[text.lower()]
        self.fail("urgency", "invalid_choice", _("Write 一般 or 紧急."))
        return Urgency.NORMAL

    def occurred_at(self) -> datetime | None:
        value = self.raw("occurred_at")
        if value is None or _cell_text(value) == "":
            return None
        moment: datetime | None = None
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime.combine(value, time.min)
        else:
            text = _cell_text(value)
            for pattern in DATETIME_FORMATS:
                try:
                    moment = datetime.strptime(text, pattern)
                    break
                except ValueError:
                    continue
        if moment is None:
            self.fail(
                "occurred_at",
                "invalid_date",
                _("Enter a date and time such as 2026-03-01 14:30 or 2026-03-01."),
            )
            return None
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        if moment > timezone.now():
            self.fail("occurred_at", "future_date", _("The time cannot be in the future."))
            return None
        if moment.year < EARLIEST_YEAR:
            self.fail(
                "occurred_at",
                "invalid_date",
                _("The time cannot be before %(year)d.") % {"year": EARLIEST_YEAR},
            )
            return None
        return moment

    def id_number(self) -> str:
        value = self.raw("party_id_number")
        if isinstance(value, float):
            # Excel keeps 15 significant digits: an 18-digit number typed as a number is lost.
            self.fail(
                "party_id_number",
                "id_number_as_number",
                _("Format the ID number cell as text: as a number Excel cuts its last digits."),
            )
            return ""
        text = _cell_text(value)
        if text and not is_valid_id_number(text):
            self.fail(
                "party_id_number",
                "invalid_id_number",
                _("Not a valid 18-character resident ID number: check the last (check) digit."),
            )
            return ""
        return normalise_id_number(text) if text else ""

    def phone(self) -> str:
        text = self.text("party_phone")
        if text and not is_valid_phone(text):
            self.fail(
                "party_phone",
                "invalid_phone",
                _("Not a valid phone number: an 11-digit mobile or a landline with area code."),
            )
            return ""
        return normalise_phone(text) if text else ""


class _Categories:
    """Every category once, looked up by code or by name for the whole file."""

    def __init__(self) -> None:
        self.by_code: dict[str, Category] = {}
        self.by_name: dict[str, list[Category]] = {}
        for category in Category.objects.exclude(taxonomy=Taxonomy.MEDIATION_STATS):
            self.by_code[category.code] = category
            if category.is_active and category.is_reportable:
                self.by_name.setdefault(category.name, []).append(category)

    def find(self, checker: _RowChecker) -> Category | None:
        code, name = checker.text("category_code"), checker.text("category_name")
        if code:
            category = self.by_code.get(code)
            column = "category_code"
            if category is None:
                checker.fail(
                    column,
                    "unknown_category",
                    _("No category has the code “%(code)s”.") % {"code": code},
                )
                return None
            if name and name != category.name:
                checker.fail(
                    "category_name",
                    "category_mismatch",
                    _("The category code %(code)s is “%(name)s”, not “%(given)s”.")
                    % {"code": code, "name": category.name, "given": name},
                )
                return None
        elif name:
            column = "category_name"
            found = self.by_name.get(name, [])
            if len(found) > 1:
                codes = "、".join(category.code for category in found)
                checker.fail(
                    column,
                    "ambiguous_category",
                    _("Several categories are called “%(name)s” (%(codes)s): give the code.")
                    % {"name": name, "codes": codes},
                )
                return None
            if not found:
                checker.fail(
                    column,
                    "unknown_category",
                    _("No category that can be reported is called “%(name)s”.") % {"name": name},
                )
                return None
            category = found[0]
        else:
            checker.fail(
                "category_code",
                "required",
                _("Give the category code or the category name."),
            )
            return None
        if not category.is_active:
            checker.fail(column, "inactive_category", _("This category is no longer in use."))
            return None
        if not category.is_reportable:
            checker.fail(
                column,
                "category_not_reportable",
                _("“%(name)s” is a group of categories: choose one of the categories in it.")
                % {"name": category.name},
            )
            return None
        return category


# Which column a place problem points at.
_PLACE_COLUMN = {
    "region_invalid": "region_code",
    "point_invalid": "latitude",
    "place_unresolved": "place_text",
}


def _check_place(checker: _RowChecker, row: ImportRow, scope_prefix: str | None) -> None:
    if not (row.place_text or row.region_code or row.latitude is not None):
        if checker.text("longitude"):
            checker.fail("latitude", "point_invalid", _("Give the latitude with the longitude."))
        else:
            checker.fail(
                "place_text",
                "place_required",
                _("Give the place, the region code or the coordinates."),
            )
        return
    try:
        resolution = resolve_place(
            region_code=row.region_code,
            text=row.place_text,
            latitude=row.latitude,
            longitude=row.longitude,
        )
    except PlaceError as error:
        column = _PLACE_COLUMN.get(error.code)
        if column is None:  # outside_territory: of the pick, or else of the point
            column = "region_code" if row.region_code else "latitude"
        checker.fail(column, error.code, error.message)
        return
    region = resolution.region
    if scope_prefix is not None and not region.code.startswith(scope_prefix):
        column = {"picked": "region_code", "point": "latitude"}.get(resolution.how, "place_text")
        checker.fail(
            column,
            "outside_scope",
            _("%(place)s is outside your area.") % {"place": region.full_name or region.name},
        )


def validate(
    data: bytes, *, scope_prefix: str | None = None
) -> tuple[list[ImportRow], list[ImportIssue]]:
    """Parse and check the whole file; the rows, and every problem found (empty when none)."""
    header, body = read_sheet(data)
    positions, issues = _columns(header)
    if issues:
        return [], issues
    if not body:
        return [], [ImportIssue(2, "", "no_rows", _("The file holds no cases below the header."))]
    categories = _Categories()
    rows: list[ImportRow] = []
    first_row_of_ref: dict[str, int] = {}
    for number, values in body:
        checker = _RowChecker(number, values, positions)
        category = categories.find(checker)
        row = ImportRow(
            row=number,
            category=category,  # type: ignore[arg-type]  (None only when an issue was noted)
            title=checker.required_text("title", 200),
            description=checker.required_text("description", 5000),
            place_text=checker.optional_text("place_text", 300),
            region_code=checker.text("region_code") or None,
            latitude=checker.decimal("latitude"),
            longitude=checker.decimal("longitude"),
            severity=checker.severity(),
            urgency=checker.urgency(),
            people_count=checker.people_count(),
            amount=checker.amount(),
            occurred_at=checker.occurred_at(),
            external_ref=checker.optional_text("external_ref", 100),
            party_name=checker.optional_text("party_name", 100),
            party_id_number=checker.id_number(),
            party_phone=checker.phone(),
        )
        if not row.party_name and (checker.text("party_id_number") or checker.text("party_phone")):
            checker.fail(
                "party_name", "required", _("Give the party's name with the ID number or phone.")
            )
        if row.external_ref:
            earlier = first_row_of_ref.setdefault(row.external_ref, number)
            if earlier != number:
                checker.fail(
                    "external_ref",
                    "duplicate_external_ref",
                    _("The same external reference is on row %(row)d.") % {"row": earlier},
                )
        _check_place(checker, row, scope_prefix)
        issues.extend(checker.issues)
        rows.append(row)
    return rows, issues


# --- writing ----------------------------------------------------------------------------------


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _already_imported(refs: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(refs), 500):
        found.update(
            Case.objects.filter(
                channel=Channel.IMPORT, external_ref__in=refs[start : start + 500]
            ).values_list("external_ref", flat=True)
        )
    return found


# Which column a refusal from report_case points at (its ``field``).
_FIELD_COLUMN = {
    "category": "category_code",
    "title": "title",
    "description": "description",
    "place_text": "place_text",
    "region_code": "region_code",
    "latitude": "latitude",
    "longitude": "longitude",
    "severity": "severity",
    "urgency": "urgency",
    "people_count": "people_count",
    "amount": "amount",
}


def import_cases(*, data: bytes, actor: Any, membership: Any) -> ImportResult:
    """Import a workbook of cases: all rows or none (see the module docstring).

    Raises ``ImportRejected`` with every problem; returns what was created and skipped.
    ``membership`` (the importer's active role) limits places to its area.
    """
    from fengqiao.cases import services  # services imports much; only the write path needs it

    sha = file_sha256(data)
    scope = membership.scope_prefix if membership is not None else None
    rows, issues = validate(data, scope_prefix=scope)
    if issues:
        raise ImportRejected(issues)
    result = ImportResult(sha256=sha, rows=len(rows))
    ran: list[bool] = []

    def create() -> tuple[int, dict[str, Any]]:
        ran.append(True)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        done = _already_imported([row.external_ref for row in rows if row.external_ref])
        for row in rows:
            if row.external_ref in done:
                result.skipped.append((row.row, row.external_ref))
                continue
            parties = []
            if row.party_name:
                parties.append(
                    services.PartyData(
                        role="applicant",
                        name=row.party_name,
                        id_number=row.party_id_number,
                        phone=row.party_phone,
                    )
                )
            try:
                case = services.report_case(
                    data=services.IntakeData(
                        category=row.category,
                        channel=Channel.IMPORT,
                        title=row.title,
                        description=row.description,
                        place_text=row.place_text,
                        latitude=row.latitude,
                        longitude=row.longitude,
                        region_code=row.region_code,
                        severity=row.severity,
                        urgency=row.urgency,
                        people_count=row.people_count,
                        amount=row.amount,
                        occurred_at=row.occurred_at,
                        external_ref=row.external_ref,
                        parties=parties,
                    ),
                    actor=actor,
                    membership=membership,
                )
            except services.WorkflowError as error:
                field_name = (error.field or "").split(".")[-1]
                column = _FIELD_COLUMN.get(field_name, "")
                if field_name.startswith("parties") or (error.field or "").startswith("parties"):
                    column = {"id_number": "party_id_number", "phone": "party_phone"}.get(
                        field_name, "party_name"
                    )
                raise ImportRejected(
                    [ImportIssue(row.row, HEADER.get(column, ""), error.code, error.message)]
                ) from error
            result.created.append(case.code)
        audit.record(
            "cases.imported",
            actor=actor,
            membership=membership,
            detail={
                "sha256": sha,
                "rows": len(rows),
                "created": len(result.created),
                "skipped": len(result.skipped),
            },
        )
        return 201, result.as_json()

    status, body = idempotency.run(
        scope=IDEMPOTENCY_SCOPE, key=sha, payload={"sha256": sha}, create=create
    )
    if not ran:
        # This very file was imported before: the stored answer of that first import.
        return ImportResult(
            sha256=sha,
            rows=body["rows"],
            created=list(body["created"]),
            skipped=[(row, ref) for row, ref in body["skipped"]],
            replayed=True,
        )
    return result


# --- the blank template -----------------------------------------------------------------------


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
