"""Builders for tip tests."""

from __future__ import annotations

from fengqiao.tips import services

# 枫源村, 枫桥镇, 诸暨市: the place of the usual test tip.
FENGYUAN = "330681109290"
DESCRIPTION = "枫源村有人以暴力手段强揽工程，并向商户收取保护费，村民不敢报警。"


def file_tip(**overrides) -> services.Submission:
    """An anonymous web tip about 枫源村 (诸暨市), with whatever the test changes."""
    values = {
        "description": DESCRIPTION,
        "region_code": FENGYUAN,
        "category": "industry_monopoly",
    }
    values.update(overrides)
    return services.submit_tip(**values)


def raw_row(model, pk: int) -> dict[str, object]:
    """A row as stored, column by column, without any field decrypting it."""
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])  # noqa: S608
        columns = [column[0] for column in cursor.description]
        return dict(zip(columns, cursor.fetchone(), strict=True))
