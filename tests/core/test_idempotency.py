"""Idempotency-Key (SECURITY 24): a replay gets the first answer, a changed body is refused."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections  # noqa: F401 - connection is read by skipif

from fengqiao.core import idempotency
from fengqiao.core.models import CalendarDay, IdempotencyRecord

pytestmark = pytest.mark.django_db


def _creator(calls: list[int], status: int = 201):
    def create():
        calls.append(1)
        day = CalendarDay.objects.create(
            date=f"2031-01-{len(calls):02d}", kind="holiday", name="test"
        )
        return status, {"id": day.pk, "receipt": "1234-5678"}

    return create


def test_replay_returns_the_first_answer_and_creates_once():
    calls: list[int] = []
    first = idempotency.run(scope="s", key="k-1", payload={"a": 1}, create=_creator(calls))
    again = idempotency.run(scope="s", key="k-1", payload={"a": 1}, create=_creator(calls))
    assert first == again
    assert len(calls) == 1
    assert CalendarDay.objects.filter(name="test").count() == 1


def test_same_key_with_another_body_is_a_conflict():
    calls: list[int] = []
    idempotency.run(scope="s", key="k-2", payload={"a": 1}, create=_creator(calls))
    with pytest.raises(idempotency.IdempotencyConflict):
        idempotency.run(scope="s", key="k-2", payload={"a": 2}, create=_creator(calls))
    assert len(calls) == 1


def test_keys_are_separate_per_scope():
    calls: list[int] = []
    idempotency.run(scope="client-a", key="same", payload={}, create=_creator(calls))
    idempotency.run(scope="client-b", key="same", payload={}, create=_creator(calls))
    assert len(calls) == 2


def test_without_a_key_every_call_creates():
    calls: list[int] = []
    idempotency.run(scope="s", key=None, payload={}, create=_creator(calls))
    idempotency.run(scope="s", key=None, payload={}, create=_creator(calls))
    assert len(calls) == 2


@pytest.mark.parametrize("bad", ["", "   ", "x" * 201])
def test_malformed_keys_are_refused(bad):
    with pytest.raises(idempotency.InvalidIdempotencyKey):
        idempotency.run(scope="s", key=bad, payload={}, create=_creator([]))


def test_a_failed_create_stores_nothing_so_a_retry_runs_again():
    def boom():
        CalendarDay.objects.create(date="2031-02-01", kind="holiday", name="boom")
        raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        idempotency.run(scope="s", key="k-3", payload={}, create=boom)
    assert not IdempotencyRecord.objects.exists()
    assert not CalendarDay.objects.filter(name="boom").exists()
    calls: list[int] = []
    idempotency.run(scope="s", key="k-3", payload={}, create=_creator(calls))
    assert len(calls) == 1


def test_unchecked_replay_answers_the_first_result_and_its_own_attempt_rolls_back():
    calls: list[int] = []
    first = idempotency.run(
        scope="s", key="u-1", payload={"a": 1}, create=_creator(calls), check_first=False
    )
    again = idempotency.run(
        scope="s", key="u-1", payload={"a": 1}, create=_creator(calls), check_first=False
    )
    assert first == again
    assert len(calls) == 2  # the replay ran, and the unique key rolled it back whole
    assert CalendarDay.objects.filter(name="test").count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_unchecked_replay_with_another_body_is_a_conflict():
    calls: list[int] = []
    idempotency.run(scope="s", key="u-2", payload={"a": 1}, create=_creator(calls))
    with pytest.raises(idempotency.IdempotencyConflict):
        idempotency.run(
            scope="s", key="u-2", payload={"a": 2}, create=_creator(calls), check_first=False
        )
    assert CalendarDay.objects.filter(name="test").count() == 1


def test_unchecked_replay_whose_own_attempt_is_refused_still_gets_the_first_answer():
    first = idempotency.run(scope="s", key="u-3", payload={}, create=_creator([]))

    def refused():
        raise ValueError("the category was retired since")

    assert idempotency.run(scope="s", key="u-3", payload={}, create=refused, check_first=False) == (
        first
    )


def test_unchecked_failure_of_a_first_attempt_is_raised_and_stores_nothing():
    def boom():
        CalendarDay.objects.create(date="2031-03-01", kind="holiday", name="boom")
        raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        idempotency.run(scope="s", key="u-4", payload={}, create=boom, check_first=False)
    assert not IdempotencyRecord.objects.exists()
    assert not CalendarDay.objects.filter(name="boom").exists()


@pytest.mark.parametrize("key", ["p-1", None])
def test_prepare_runs_before_the_transaction_and_create_gets_its_result(key):
    depth: dict[str, int] = {}

    def prepare():
        depth["prepare"] = len(connection.atomic_blocks)
        return "2031-04-01"

    def create(day):
        depth["create"] = len(connection.atomic_blocks)
        CalendarDay.objects.create(date=day, kind="holiday", name="prepared")
        return 201, {"day": day}

    answer = idempotency.run(
        scope="s", key=key, payload={}, prepare=prepare, create=create, check_first=False
    )

    assert answer == (201, {"day": "2031-04-01"})
    assert depth["create"] == depth["prepare"] + 1
    assert CalendarDay.objects.filter(name="prepared").count() == 1


@pytest.mark.parametrize("check_first", [True, False])
def test_a_refused_preparation_of_a_first_attempt_is_raised_and_stores_nothing(check_first):
    def refused():
        raise ValueError("no such category")

    with pytest.raises(ValueError):
        idempotency.run(
            scope="s",
            key="p-2",
            payload={},
            prepare=refused,
            create=lambda _prepared: (201, {}),
            check_first=check_first,
        )
    assert not IdempotencyRecord.objects.exists()


def test_unchecked_replay_whose_preparation_is_refused_still_gets_the_first_answer():
    first = idempotency.run(scope="s", key="p-3", payload={}, create=_creator([]))

    def refused():
        raise ValueError("the category was retired since")

    again = idempotency.run(
        scope="s",
        key="p-3",
        payload={},
        prepare=refused,
        create=lambda _prepared: (201, {}),
        check_first=False,
    )
    assert again == first


def test_neither_key_nor_answer_is_stored_in_the_clear():
    idempotency.run(
        scope="s", key="visible-key-42", payload={}, create=lambda: (201, {"receipt": "98765"})
    )
    record = IdempotencyRecord.objects.get()
    assert "visible-key-42" not in record.key_hash
    assert "98765" not in record.response
    # Without the client's key the stored answer cannot be opened.
    with pytest.raises(Exception):  # noqa: B017 - any crypto failure will do
        idempotency._answer(record, "s", "another-key", record.request_hash)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_concurrent_requests_with_one_key_create_once():
    calls: list[int] = []
    lock = threading.Lock()
    answers = []

    def create():
        with lock:
            calls.append(1)
            n = len(calls)
        day = CalendarDay.objects.create(date=f"2032-03-{n:02d}", kind="holiday", name="race")
        time.sleep(0.3)  # hold the transaction open so the other requests overlap it
        return 201, {"id": day.pk}

    def worker():
        try:
            answers.append(idempotency.run(scope="s", key="race", payload={}, create=create))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 4
    assert len({str(answer) for answer in answers}) == 1
    assert CalendarDay.objects.filter(name="race").count() == 1
    assert len(calls) > 1  # the requests really overlapped
