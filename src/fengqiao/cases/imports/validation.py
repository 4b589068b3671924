"""Checking every row of the file — category, place, numbers, dates, ID numbers, phones, lengths —
and collecting each problem with its Excel row number and column."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.cases.imports.columns import (
    DATETIME_FORMATS,
    EARLIEST_YEAR,
    HEADER,
    MAX_AMOUNT,
    MAX_PEOPLE,
    SEVERITY_WORDS,
    URGENCY_WORDS,
)
from fengqiao.cases.imports.reading import _cell_text, _columns, read_sheet
from fengqiao.cases.imports.results import ImportIssue, ImportRow
from fengqiao.cases.models import Category, Severity, Taxonomy, Urgency
from fengqiao.core.validators import (
    is_valid_id_number,
    is_valid_phone,
    normalise_id_number,
    normalise_phone,
)
from fengqiao.regions.places import PlaceError, resolve_place


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
