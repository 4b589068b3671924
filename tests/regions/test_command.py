"""``fengqiao regions …``: import with line-numbered errors, show, load-shipped."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from fengqiao.regions.models import Region

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("regions", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_reports_counts(tmp_path):
    path = tmp_path / "town.csv"
    path.write_text(
        "code,code12,name,level,parent_code\n"
        "330681990,330681990000,试验镇,town,330681\n"
        "330681990001,330681990001,甲村委会,village,330681990\n",
        encoding="utf-8",
    )
    out, _ = run("import", str(path), "--no-progress")
    assert "共 2 行" in out
    assert "新建 乡镇（街道） 1，村（社区） 1" in out
    assert Region.objects.filter(code__startswith="330681990").count() == 2


def test_bad_file_prints_line_numbered_errors_and_fails(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "code,code12,name,level,parent_code\n"
        "330681990,330681990000,试验镇,town,330681\n"
        "330681991001,330681991001,孤儿村委会,village,330681991\n",
        encoding="utf-8",
    )
    err = StringIO()
    with pytest.raises(CommandError, match="1 处错误"):
        call_command("regions", "import", str(path), "--no-progress", stdout=StringIO(), stderr=err)
    assert "bad.csv: 第 3 行：上级代码 330681991 既不在文件中，也不在系统中 [parent_unknown]" in (
        err.getvalue()
    )
    assert not Region.objects.filter(code="330681990").exists()


def test_missing_file_fails(tmp_path):
    with pytest.raises(CommandError, match="文件不存在"):
        run("import", str(tmp_path / "nope.csv"))


def test_show_prints_region_counts_and_units():
    out, _ = run("show", "330681109")
    assert "330681109  枫桥镇" in out
    assert "全称：诸暨市枫桥镇" in out
    assert "上级：330681 诸暨市" in out
    assert "诸暨市公安局枫桥派出所 · 派出所" in out
    villages = Region.objects.filter(parent__code="330681109").count()
    assert f"村（社区） {villages}" in out


def test_show_unknown_code_fails():
    with pytest.raises(CommandError, match="没有代码为 123456 的区划"):
        run("show", "123456")


def test_load_shipped_is_idempotent():
    out, _ = run("load-shipped")
    assert "共 2255 行" in out
    assert "未变 2255" in out


def test_build_demo_creates_nothing_the_second_time():
    out, _ = run("build-demo", "--no-progress")
    assert "网格 0 个、单位 0 个已创建" in out
