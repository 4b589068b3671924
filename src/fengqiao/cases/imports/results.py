"""What validating and importing answer: the problems found, the checked rows, the outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from fengqiao.cases.models import Category, Severity, Urgency


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
