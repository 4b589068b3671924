"""``core.inserts``: a one-row INSERT with a prebuilt statement writes what ``save()`` writes,
and keeps ``save()``'s signals."""

from __future__ import annotations

from datetime import date

import pytest
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


def test_a_statement_for_a_larger_query_needs_the_primary_key():
    with pytest.raises(TypeError):
        inserts.statement(CalendarDay(date=date(2031, 5, 5), kind="holiday"))
    sql, params = inserts.statement(CalendarDay(pk=10**9, date=date(2031, 5, 5), kind="holiday"))
    assert sql.startswith("INSERT INTO") and "RETURNING" not in sql
    assert len(params) == sql.count("%s")
