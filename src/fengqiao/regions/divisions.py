"""The statistical division file (行政区划代码文件): reading and validating, never writing.

Format: UTF-8 CSV (a BOM is fine) with the header ``code, code12, name, level, parent_code`` in
any order. ``code`` is the national statistical code at its natural length (province and city 6
digits, county 6, town 9, village 12), ``code12`` the same padded to 12 digits, ``level`` one of
province, city, county, town, village, ``parent_code`` the code one level up (empty only for a
province). Grids are not in the file: they are built from the villages.

A parent may be in the file or already in the database. A city may name a province that is in
neither (the shipped 绍兴市 file names 330000): the city then has no parent until the province
is imported.

Every problem is reported with its line number, a stable code and a Chinese message, and the
whole file is refused if there is any (``DivisionFileRejected``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from fengqiao.core.scoping import scope_prefix_for
from fengqiao.regions.models import PARENT_LEVEL

COLUMNS = ("code", "code12", "name", "level", "parent_code")
FILE_LEVELS = ("province", "city", "county", "town", "village")
NAME_MAX_LENGTH = 100

LEVEL_LABELS = {
    "province": "省",
    "city": "市",
    "county": "县（市、区）",
    "town": "乡镇（街道）",
    "village": "村（社区）",
}


class ErrorCode:
    """Stable codes of division-file errors (for programs; the messages are for people)."""

    ENCODING = "encoding"
    CSV_SYNTAX = "csv_syntax"
    EMPTY_FILE = "empty_file"
    HEADER_MISSING = "header_missing_columns"
    HEADER_EXTRA = "header_extra_columns"
    HEADER_DUPLICATE = "header_duplicate_columns"
    FIELD_COUNT = "field_count"
    CODE_INVALID = "code_invalid"
    CODE12_MISMATCH = "code12_mismatch"
    NAME_MISSING = "name_missing"
    NAME_TOO_LONG = "name_too_long"
    LEVEL_UNKNOWN = "level_unknown"
    LEVEL_CODE_MISMATCH = "level_code_mismatch"
    DUPLICATE_CODE = "duplicate_code"
    PARENT_MISSING = "parent_missing"
    PARENT_UNEXPECTED = "parent_unexpected"
    PARENT_UNKNOWN = "parent_unknown"
    PARENT_LEVEL = "parent_level"
    PARENT_PREFIX = "parent_prefix"


@dataclass(frozen=True)
class DivisionIssue:
    """One problem in a division file, at a line (1 = the header)."""

    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"第 {self.line} 行：{self.message} [{self.code}]"


class DivisionFileRejected(Exception):
    """The file was refused as a whole; ``issues`` lists every problem found."""

    def __init__(self, issues: list[DivisionIssue]) -> None:
        self.issues = sorted(issues, key=lambda issue: (issue.line, issue.code))
        super().__init__(f"区划文件有 {len(self.issues)} 处错误，未导入任何数据")


@dataclass(frozen=True)
class DivisionRow:
    """One valid line of the file."""

    line: int
    code: str
    name: str
    level: str
    parent_code: str

    @property
    def scope_prefix(self) -> str:
        return scope_prefix_for(self.code, self.level)


@dataclass(frozen=True)
class KnownRegion:
    """A parent found in the database: just what validation needs."""

    code: str
    level: str
    scope_prefix: str


# Finds regions already in the database by code: {code: KnownRegion}.
ParentLookup = Callable[[Iterable[str]], dict[str, KnownRegion]]


def read_text(source: str | Path | IO) -> str:
    """The file's text; a path, a binary file or a text file. Refuses anything but UTF-8."""
    if isinstance(source, str | Path):
        data: bytes | str = Path(source).read_bytes()
    else:
        data = source.read()
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DivisionFileRejected(
            [
                DivisionIssue(
                    line,
                    ErrorCode.ENCODING,
                    f"文件不是 UTF-8 编码（第 {exc.start + 1} 字节无法识别），"
                    "请另存为 UTF-8 后再导入",
                )
            ]
        ) from exc


def code_matches_level(code: str, level: str) -> bool:
    """Whether a code has the shape of its level (length, and the zeros a level implies)."""
    if level == "province":
        return len(code) == 6 and code[2:] == "0000"
    if level == "city":
        return len(code) == 6 and code[4:] == "00" and code[2:4] != "00"
    if level == "county":
        return len(code) == 6 and code[4:] != "00"
    if level == "town":
        return len(code) == 9
    if level == "village":
        return len(code) == 12
    return False


def parse(text: str) -> tuple[list[DivisionRow], list[DivisionIssue], set[str]]:
    """Rows that are valid on their own, the issues of those that are not, and the codes of
    the refused rows (so their children are not reported a second time as orphans)."""
    issues: list[DivisionIssue] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return [], [DivisionIssue(1, ErrorCode.CSV_SYNTAX, f"CSV 格式错误：{exc}")], set()
    if header is None:
        return [], [DivisionIssue(1, ErrorCode.EMPTY_FILE, "文件为空")], set()
    header = [cell.strip() for cell in header]
    missing = [c for c in COLUMNS if c not in header]
    extra = [c for c in header if c not in COLUMNS]
    duplicated = sorted({c for c in header if c in COLUMNS and header.count(c) > 1})
    if missing:
        issues.append(
            DivisionIssue(1, ErrorCode.HEADER_MISSING, f"表头缺少列：{'、'.join(missing)}")
        )
    if extra:
        issues.append(
            DivisionIssue(1, ErrorCode.HEADER_EXTRA, f"表头有多余的列：{'、'.join(extra)}")
        )
    if duplicated:
        issues.append(
            DivisionIssue(1, ErrorCode.HEADER_DUPLICATE, f"表头列重复：{'、'.join(duplicated)}")
        )
    if issues:
        return [], issues, set()
    position = {column: header.index(column) for column in COLUMNS}

    rows: list[DivisionRow] = []
    refused: set[str] = set()
    first_line_of: dict[str, int] = {}
    line = reader.line_num
    try:
        for record in reader:
            start, line = line + 1, reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                issues.append(
                    DivisionIssue(
                        start,
                        ErrorCode.FIELD_COUNT,
                        f"应有 {len(header)} 列，实际 {len(record)} 列",
                    )
                )
                continue
            row = {column: record[index].strip() for column, index in position.items()}
            row_issues = _check_row(start, row)
            if not row_issues and row["code"] in first_line_of:
                row_issues.append(
                    DivisionIssue(
                        start,
                        ErrorCode.DUPLICATE_CODE,
                        f"代码 {row['code']} 重复（第 {first_line_of[row['code']]} 行已出现）",
                    )
                )
            if row_issues:
                issues.extend(row_issues)
                refused.add(row["code"])
                continue
            first_line_of[row["code"]] = start
            rows.append(
                DivisionRow(start, row["code"], row["name"], row["level"], row["parent_code"])
            )
    except csv.Error as exc:
        issues.append(DivisionIssue(line + 1, ErrorCode.CSV_SYNTAX, f"CSV 格式错误：{exc}"))
    return rows, issues, refused


def _check_row(line: int, row: dict[str, str]) -> list[DivisionIssue]:
    issues: list[DivisionIssue] = []
    code, level, parent = row["code"], row["level"], row["parent_code"]
    if not code.isascii() or not code.isdigit():
        issues.append(
            DivisionIssue(line, ErrorCode.CODE_INVALID, f"代码“{code}”应为 6、9 或 12 位数字")
        )
        return issues
    if level not in FILE_LEVELS:
        issues.append(
            DivisionIssue(
                line,
                ErrorCode.LEVEL_UNKNOWN,
                f"层级“{level}”无效，应为 {', '.join(FILE_LEVELS)} 之一",
            )
        )
        return issues
    if not code_matches_level(code, level):
        issues.append(
            DivisionIssue(
                line,
                ErrorCode.LEVEL_CODE_MISMATCH,
                f"代码 {code} 与层级“{LEVEL_LABELS[level]}”不符",
            )
        )
    if row["code12"] != code.ljust(12, "0"):
        issues.append(
            DivisionIssue(
                line,
                ErrorCode.CODE12_MISMATCH,
                f"12 位代码“{row['code12']}”应为 {code.ljust(12, '0')}",
            )
        )
    if not row["name"]:
        issues.append(DivisionIssue(line, ErrorCode.NAME_MISSING, "名称为空"))
    elif len(row["name"]) > NAME_MAX_LENGTH:
        issues.append(
            DivisionIssue(line, ErrorCode.NAME_TOO_LONG, f"名称超过 {NAME_MAX_LENGTH} 个字")
        )
    if level == "province" and parent:
        issues.append(DivisionIssue(line, ErrorCode.PARENT_UNEXPECTED, "省级区划不应有上级代码"))
    elif level != "province" and not parent:
        issues.append(DivisionIssue(line, ErrorCode.PARENT_MISSING, "缺少上级代码"))
    return issues


def check_parents(
    rows: list[DivisionRow], lookup: ParentLookup, *, refused: set[str] | None = None
) -> list[DivisionIssue]:
    """Every row's parent exists (file or database), is one level up and prefixes the code.

    Rows whose parent line was itself refused (``refused``) are skipped.
    """
    refused = refused or set()
    in_file = {row.code: row for row in rows}
    wanted = {
        row.parent_code
        for row in rows
        if row.parent_code and row.parent_code not in in_file and row.parent_code not in refused
    }
    in_database = lookup(wanted) if wanted else {}
    issues: list[DivisionIssue] = []
    for row in rows:
        if row.level == "province" or row.parent_code in refused:
            continue
        parent = in_file.get(row.parent_code) or in_database.get(row.parent_code)
        if parent is None:
            if row.level == "city" and _province_shaped_for(row):
                continue  # the province may come later; see the module docstring
            issues.append(
                DivisionIssue(
                    row.line,
                    ErrorCode.PARENT_UNKNOWN,
                    f"上级代码 {row.parent_code} 既不在文件中，也不在系统中",
                )
            )
            continue
        expected = PARENT_LEVEL[row.level]
        if parent.level != expected:
            issues.append(
                DivisionIssue(
                    row.line,
                    ErrorCode.PARENT_LEVEL,
                    f"上级 {row.parent_code} 是“{LEVEL_LABELS.get(parent.level, parent.level)}”，"
                    f"“{LEVEL_LABELS[row.level]}”的上级应为“{LEVEL_LABELS[expected]}”",
                )
            )
            continue
        if not row.code.startswith(parent.scope_prefix):
            issues.append(
                DivisionIssue(
                    row.line,
                    ErrorCode.PARENT_PREFIX,
                    f"代码 {row.code} 不以上级 {row.parent_code} 的前缀 {parent.scope_prefix} 开头",
                )
            )
    return issues


def _province_shaped_for(row: DivisionRow) -> bool:
    parent = row.parent_code
    return code_matches_level(parent, "province") and row.code.startswith(parent[:2])


def validate(source: str | Path | IO, lookup: ParentLookup) -> list[DivisionRow]:
    """The file's rows, all valid, or ``DivisionFileRejected`` listing every problem."""
    rows, issues, refused = parse(read_text(source))
    # Parent problems of the good rows are reported too, so one pass shows everything; rows
    # whose parent line was itself refused are not reported again.
    issues += check_parents(rows, lookup, refused=refused)
    if issues:
        raise DivisionFileRejected(issues)
    return rows
