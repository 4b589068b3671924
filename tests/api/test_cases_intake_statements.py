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


# As in production: each request in autocommit, in a transaction of its own.
@pytest.mark.django_db(transaction=True)
def test_api_intake_statements_are_counted_once_caches_are_warm(
    token_client, django_assert_num_queries
):
    assert post(token_client, "warm-up").status_code == 201
    # SQLite: the token; the code upsert; the case and its party; the timeline row and the
    # idempotency record, then the audit chain (the head, the event, the head's update) at the
    # end (``audit_last``); COMMIT (its BEGIN IMMEDIATE goes round the log). PostgreSQL: the
    # token; the code upsert ahead of the transaction, which also draws the case's key; BEGIN;
    # case, party, timeline row and idempotency record in the statement that locks the chain
    # head; event and head update in one; COMMIT. Category, rule, units and the picked region
    # come from the caches of ``cases.routing``.
    expected = 6 if connection.vendor == "postgresql" else 10
    with django_assert_num_queries(expected):
        assert post(token_client, "counted").status_code == 201
    assert Case.objects.count() == 2


def reads(sql: str) -> bool:
    """Whether the statement's main part is a SELECT (after a WITH list of INSERTs, if any)."""
    sql = sql.lstrip()
    if sql.upper().startswith("WITH "):
        depth = 0
        for n, char in enumerate(sql):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if char == ")" and depth == 0 and not sql[n + 1 :].lstrip().startswith(","):
                sql = sql[n + 1 :].lstrip()  # the last WITH entry ends here
                break
    return sql.upper().startswith("SELECT")


@pytest.mark.django_db
def test_api_intake_reads_nothing_once_its_write_transaction_is_open(token_client):
    assert post(token_client, "warm-up").status_code == 201
    depth = len(connection.atomic_blocks)
    inside: list[str] = []

    def watch(execute, sql, params, many, context):
        if len(connection.atomic_blocks) > depth and reads(sql):
            inside.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        assert post(token_client, "watched").status_code == 201
    # Only the audit chain head is read under the write lock; checks, region and routing ran
    # before the transaction opened.
    assert len(inside) == 1
    assert "auditchainhead" in inside[0]


@pytest.mark.django_db(transaction=True)
def test_api_intake_writes_whole_rows_and_a_replay_gets_the_first_answer(token_client):
    """In autocommit, as in production: on PostgreSQL the case's key is drawn with its code and
    case, party, timeline row and stored answer travel with the audit chain's lock."""
    from fengqiao.cases.models import Party, StatusChange
    from fengqiao.core import audit
    from fengqiao.core.models import AuditEvent

    first = post(token_client, "whole-rows")
    assert first.status_code == 201
    case = Case.objects.get(code=first.json()["code"])
    assert str(case.public_id) == first.json()["id"]
    party = Party.objects.get(case=case)
    assert (party.name, party.phone) == ("张三", "13800138000")
    change = StatusChange.objects.get(case=case)
    assert (change.action, change.to_status, change.region_code) == (
        "report",
        case.status,
        case.region_code,
    )
    event = AuditEvent.objects.get(action="cases.report", object_id=str(case.public_id))
    assert event.detail["code"] == case.code
    # A replay answers the first result and writes nothing; a changed body is refused.
    replay = post(token_client, "whole-rows")
    assert (replay.status_code, replay.json()) == (201, first.json())
    changed = token_client.post(
        "/api/v1/cases",
        {**BODY, "title": "另一件事"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="whole-rows",
    )
    assert changed.status_code == 422
    assert Case.objects.count() == 1 and Party.objects.count() == 1
    assert StatusChange.objects.count() == 1
    assert AuditEvent.objects.filter(action="cases.report").count() == 1
    assert audit.verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_api_intake_write_statement_stays_within_psycopgs_rewrite_cache(token_client):
    """``core.postgresql`` caches statements of up to 400 parameters; psycopg's own 4,096-byte
    limit stays. Intake's write statement must fit both, or it is rebuilt on every request."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    from psycopg import _queries

    from fengqiao.core.postgresql import STATEMENT_PARAMS_CACHED

    written: list[tuple[str, int]] = []

    def watch(execute, sql, params, many, context):
        if sql.startswith("WITH") and "cases_case" in sql:
            written.append((sql, len(params)))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        assert post(token_client, "statement-size").status_code == 201
    [(sql, count)] = written
    assert len(sql.encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH
    assert 50 < count <= STATEMENT_PARAMS_CACHED
