"""Excel batch import: real .xlsx files built with openpyxl; line-numbered errors, all or nothing,
no duplicates on re-import, formula-looking cells kept as text."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from fengqiao.cases import imports, services
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.models import Case, Channel, RegionResolution
from fengqiao.cases.views.imports import XLSX_TYPE
from fengqiao.core.models import AuditEvent
from fengqiao.core.validators import id_number_check_char

pytestmark = pytest.mark.django_db

HEADERS = [header for _name, header in imports.COLUMNS]
ID_17 = "33068119800101123"
GOOD_ID = ID_17 + id_number_check_char(ID_17)
BAD_ID = ID_17 + ("0" if GOOD_ID[-1] != "0" else "1")


def row(**values) -> dict:
    base = {
        "类别编码": "dispute.neighbour",
        "标题": "邻里漏水纠纷",
        "描述": "楼上漏水，双方协商未果。",
        "地点": "枫桥镇枫源村3组",
    }
    base.update(values)
    return base


def workbook(rows: list[dict], headers: list[str] = HEADERS) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for values in rows:
        sheet.append([values.get(header) for header in headers])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


GOOD_ROWS = [
    row(
        外部编号="GRID-2026-0001",
        当事人姓名="张三",
        当事人身份证号=GOOD_ID,
        当事人电话="138 1234 5678",
        涉及人数=2,
        涉及金额="1,200.50",
        发生时间="2026-01-05 09:30",
        严重程度="一般",
    ),
    row(
        类别编码=None,
        类别名称="婚姻家庭纠纷",
        标题="家庭矛盾",
        地点="诸暨市枫桥镇枫源村",
        外部编号="GRID-2026-0002",
        紧急程度="紧急",
    ),
    row(标题="经纬度定位", 地点=None, 行政区划代码="330681109290", 外部编号="GRID-2026-0003"),
]


def codes_of(issues) -> set[tuple[int, str, str]]:
    return {(issue.row, issue.column, issue.code) for issue in issues}


def test_a_good_file_creates_every_case_through_intake(town_operator_fengqiao):
    op = town_operator_fengqiao
    result = imports.import_cases(data=workbook(GOOD_ROWS), actor=op.user, membership=op.membership)
    assert len(result.created) == 3 and not result.skipped and not result.replayed
    cases = {case.external_ref: case for case in Case.objects.filter(code__in=result.created)}
    first = cases["GRID-2026-0001"]
    assert first.channel == Channel.IMPORT
    assert first.region_code == "330681109290"
    assert first.region_resolution == RegionResolution.TEXT
    assert first.category.code == "dispute.neighbour"
    assert (first.people_count, first.amount) == (2, Decimal("1200.50"))
    assert first.occurred_at.isoformat().startswith("2026-01-05T01:30")  # 09:30 in Shanghai
    party = first.parties.get()
    assert (party.name, party.id_number, party.phone) == ("张三", GOOD_ID, "13812345678")
    assert cases["GRID-2026-0002"].category.code == "dispute.marriage_family"
    assert cases["GRID-2026-0002"].urgency == "urgent"
    assert cases["GRID-2026-0003"].region_resolution == RegionResolution.PICKED
    event = AuditEvent.objects.filter(action="cases.imported").latest("id")
    assert event.detail["created"] == 3
    assert event.detail["sha256"] == result.sha256


def test_every_bad_cell_is_reported_with_its_row_and_column(town_operator_fengqiao):
    op = town_operator_fengqiao
    before = Case.objects.count()
    rows = [
        GOOD_ROWS[0],  # row 2 is fine
        row(类别编码="dispute.nonsense"),  # row 3
        row(当事人姓名="李四", 当事人身份证号=BAD_ID),  # row 4
        row(地点="北京市朝阳区某小区"),  # row 5
        row(发生时间="2026-13-45", 涉及金额="-5"),  # row 6
        row(标题=None, 当事人姓名="王五", 当事人电话="12345"),  # row 7
        row(类别编码="dispute.civil"),  # row 8: a heading, not reportable
        row(地点="越城区塔山街道花园社区"),  # row 9: outside the operator's town
        row(外部编号="GRID-2026-0001"),  # row 10: same reference as row 2
        row(类别编码=None, 类别名称="其他"),  # row 11: several categories are called 其他
        row(地点=None, 纬度=30.27, 经度=120.15),  # row 12: 杭州
    ]
    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_cases(data=workbook(rows), actor=op.user, membership=op.membership)
    assert codes_of(caught.value.issues) == {
        (3, "类别编码", "unknown_category"),
        (4, "当事人身份证号", "invalid_id_number"),
        (5, "地点", "place_unresolved"),
        (6, "发生时间", "invalid_date"),
        (6, "涉及金额", "invalid_number"),
        (7, "标题", "required"),
        (7, "当事人电话", "invalid_phone"),
        (8, "类别编码", "category_not_reportable"),
        (9, "地点", "outside_scope"),
        (10, "外部编号", "duplicate_external_ref"),
        (11, "类别名称", "ambiguous_category"),
        (12, "纬度", "outside_territory"),
    }
    messages = {(issue.row, issue.column): issue.message for issue in caught.value.issues}
    assert "dispute.nonsense" in messages[(3, "类别编码")]
    assert "校验" in messages[(4, "当事人身份证号")]
    assert "第 2 行" in messages[(10, "外部编号")]
    assert "越城区塔山街道花园社区" in messages[(9, "地点")]
    assert Case.objects.count() == before


def test_header_problems_are_reported_on_row_one(town_operator_fengqiao):
    op = town_operator_fengqiao
    headers = [h for h in HEADERS if h != "标题"] + ["备注"]
    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_cases(
            data=workbook([row()], headers=headers), actor=op.user, membership=op.membership
        )
    assert codes_of(caught.value.issues) == {
        (1, "标题", "missing_column"),
        (1, "备注", "unknown_column"),
    }


def test_not_an_excel_file_is_refused(town_operator_fengqiao):
    op = town_operator_fengqiao
    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_cases(data=b"a,b\n1,2\n", actor=op.user, membership=op.membership)
    assert codes_of(caught.value.issues) == {(0, "", "invalid_file")}


def test_a_refusal_while_writing_rolls_back_the_rows_before_it(town_operator_fengqiao, monkeypatch):
    op = town_operator_fengqiao
    before = Case.objects.count()
    real = services.report_case
    calls = []

    def refuse_the_third(**kwargs):
        calls.append(kwargs["data"].external_ref)
        if len(calls) == 3:
            raise WorkflowError("no_unit_found", "没有可以受理的单位", field="region_code")
        return real(**kwargs)

    monkeypatch.setattr(services, "report_case", refuse_the_third)
    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_cases(data=workbook(GOOD_ROWS), actor=op.user, membership=op.membership)
    assert codes_of(caught.value.issues) == {(4, "行政区划代码", "no_unit_found")}
    assert len(calls) == 3
    assert Case.objects.count() == before
    assert not Case.objects.filter(external_ref__startswith="GRID-2026-").exists()


def test_reimporting_creates_no_duplicates(town_operator_fengqiao):
    op = town_operator_fengqiao
    data = workbook(GOOD_ROWS)
    first = imports.import_cases(data=data, actor=op.user, membership=op.membership)
    count = Case.objects.count()

    again = imports.import_cases(data=data, actor=op.user, membership=op.membership)
    assert again.replayed
    assert again.created == first.created
    assert Case.objects.count() == count

    # An edited file: the imported references are skipped, the new row is created.
    edited = workbook([*GOOD_ROWS[:2], row(标题="新的一件", 外部编号="GRID-2026-0004")])
    result = imports.import_cases(data=edited, actor=op.user, membership=op.membership)
    assert not result.replayed
    assert result.skipped == [(2, "GRID-2026-0001"), (3, "GRID-2026-0002")]
    assert len(result.created) == 1
    assert Case.objects.count() == count + 1


def test_formula_looking_cells_are_stored_as_literal_text(town_operator_fengqiao):
    op = town_operator_fengqiao
    formula = '=HYPERLINK("http://evil.example/","点击")'
    rows = [
        row(标题="+SUM(1,2)", 描述=formula, 外部编号="@ref-1"),
        row(标题="-2+3", 描述="=1+1", 地点="枫桥镇枫源村"),
    ]
    result = imports.import_cases(data=workbook(rows), actor=op.user, membership=op.membership)
    first, second = (Case.objects.get(code=code) for code in result.created)
    assert (first.title, first.description, first.external_ref) == ("+SUM(1,2)", formula, "@ref-1")
    assert (second.title, second.description) == ("-2+3", "=1+1")


def test_the_template_has_the_headers_and_imports_nothing_when_blank(town_operator_fengqiao):
    data = imports.build_template()
    book = load_workbook(io.BytesIO(data))
    assert [cell.value for cell in book.worksheets[0][1]] == HEADERS
    listed = {r[0] for r in book["类别"].iter_rows(min_row=2, values_only=True)}
    assert "dispute.neighbour" in listed and "dispute.civil" not in listed
    op = town_operator_fengqiao
    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_cases(data=data, actor=op.user, membership=op.membership)
    assert codes_of(caught.value.issues) == {(2, "", "no_rows")}


# --- page and command -------------------------------------------------------------------------


def upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("cases.xlsx", data, content_type=XLSX_TYPE)


def test_the_page_lists_errors_in_chinese_and_imports_good_files(town_operator_fengqiao):
    client = town_operator_fengqiao.client
    url = reverse("cases:import")
    assert client.get(url).status_code == 200
    bad = workbook([GOOD_ROWS[0], row(类别编码="dispute.nonsense")])
    response = client.post(url, {"file": upload(bad)})
    assert response.status_code == 200
    page = response.content.decode()
    assert "未导入" in page and "dispute.nonsense" in page and '<td class="fq-count">3</td>' in page
    response = client.post(url, {"file": upload(workbook(GOOD_ROWS))}, follow=True)
    assert "已导入 3 件" in response.content.decode()
    assert Case.objects.filter(external_ref__startswith="GRID-2026-").count() == 3


def test_the_template_downloads(town_operator_fengqiao):
    response = town_operator_fengqiao.client.get(reverse("cases:import_template"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert load_workbook(io.BytesIO(response.content)).worksheets[0]["A1"].value == "类别编码"


@pytest.mark.parametrize("name", ["audit_admin", "system_admin"])
def test_people_who_cannot_report_get_404(request, name):
    persona = request.getfixturevalue(name)
    assert persona.client.get(reverse("cases:import")).status_code == 404
    assert persona.client.get(reverse("cases:import_template")).status_code == 404


def test_the_command_imports_a_file(town_operator_fengqiao, tmp_path, capsys):
    path = tmp_path / "cases.xlsx"
    path.write_bytes(workbook(GOOD_ROWS))
    username = town_operator_fengqiao.user.username
    call_command("cases", "import", str(path), "--user", username)
    assert "新建 3 件" in capsys.readouterr().out
    call_command("cases", "import", str(path), "--user", username)
    assert "已导入过" in capsys.readouterr().out
    path.write_bytes(workbook([row(类别编码="dispute.nonsense")]))
    with pytest.raises(CommandError):
        call_command("cases", "import", str(path), "--user", username)
    assert "第 2 行「类别编码」" in capsys.readouterr().err
