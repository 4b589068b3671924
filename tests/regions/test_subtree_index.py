"""Subtree queries are index range scans on both backends (no recursive queries, no table scan)."""

from __future__ import annotations

import pytest
from django.db import connection

from fengqiao.regions.models import Region, Unit

pytestmark = pytest.mark.django_db


def plan_of(queryset) -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The test tables are small and unanalysed; forbid the sequential scan so the plan
            # shows whether an index *can* serve the query (reset when the test rolls back).
            cursor.execute("SET LOCAL enable_seqscan = off")
    return queryset.explain()


def test_region_subtree_query_uses_the_code_index():
    plan = plan_of(Region.objects.within("330681109"))
    if connection.vendor == "sqlite":
        assert "SEARCH regions_region USING INDEX" in plan
        assert "code>? AND code<?" in plan
    else:
        assert "Index" in plan
        assert "regions_region_code" in plan
    assert (
        Region.objects.within("330681109").count()
        == Region.objects.filter(code__startswith="330681109").count()
    )


def test_unit_subtree_query_uses_the_region_code_index():
    plan = plan_of(Unit.objects.within("330681109"))
    if connection.vendor == "sqlite":
        assert "SEARCH regions_unit USING INDEX" in plan
        assert "region_code>? AND region_code<?" in plan
    else:
        assert "Index" in plan
        assert "region_code" in plan


def test_scoped_unit_query_by_kind_uses_an_index():
    plan = plan_of(Unit.objects.within("330681").of_kind("police_station"))
    if connection.vendor == "sqlite":
        assert "USING INDEX" in plan
        assert "SCAN regions_unit" not in plan
    else:
        assert "Index" in plan
