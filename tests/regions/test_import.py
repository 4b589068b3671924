"""Division import: the shipped file, idempotent re-import, and whole-file refusal of bad files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from fengqiao.core.models import AuditEvent
from fengqiao.regions import services
from fengqiao.regions.divisions import DivisionFileRejected, ErrorCode
from fengqiao.regions.models import Region

pytestmark = pytest.mark.django_db

# Not shipped (26,793 rows); read from the shared data directory when it is on this machine.
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
ZHEJIANG_FILE = SHARED_DATA / "regions" / "zhejiang_divisions_2021.csv"

HEADER = "code,code12,name,level,parent_code"
# A new town under 诸暨市 (already loaded by conftest) with two villages.
GOOD_ROWS = [
    "330681990,330681990000,试验镇,town,330681",
    "330681990001,330681990001,甲村委会,village,330681990",
    "330681990002,330681990002,乙社区居委会,village,330681990",
]


def csv_bytes(*rows: str, header: str = HEADER, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO("\n".join([header, *rows, ""]).encode(encoding))


def snapshot() -> tuple[int, int]:
    return Region.objects.count(), AuditEvent.objects.filter(action="regions.import").count()


def test_shipped_file_gives_the_shaoxing_spine():
    assert Region.objects.at_level("city").count() == 1
    assert Region.objects.at_level("county").count() == 6
    assert Region.objects.at_level("town").count() == 103
    assert Region.objects.at_level("village").count() == 2145
    fengyuan = Region.objects.get(code="330681109290")
    assert fengyuan.name == "枫源村委会"
    assert fengyuan.place_name == "枫源村"
    assert fengyuan.full_name == "诸暨市枫桥镇枫源村"
    assert fengyuan.scope_prefix == "330681109290"
    assert fengyuan.parent.code == "330681109"
    city = Region.objects.get(code="330600")
    assert city.scope_prefix == "3306"
    assert city.parent is None  # 浙江省 is not shipped; the city waits for it


def test_reimporting_the_shipped_file_changes_nothing():
    before = Region.objects.count()
    report = services.load_shipped_divisions()
    assert report.rows == 2255
    assert report.created == {}
    assert report.updated == {}
    assert report.unchanged == 2255
    assert Region.objects.count() == before


def test_import_creates_rows_with_place_names_and_audits_counts():
    report = services.import_regions(csv_bytes(*GOOD_ROWS), progress=False)
    assert report.created == {"town": 1, "village": 2}
    town = Region.objects.get(code="330681990")
    assert (town.short_name, town.full_name, town.parent.code) == ("试验", "诸暨市试验镇", "330681")
    village = Region.objects.get(code="330681990002")
    assert village.place_name == "乙社区"
    assert village.full_name == "诸暨市试验镇乙社区"
    assert village.parent_id == town.pk
    event = AuditEvent.objects.filter(action="regions.import").latest("id")
    assert event.detail["created"] == {"town": 1, "village": 2}


def test_reimport_updates_names_without_duplicating():
    services.import_regions(csv_bytes(*GOOD_ROWS), progress=False)
    count = Region.objects.count()
    renamed = [GOOD_ROWS[0].replace("试验镇", "新试验街道"), *GOOD_ROWS[1:]]
    report = services.import_regions(csv_bytes(*renamed), progress=False)
    assert Region.objects.count() == count
    assert report.created == {}
    assert report.updated == {"town": 1, "village": 2}  # the villages' full names follow
    assert Region.objects.get(code="330681990001").full_name == "诸暨市新试验街道甲村"


def test_renaming_a_town_refreshes_full_names_of_villages_and_grids_not_in_the_file():
    row = "330681109,330681109000,枫桥新镇,town,330681"
    services.import_regions(csv_bytes(row), progress=False)
    assert Region.objects.get(code="330681109290").full_name == "诸暨市枫桥新镇枫源村"
    assert Region.objects.get(code="330681109290001").full_name == "诸暨市枫桥新镇枫源村第1网格"


def test_renaming_a_village_renames_its_grids():
    row = "330681109290,330681109290,枫源新村委会,village,330681109"
    services.import_regions(csv_bytes(row), progress=False)
    grid = Region.objects.get(code="330681109290001")
    assert (grid.name, grid.full_name) == ("枫源新村第1网格", "诸暨市枫桥镇枫源新村第1网格")


def test_utf8_bom_is_accepted():
    data = io.BytesIO(b"\xef\xbb\xbf" + csv_bytes(*GOOD_ROWS).getvalue())
    report = services.import_regions(data, progress=False)
    assert report.created_total == 3


def test_header_columns_may_come_in_any_order():
    rows = ["试验镇,330681990,330681,town,330681990000"]
    report = services.import_regions(
        csv_bytes(*rows, header="name,code,parent_code,level,code12"), progress=False
    )
    assert report.created == {"town": 1}


BAD_FILES = {
    "not utf-8": (
        dict(rows=GOOD_ROWS, encoding="gbk"),
        ErrorCode.ENCODING,
        2,
    ),
    "missing column": (
        dict(rows=[r.rsplit(",", 1)[0] for r in GOOD_ROWS], header="code,code12,name,level"),
        ErrorCode.HEADER_MISSING,
        1,
    ),
    "extra column": (
        dict(rows=[r + ",x" for r in GOOD_ROWS], header=HEADER + ",population"),
        ErrorCode.HEADER_EXTRA,
        1,
    ),
    "unknown parent": (
        dict(rows=[*GOOD_ROWS, "330681991001,330681991001,丙村委会,village,330681991"]),
        ErrorCode.PARENT_UNKNOWN,
        5,
    ),
    "duplicate code": (
        dict(rows=[*GOOD_ROWS, "330681990002,330681990002,丁村委会,village,330681990"]),
        ErrorCode.DUPLICATE_CODE,
        5,
    ),
    "code length does not fit the level": (
        dict(rows=[*GOOD_ROWS, "330681990,330681990000,戊村委会,village,330681990"]),
        ErrorCode.LEVEL_CODE_MISMATCH,
        5,
    ),
    "parent not one level up": (
        dict(rows=[*GOOD_ROWS, "330681990003,330681990003,己村委会,village,330681"]),
        ErrorCode.PARENT_LEVEL,
        5,
    ),
    "code outside the parent's prefix": (
        dict(rows=[*GOOD_ROWS, "330682990003,330682990003,庚村委会,village,330681990"]),
        ErrorCode.PARENT_PREFIX,
        5,
    ),
    "unknown level": (
        dict(rows=[*GOOD_ROWS, "330681990004,330681990004,辛村委会,hamlet,330681990"]),
        ErrorCode.LEVEL_UNKNOWN,
        5,
    ),
    "code12 disagrees with code": (
        dict(rows=[*GOOD_ROWS, "330681990005,330681990006,壬村委会,village,330681990"]),
        ErrorCode.CODE12_MISMATCH,
        5,
    ),
    "wrong number of fields": (
        dict(rows=[*GOOD_ROWS, "330681990007,330681990007,癸村委会,village"]),
        ErrorCode.FIELD_COUNT,
        5,
    ),
    "province with a parent": (
        dict(rows=["990000,990000000000,测试省,province,330000"]),
        ErrorCode.PARENT_UNEXPECTED,
        2,
    ),
}


@pytest.mark.parametrize("case", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_file_is_refused_whole_with_line_numbers(case):
    spec, code, line = case
    before = snapshot()
    with pytest.raises(DivisionFileRejected) as refused:
        services.import_regions(
            csv_bytes(
                *spec["rows"],
                header=spec.get("header", HEADER),
                encoding=spec.get("encoding", "utf-8"),
            ),
            progress=False,
        )
    assert (line, code) in [(issue.line, issue.code) for issue in refused.value.issues]
    assert all(issue.message for issue in refused.value.issues)
    assert any(str(issue).startswith(f"第 {line} 行") for issue in refused.value.issues)
    assert snapshot() == before
    assert not Region.objects.filter(code__startswith="330681990").exists()


def test_every_problem_in_a_file_is_reported_in_one_pass():
    rows = [
        *GOOD_ROWS,
        "330681990002,330681990002,重复村委会,village,330681990",
        "330681991001,330681991001,孤儿村委会,village,330681991",
        "abc,abc,坏代码,village,330681990",
    ]
    with pytest.raises(DivisionFileRejected) as refused:
        services.import_regions(csv_bytes(*rows), progress=False)
    found = [(issue.line, issue.code) for issue in refused.value.issues]
    assert found == [
        (5, ErrorCode.DUPLICATE_CODE),
        (6, ErrorCode.PARENT_UNKNOWN),
        (7, ErrorCode.CODE_INVALID),
    ]


def test_children_of_a_refused_line_are_not_reported_again():
    rows = ["330681990,330681990000,,town,330681", *GOOD_ROWS[1:]]
    with pytest.raises(DivisionFileRejected) as refused:
        services.import_regions(csv_bytes(*rows), progress=False)
    assert [(i.line, i.code) for i in refused.value.issues] == [(2, ErrorCode.NAME_MISSING)]


def test_encoding_error_names_the_line():
    data = csv_bytes(*GOOD_ROWS).getvalue().replace("乙".encode(), b"\xff\xfe")
    with pytest.raises(DivisionFileRejected) as refused:
        services.import_regions(io.BytesIO(data), progress=False)
    assert [(i.line, i.code) for i in refused.value.issues] == [(4, ErrorCode.ENCODING)]


def test_a_failure_while_writing_leaves_nothing_behind(monkeypatch):
    before = snapshot()

    def broken_audit(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(services.audit, "record", broken_audit)
    with pytest.raises(RuntimeError):
        services.import_regions(csv_bytes(*GOOD_ROWS), progress=False)
    assert snapshot() == before


def test_province_row_has_no_parent_and_adopts_the_orphan_city():
    rows = ["330000,330000000000,浙江省,province,"]
    report = services.import_regions(csv_bytes(*rows), progress=False)
    assert report.created == {"province": 1}
    province = Region.objects.get(code="330000")
    assert (province.parent, province.scope_prefix) == (None, "33")
    assert Region.objects.get(code="330600").parent == province


def test_a_city_may_name_a_province_not_yet_imported_but_no_other_level_may():
    rows = ["990100,990100000000,测试市,city,990000"]
    assert services.import_regions(csv_bytes(*rows), progress=False).created == {"city": 1}
    assert Region.objects.get(code="990100").parent is None
    rows = ["990101,990101000000,测试区,county,990100", "990201,990201000000,孤县,county,990200"]
    with pytest.raises(DivisionFileRejected) as refused:
        services.import_regions(csv_bytes(*rows), progress=False)
    assert [(i.line, i.code) for i in refused.value.issues] == [(3, ErrorCode.PARENT_UNKNOWN)]


@pytest.mark.slow
@pytest.mark.skipif(not ZHEJIANG_FILE.exists(), reason="the Zhejiang file is not on this machine")
def test_full_zhejiang_file_imports_and_reimports_idempotently():
    report = services.import_regions(ZHEJIANG_FILE, progress=False)
    assert report.rows == 26793
    assert Region.objects.at_level("province").count() == 1
    assert Region.objects.at_level("city").count() == 11
    assert Region.objects.at_level("county").count() == 91
    assert Region.objects.at_level("town").count() == 1384
    assert Region.objects.at_level("village").count() == 25306
    # The shipped 绍兴市 rows were already there: unchanged, except the city gains its province.
    assert report.created["village"] == 25306 - 2145
    assert report.updated == {"city": 1}
    assert Region.objects.get(code="330600").parent.code == "330000"
    again = services.import_regions(ZHEJIANG_FILE, progress=False)
    assert (again.created, again.updated, again.unchanged) == ({}, {}, 26793)
