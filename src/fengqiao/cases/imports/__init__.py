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

Modules: ``columns`` (limits, headers, accepted words), ``results``, ``reading``, ``validation``,
``writing`` (``import_cases``), ``template`` (``build_template``).
"""

from __future__ import annotations

from fengqiao.cases.imports.columns import (
    COLUMN_HELP,
    COLUMNS,
    DATETIME_FORMATS,
    EARLIEST_YEAR,
    FIELD_BY_HEADER,
    GUIDE_NOTE,
    HEADER,
    MAX_AMOUNT,
    MAX_FILE_BYTES,
    MAX_PEOPLE,
    MAX_ROWS,
    SEVERITY_WORDS,
    SHEET_TITLE,
    TEMPLATE_TEXT_ROWS,
    URGENCY_WORDS,
)
from fengqiao.cases.imports.reading import (
    read_sheet,
)
from fengqiao.cases.imports.results import (
    ImportIssue,
    ImportRejected,
    ImportResult,
    ImportRow,
)
from fengqiao.cases.imports.template import (
    build_template,
)
from fengqiao.cases.imports.validation import (
    validate,
)
from fengqiao.cases.imports.writing import (
    ADVISORY_LOCK_KEY,
    IDEMPOTENCY_SCOPE,
    file_sha256,
    import_cases,
)

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "ADVISORY_LOCK_KEY",
    "IDEMPOTENCY_SCOPE",
    "SHEET_TITLE",
    "TEMPLATE_TEXT_ROWS",
    "COLUMNS",
    "HEADER",
    "FIELD_BY_HEADER",
    "COLUMN_HELP",
    "GUIDE_NOTE",
    "SEVERITY_WORDS",
    "URGENCY_WORDS",
    "DATETIME_FORMATS",
    "EARLIEST_YEAR",
    "MAX_PEOPLE",
    "MAX_AMOUNT",
    "ImportIssue",
    "ImportRejected",
    "ImportRow",
    "ImportResult",
    "read_sheet",
    "validate",
    "file_sha256",
    "import_cases",
    "build_template",
]
