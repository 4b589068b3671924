"""Excel export: scoped, filtered, audited, formula-looking cells neutralised."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from fengqiao.cases.exports import neutralise
from fengqiao.core.models import AuditEvent
from fengqiao.regions.models import Level, UnitKind
from personas import DIANKOU_TOWN, FENGYUAN_VILLAGE

from .factories import make_category, report


@pytest.fixture
def town_category(db):
    return make_category(level=Level.TOWN, unit_kind=UnitKind.COMMAND_ROOM)


def sheet_rows(response):
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+86", "'+86"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=x", "'\t=x"),
        ("枫桥", "枫桥"),
        (5, 5),
        (None, None),
    ],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_export_is_scoped_neutralised_and_audited(town_operator_fengqiao, town_category):
    mine = report(town_category, region_code=FENGYUAN_VILLAGE, title='=HYPERLINK("http://x")')
    theirs = report(town_category, region_code=DIANKOU_TOWN, title="店口的案件")
    response = town_operator_fengqiao.client.get(reverse("cases:export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "no-store"
    rows = sheet_rows(response)
    header, body = rows[0], rows[1:]
    assert header[0] == "案件编号"
    codes = [row[0] for row in body]
    assert mine.code in codes and theirs.code not in codes
    titles = [row[1] for row in body]
    assert '\'=HYPERLINK("http://x")' in titles
    event = AuditEvent.objects.filter(action="cases.exported").latest("id")
    assert event.detail["count"] == len(body)


def test_export_applies_the_list_filters(town_operator_fengqiao, town_category):
    report(town_category, region_code=FENGYUAN_VILLAGE)
    response = town_operator_fengqiao.client.get(reverse("cases:export"), {"status": "closed"})
    assert sheet_rows(response)[1:] == []


def test_export_needs_the_capability(grid_worker_fengqiao, town_operator_other_town, town_category):
    case = report(town_category, region_code=FENGYUAN_VILLAGE)
    assert grid_worker_fengqiao.client.get(reverse("cases:export")).status_code == 404
    rows = sheet_rows(town_operator_other_town.client.get(reverse("cases:export")))
    assert case.code not in [row[0] for row in rows[1:]]
