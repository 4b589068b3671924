"""Case codes (一事一码) and tracking tokens."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.db import connection, transaction

from fengqiao.cases import codes, services
from fengqiao.cases.models import Case, CaseSequence

from .factories import at, intake, report

pytestmark = pytest.mark.django_db


def test_code_is_county_local_date_and_sequence(dispute_category):
    # 23:30 UTC on 27 November is already 28 November in Shanghai: the local date counts.
    with time_machine.travel(at("2026-11-28 07:30"), tick=False):
        first = report(dispute_category, region_code="330681109290")
        second = report(dispute_category, region_code="330681104")
    assert first.code == "330681-20261128-00001"
    assert second.code == "330681-20261128-00002"


def test_sequences_are_per_county_and_per_day(dispute_category):
    with time_machine.travel(at("2026-11-28 23:59"), tick=False):
        zhuji = report(dispute_category, region_code="330681109290")
        yuecheng = report(dispute_category, region_code="330602")
    with time_machine.travel(at("2026-11-29 00:01"), tick=False):
        next_day = report(dispute_category, region_code="330681109290")
    assert zhuji.code.endswith("-20261128-00001")
    assert yuecheng.code == "330602-20261128-00001"
    assert next_day.code == "330681-20261129-00001"
    assert CaseSequence.objects.get(prefix="330681", day="2026-11-28").last == 1


def test_sequence_continues_from_the_stored_row(dispute_category):
    CaseSequence.objects.create(prefix="330681", day="2026-11-28", last=41)
    with time_machine.travel(at("2026-11-28 09:00"), tick=False):
        case = report(dispute_category, region_code="330681109290")
    assert case.code == "330681-20261128-00042"


def test_a_rolled_back_intake_gives_its_number_back(dispute_category):
    with time_machine.travel(at("2026-11-28 09:00"), tick=False):
        with pytest.raises(RuntimeError), transaction.atomic():
            report(dispute_category, region_code="330681109290")
            raise RuntimeError("the caller failed after intake")
        case = report(dispute_category, region_code="330681109290")
    assert case.code.endswith("-00001")


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_code_is_taken_ahead_of_the_intake_transaction(dispute_category):
    data = intake(dispute_category, region_code="330681109290")
    setting = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            setting = cursor.fetchone()[0]
    with time_machine.travel(at("2026-11-28 09:00"), tick=False):
        prepared = services.prepare_report(data=data)
        abandoned = services.prepare_report(data=data)  # never filed, like a failed request
        with transaction.atomic():  # an import: codes are taken inside its transaction
            assert services.prepare_report(data=data).case.code == ""
        taken = CaseSequence.objects.filter(prefix="330681").values_list("last", flat=True)
        if connection.vendor == "postgresql":
            # Committed before the case's transaction opened, in a transaction of its own.
            assert (prepared.case.code, abandoned.case.code) == (
                "330681-20261128-00001",
                "330681-20261128-00002",
            )
            assert list(taken) == [2]
            # The case's key comes with its code: two reservations, two keys.
            assert prepared.case.pk is not None and abandoned.case.pk > prepared.case.pk
            # The reservation turns synchronous_commit off for its own statement only: the
            # session's setting is what it was, so the case's commit still waits for its flush.
            with connection.cursor() as cursor:
                cursor.execute("SHOW synchronous_commit")
                assert cursor.fetchone()[0] == setting
        else:
            # SQLite's intake holds the write lock anyway: the code is taken inside it.
            assert prepared.case.code == abandoned.case.code == ""
            assert prepared.case.pk is None
            assert list(taken) == []
        case = services.file_report(prepared)
        later = report(dispute_category, region_code="330681109290")
    reserved = prepared.case.pk
    stored = Case.objects.get(pk=case.pk)
    if reserved is not None:
        assert stored.pk == reserved
    assert stored.code == case.code == "330681-20261128-00001"
    assert stored.reported_at == at("2026-11-28 09:00")
    # The abandoned number is skipped, never given twice.
    assert later.code == ("330681-20261128-00003" if connection.vendor == "postgresql" else
                          "330681-20261128-00002")  # fmt: skip


def test_tracking_token_is_returned_once_and_only_its_hash_is_stored(dispute_category):
    case = report(dispute_category, region_code="330681109290")
    token = case.tracking_token
    assert len(token) >= 20 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert case.tracking_token_hash == codes.hash_tracking_token(token)
    assert token not in case.tracking_token_hash
    stored = type(case).objects.get(pk=case.pk)
    assert not hasattr(stored, "tracking_token")
    assert services.check_tracking_token(case, token)
    assert not services.check_tracking_token(case, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert not services.check_tracking_token(case, "")


def test_tokens_differ_between_cases(dispute_category):
    a = report(dispute_category, region_code="330681109290")
    b = report(dispute_category, region_code="330681109290")
    assert a.tracking_token != b.tracking_token
    assert not services.check_tracking_token(a, b.tracking_token)
