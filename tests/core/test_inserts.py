"""``core.inserts``: a one-row INSERT with a prebuilt statement writes what ``save()`` writes,
and keeps ``save()``'s signals."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.db.models.signals import post_save, pre_save

from fengqiao.core import inserts
from fengqiao.core.models import CalendarDay

pytestmark = pytest.mark.django_db


def row(pk: int) -> dict:
    values = CalendarDay.objects.filter(pk=pk).values().get()
    return {k: v for k, v in values.items() if k not in {"id", "created_at", "updated_at"}}


def test_an_insert_writes_the_row_save_would_and_marks_the_instance_saved():
    inserted = inserts.insert(CalendarDay(date=date(2031, 5, 1), kind="holiday", name="劳动节"))
    saved = CalendarDay(date=date(2031, 5, 2), kind="holiday", name="劳动节")
    saved.save(force_insert=True)
    assert inserted.pk is not None and not inserted._state.adding
    assert inserted._state.db == "default"
    assert inserted.created_at is not None and inserted.updated_at is not None
    assert row(inserted.pk) == {**row(saved.pk), "date": date(2031, 5, 1)}
    # The stored timestamps are the instance's (pre_save ran once, before the statement).
    assert CalendarDay.objects.get(pk=inserted.pk).created_at == inserted.created_at


def test_post_save_receivers_hear_an_insert():
    heard = []

    def receiver(sender, instance, created, **kwargs):
        heard.append((instance.pk, created))

    post_save.connect(receiver, sender=CalendarDay, dispatch_uid="test-inserts")
    try:
        day = inserts.insert(CalendarDay(date=date(2031, 5, 3), kind="holiday"))
    finally:
        post_save.disconnect(dispatch_uid="test-inserts", sender=CalendarDay)
    assert heard == [(day.pk, True)]


def test_a_pre_save_receiver_is_honoured_through_save():
    def receiver(sender, instance, **kwargs):
        instance.name = "changed before saving"

    pre_save.connect(receiver, sender=CalendarDay, dispatch_uid="test-inserts-pre")
    try:
        day = inserts.insert(CalendarDay(date=date(2031, 5, 4), kind="holiday"))
    finally:
        pre_save.disconnect(dispatch_uid="test-inserts-pre", sender=CalendarDay)
    assert CalendarDay.objects.get(pk=day.pk).name == "changed before saving"


postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="data-modifying WITH is PostgreSQL's"
)


@postgresql_only
def test_rows_in_front_of_a_statement_are_written_and_read_back_their_keys():
    keyed = CalendarDay(pk=10**9, date=date(2031, 5, 5), kind="holiday", name="五一")
    numbered = CalendarDay(date=date(2031, 5, 6), kind="holiday", name="五一")
    heard = []

    def receiver(sender, instance, created, **kwargs):
        heard.append((instance.pk, created))

    batch = inserts.front([keyed, numbered])
    assert batch.sql.startswith("WITH w0 AS (INSERT INTO") and "w1 AS (INSERT INTO" in batch.sql
    assert len(batch.params) == batch.sql.count("%s")
    with connection.cursor() as cursor:
        cursor.execute(f"{batch.sql}SELECT 42, {batch.keys}", batch.params)
        answer, *keys = cursor.fetchone()
    assert answer == 42 and keys[0] == keyed.pk
    post_save.connect(receiver, sender=CalendarDay, dispatch_uid="test-inserts-front")
    try:
        batch.saved(keys)
    finally:
        post_save.disconnect(dispatch_uid="test-inserts-front", sender=CalendarDay)
    assert numbered.pk == keys[1] and not numbered._state.adding and not keyed._state.adding
    assert heard == [(keyed.pk, True), (numbered.pk, True)]
    saved = CalendarDay(date=date(2031, 5, 7), kind="holiday", name="五一")
    saved.save(force_insert=True)
    assert row(keyed.pk) == {**row(saved.pk), "date": date(2031, 5, 5)}
    assert row(numbered.pk) == {**row(saved.pk), "date": date(2031, 5, 6)}
    waiting = inserts.front([CalendarDay(date=date(2031, 5, 9), kind="holiday")])
    with pytest.raises(ValueError):
        waiting.saved()  # the database assigned its key: it must be handed over
    with pytest.raises(ValueError):
        waiting.saved([])


def test_rows_go_one_by_one_where_one_statement_cannot_carry_them():
    # SQLite has no data-modifying WITH; a pre_save receiver needs save() on any database.
    def receiver(sender, instance, **kwargs):
        pass

    pre_save.connect(receiver, sender=CalendarDay, dispatch_uid="test-inserts-front-pre")
    try:
        assert inserts.front([CalendarDay(date=date(2031, 5, 8), kind="holiday")]) is None
    finally:
        pre_save.disconnect(dispatch_uid="test-inserts-front-pre", sender=CalendarDay)
    plain = inserts.front([CalendarDay(date=date(2031, 5, 8), kind="holiday")])
    assert (plain is None) == (connection.vendor != "postgresql")
