"""psycopg keeps the rewrite of a long statement, such as case intake's write (``core.postgresql``)."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_a_statement_with_a_hundred_parameters_is_rewritten_once():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    from psycopg import _queries

    # Distinct text, so no earlier test has cached it; under 4,096 bytes, over psycopg's own 50.
    markers = ", ".join(["%s"] * 100)
    sql = f"SELECT array_length(ARRAY[{markers}]::int[], 1) AS hundred_parameters"
    # One cache for server-side binding, one for client-side (FENGQIAO_PG_PREPARED=0).
    caches = (_queries._query2pg, _queries._query2pg_client)
    before = [cache.cache_info() for cache in caches]
    with connection.cursor() as cursor:
        for _ in range(3):
            cursor.execute(sql, list(range(100)))
            assert cursor.fetchone() == (100,)
    after = [cache.cache_info() for cache in caches]
    assert sum(a.misses - b.misses for a, b in zip(after, before, strict=True)) == 1
    assert sum(a.hits - b.hits for a, b in zip(after, before, strict=True)) == 2
