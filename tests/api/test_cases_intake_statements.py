"""API intake stays lean: its statement count is pinned, and its checks run before the write."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from fengqiao.accounts import services as account_services
from fengqiao.cases.models import Case
from personas import FENGYUAN_VILLAGE

BODY = {
    "category": "dispute.neighbour",
    "title": "邻里纠纷",
    "description": "两户村民因宅前通道堆放杂物发生争执。",
    "region_code": FENGYUAN_VILLAGE,
    "parties": [{"role": "applicant", "name": "张三", "phone": "13800138000"}],
}


@pytest.fixture
def token_client(town_operator_fengqiao) -> Client:
    _token, raw = account_services.create_token(
        user=town_operator_fengqiao.user,
        membership=town_operator_fengqiao.membership,
        name="statements",
        lifetime_days=account_services.TOKEN_LIFETIMES_DAYS[0],
    )
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post(client: Client, key: str):
    return client.post(
        "/api/v1/cases", BODY, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


@pytest.mark.django_db
def test_api_intake_statements_are_counted_once_caches_are_warm(
    token_client, django_assert_num_queries
):
    assert post(token_client, "warm-up").status_code == 201
    # The token; the code upsert; case, party and timeline row; the audit chain (the head, then
    # event and head update, one statement on PostgreSQL); the idempotency record; and the
    # savepoint pair of the idempotency transaction, nested here in the test's own transaction.
    # Category, rule, units and the picked region come from the caches of ``cases.routing``.
    expected = 10 if connection.vendor == "postgresql" else 11
    with django_assert_num_queries(expected):
        assert post(token_client, "counted").status_code == 201
    assert Case.objects.count() == 2


@pytest.mark.django_db
def test_api_intake_reads_nothing_once_its_write_transaction_is_open(token_client):
    assert post(token_client, "warm-up").status_code == 201
    depth = len(connection.atomic_blocks)
    inside: list[str] = []

    def watch(execute, sql, params, many, context):
        if len(connection.atomic_blocks) > depth and sql.lstrip().upper().startswith("SELECT"):
            inside.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        assert post(token_client, "watched").status_code == 201
    # Only the audit chain head is read under the write lock; checks, region and routing ran
    # before the transaction opened.
    assert len(inside) == 1
    assert "auditchainhead" in inside[0]
