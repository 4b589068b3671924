"""Statistics per region and period: small counts suppressed, bypass respected, Excel figures
only with formula-looking text neutralised."""

from __future__ import annotations

import datetime
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook

from fengqiao.core.models import AuditEvent
from fengqiao.regions.models import Level, Region
from fengqiao.tips import services, statistics
from fengqiao.tips.models import Card, Disposal, Status, Tip, Verification
from personas import SHAOXING, ZHUJI

from .factories import DESCRIPTION, file_tip

pytestmark = pytest.mark.django_db

FENGQIAO = "330681109"
DIANKOU = "330681104"
START, END = datetime.date(2026, 3, 1), datetime.date(2026, 3, 31)


def received(region_code: str, count: int, **fields) -> list[Tip]:
    moment = datetime.datetime(2026, 3, 10, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    with time_machine.travel(moment, tick=False):
        tips = [file_tip(region_code=region_code).tip for _ in range(count)]
    if fields:
        Tip.objects.filter(pk__in=[t.pk for t in tips]).update(**fields)
    return tips


def table_for(persona, region: str = ZHUJI) -> statistics.Table:
    return services.tip_statistics(
        membership=persona.membership, region_code=region, start=START, end=END
    )


def row(table: statistics.Table, code: str) -> statistics.Row:
    return next(r for r in table.rows if r.region_code == code)


def test_counts_under_three_are_suppressed_and_so_is_one_partner(anti_gang_zhuji):
    received(FENGQIAO, 5, status=Status.CLOSED, verification=Verification.SUBSTANTIATED)
    received(DIANKOU, 2)
    received("330681001", 4)  # 暨阳街道
    table = table_for(anti_gang_zhuji)
    assert row(table, FENGQIAO).counts["received"] == 5
    assert row(table, DIANKOU).counts["received"] is None  # 2: suppressed
    # Exactly one suppressed cell in the column and a visible total of 11: the smallest other
    # non-zero cell (4) goes too, or 11 - 5 - 4 would give the 2 away.
    assert row(table, "330681001").counts["received"] is None
    assert table.total.counts["received"] == 11
    zeros = [r for r in table.rows if r.region_code not in {FENGQIAO, DIANKOU, "330681001"}]
    assert zeros and all(r.counts["received"] == 0 for r in zeros)


def test_rates_need_both_their_counts(anti_gang_zhuji):
    tips = received(FENGQIAO, 6)
    Tip.objects.filter(pk__in=[t.pk for t in tips[:4]]).update(
        status=Status.CLOSED, verification=Verification.SUBSTANTIATED
    )
    Tip.objects.filter(pk__in=[t.pk for t in tips[4:5]]).update(
        verification=Verification.UNSUBSTANTIATED
    )
    table = table_for(anti_gang_zhuji)
    fengqiao = row(table, FENGQIAO)
    assert fengqiao.counts["concluded"] == 4 and fengqiao.rates["conclusion_rate"] == round(
        4 / 6, 4
    )
    assert fengqiao.counts["verified"] == 5 and fengqiao.rates["substantiation_rate"] == 0.8
    received(DIANKOU, 3, status=Status.REJECTED)
    received(DIANKOU, 1, verification=Verification.SUBSTANTIATED)
    diankou = row(table_for(anti_gang_zhuji), DIANKOU)
    assert diankou.counts["verified"] is None and diankou.rates["substantiation_rate"] is None


def test_disposals_officials_and_overdue_are_counted(anti_gang_zhuji):
    received(FENGQIAO, 3, disposal=Disposal.CASE_OPENED, card=Card.YELLOW)
    received(FENGQIAO, 3, disposal=Disposal.TRANSFERRED)
    counts = table_for(anti_gang_zhuji).total.counts
    assert counts["cases_opened"] == 3 and counts["transferred"] == 3 and counts["overdue"] == 3
    assert counts["officials"] == 0


def test_tips_outside_the_period_are_not_counted(anti_gang_zhuji):
    received(FENGQIAO, 3)
    april = datetime.datetime(2026, 4, 1, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    with time_machine.travel(april, tick=False):
        file_tip(region_code=FENGQIAO)
    assert table_for(anti_gang_zhuji).total.counts["received"] == 3


def test_tips_bypassing_the_viewer_are_left_out_of_the_viewers_figures(
    anti_gang_zhuji, city_leader
):
    received(FENGQIAO, 3)
    moment = datetime.datetime(2026, 3, 10, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    with time_machine.travel(moment, tick=False):
        for _ in range(3):
            file_tip(region_code=FENGQIAO, officials_region_code=ZHUJI)
    assert table_for(anti_gang_zhuji).total.counts["received"] == 3
    assert table_for(anti_gang_zhuji).total.counts["officials"] == 0
    city = services.tip_statistics(
        membership=city_leader.membership, region_code=SHAOXING, start=START, end=END
    )
    assert row(city, ZHUJI).counts["received"] == 6 and row(city, ZHUJI).counts["officials"] == 3


def test_only_holders_of_the_capability_in_scope_get_statistics(
    anti_gang_zhuji, police_fengqiao, anti_gang_yuecheng
):
    with pytest.raises(services.TipNotFound):
        table_for(police_fengqiao)
    with pytest.raises(services.TipNotFound):
        table_for(anti_gang_yuecheng)  # 诸暨 is outside 越城区


def test_the_excel_export_holds_figures_only_and_neutralises_formulas(anti_gang_zhuji):
    Region.objects.filter(code=FENGQIAO).update(place_name='=HYPERLINK("http://x","枫桥")')
    received(FENGQIAO, 4)
    before = AuditEvent.objects.count()
    content = services.export_statistics(
        membership=anti_gang_zhuji.membership, region_code=ZHUJI, start=START, end=END
    )
    sheet = load_workbook(io.BytesIO(content)).active
    values = [[cell.value for cell in line] for line in sheet.iter_rows()]
    text = repr(values)
    assert DESCRIPTION not in text and "XS-" not in text
    assert len(values[2]) == len(statistics.headers()) and values[2][0] in ("区域", "Region")
    formula_row = next(line for line in values if line[0] and "HYPERLINK" in str(line[0]))
    assert formula_row[0].startswith("'=") and formula_row[1] == 4
    for line in sheet.iter_rows():
        for cell in line:
            assert cell.data_type != "f"
    total = next(line for line in values if line[0] in ("合计", "Total"))
    assert total[1] == 4
    exported = AuditEvent.objects.filter(id__gt=before).get()
    assert exported.action == "tips.statistics_exported" and exported.object_id == ZHUJI


def test_neutralise_prefixes_every_formula_start():
    for start in "=+-@":
        assert statistics.neutralise(f"{start}1+1") == f"'{start}1+1"
    assert statistics.neutralise("枫桥镇") == "枫桥镇"
    assert statistics.neutralise(3) == 3


def test_a_village_table_has_a_row_per_village():
    town = Region.objects.get(code=FENGQIAO)
    table = statistics.build_table(region=town, viewer_region_code=SHAOXING, start=START, end=END)
    villages = Region.objects.filter(parent=town, level=Level.VILLAGE).count()
    assert len(table.rows) == villages > 0
