"""POST /api/v1/cases honours Idempotency-Key (SECURITY 24): one case per key, first answer replayed."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections  # noqa: F401 (connection: the skipif)
from django.test import Client

from fengqiao.accounts import services as account_services
from fengqiao.cases.models import Case
from personas import FENGYUAN_VILLAGE

BODY = {
    "category": "hazard.public_safety",
    "title": "井盖缺失",
    "description": "枫源村文化礼堂门口井盖缺失。",
    "region_code": FENGYUAN_VILLAGE,
}


def create(client: Client, key: str | None, body: dict | None = None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/api/v1/cases", body or BODY, content_type="application/json", **headers)


@pytest.mark.django_db
def test_replay_returns_the_first_answer_and_creates_one_case(town_operator_fengqiao):
    first = create(town_operator_fengqiao.client, "intake-0001")
    again = create(town_operator_fengqiao.client, "intake-0001")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Case.objects.count() == 1


@pytest.mark.django_db
def test_same_key_with_another_body_is_422(town_operator_fengqiao):
    create(town_operator_fengqiao.client, "intake-0002")

    response = create(town_operator_fengqiao.client, "intake-0002", {**BODY, "title": "另一件"})

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_conflict"
    assert "Idempotency-Key" in response.json()["message"]
    assert Case.objects.count() == 1


@pytest.mark.django_db
def test_without_a_key_every_post_creates(town_operator_fengqiao):
    create(town_operator_fengqiao.client, None)
    create(town_operator_fengqiao.client, None)

    assert Case.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["   ", "k" * 201])
def test_malformed_key_is_422(town_operator_fengqiao, key):
    response = create(town_operator_fengqiao.client, key)

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_idempotency_key"
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_keys_are_per_caller(town_operator_fengqiao, grid_worker_fengqiao):
    mine = create(town_operator_fengqiao.client, "shared-key")
    theirs = create(grid_worker_fengqiao.client, "shared-key")

    assert theirs.status_code == 201
    assert theirs.json()["code"] != mine.json()["code"]
    assert Case.objects.count() == 2


@pytest.mark.django_db
def test_refused_intake_stores_nothing_so_a_fixed_retry_succeeds(town_operator_fengqiao):
    bad = create(town_operator_fengqiao.client, "intake-0003", {**BODY, "category": "no.such"})
    assert bad.status_code == 422

    # The key is bound to nothing yet: the same key with the corrected body goes through.
    good = create(town_operator_fengqiao.client, "intake-0003")
    assert good.status_code == 201


@pytest.mark.django_db
def test_note_creation_honours_the_key(town_operator_fengqiao):
    code = create(town_operator_fengqiao.client, None).json()["code"]
    client = town_operator_fengqiao.client
    first = client.post(
        f"/api/v1/cases/{code}/notes",
        {"body": "已派人查看"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="note-1",
    )
    again = client.post(
        f"/api/v1/cases/{code}/notes",
        {"body": "已派人查看"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="note-1",
    )

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Case.objects.get(code=code).notes.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_concurrent_posts_with_one_key_create_one_case(town_operator_fengqiao):
    _token, raw = account_services.create_token(
        user=town_operator_fengqiao.user,
        membership=town_operator_fengqiao.membership,
        name="并发测试",
        lifetime_days=account_services.TOKEN_LIFETIMES_DAYS[0],
    )
    answers: list[tuple[int, dict]] = []
    start = threading.Barrier(6)

    def worker() -> None:
        try:
            client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
            start.wait()
            response = create(client, "race-key")
            answers.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == 6
    assert {status for status, _body in answers} == {201}
    assert len({body["code"] for _status, body in answers}) == 1
    assert Case.objects.count() == 1
