"""The audit chain: appends link by hash, verify names the first broken row, the DB refuses edits."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from fengqiao.core import audit, services
from fengqiao.core.models import AuditChainHead, AuditEvent


def arm_guard() -> None:
    """Remove the test database's flush release so the triggers behave as in production."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditguard_release")


def disable_guard() -> None:
    """What a tamperer with schema rights would do first; rolled back with the test."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER core_auditevent_no_update")
            cursor.execute("DROP TRIGGER core_auditevent_no_delete")
        else:
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")


def raw(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


@pytest.fixture
def chain(db) -> list[AuditEvent]:
    """Five fresh events on a chain of their own."""
    AuditEvent.objects.all().delete()  # allowed: the test database's release is still in place
    AuditChainHead.objects.all().delete()
    return [audit.record(f"test.event{i}", detail={"n": i}) for i in range(1, 6)]


def test_events_link_each_to_the_previous_hash(chain):
    assert chain[0].prev_hash == audit.GENESIS_HASH
    for previous, event in zip(chain, chain[1:], strict=False):
        assert event.id == previous.id + 1
        assert event.prev_hash == previous.hash
    assert audit.verify_chain().ok
    assert audit.verify_chain().checked == 5


def test_record_takes_actor_role_region_and_request_id_from_the_request(town_operator_fengqiao, rf):
    request = rf.get("/")
    request.user = town_operator_fengqiao.user
    request.membership = town_operator_fengqiao.membership
    request.request_id = "req-12345678"
    event = audit.record("cases.viewed", obj=town_operator_fengqiao.unit, request=request)
    event.refresh_from_db()
    assert event.actor_id == town_operator_fengqiao.user.pk
    assert event.actor_username == town_operator_fengqiao.user.username
    assert event.role == "town_operator"
    assert event.region_code == "330681109"
    assert event.request_id == "req-12345678"
    assert event.object_type == "regions.unit"
    assert event.object_id == str(town_operator_fengqiao.unit.public_id)
    assert audit.compute_hash(event) == event.hash


def test_record_refuses_personal_data_in_detail():
    with pytest.raises(ValueError, match="personal data"):
        audit.record("cases.created", detail={"parties": [{"phone": "13800000000"}]})


def test_detail_survives_the_database_round_trip_unchanged_for_the_hash(chain):
    event = audit.record("test.detail", detail={"b": 1, "a": [1.5, "枫桥"], "when": timezone.now()})
    stored = AuditEvent.objects.get(pk=event.pk)
    assert audit.compute_hash(stored) == stored.hash


def test_database_refuses_update_of_an_audit_event(chain):
    arm_guard()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=chain[2].pk).update(outcome="denied")
    with pytest.raises(DatabaseError), transaction.atomic():
        raw("UPDATE core_auditevent SET action = %s WHERE id = %s", ["x", chain[2].pk])


def test_database_refuses_delete_of_an_audit_event(chain):
    arm_guard()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=chain[2].pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        raw("DELETE FROM core_auditevent WHERE id = %s", [chain[2].pk])
    assert AuditEvent.objects.filter(pk=chain[2].pk).exists()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_refuses_truncate_of_the_audit_table(chain):
    arm_guard()
    with pytest.raises(DatabaseError), transaction.atomic():
        raw("TRUNCATE core_auditevent")


def test_verify_names_an_updated_row(chain):
    disable_guard()
    raw("UPDATE core_auditevent SET outcome = 'denied' WHERE id = %s", [chain[2].pk])
    report = audit.verify_chain()
    assert (report.first_broken_id, report.reason) == (chain[2].pk, "content")


def test_verify_names_the_row_after_a_deleted_one(chain):
    disable_guard()
    raw("DELETE FROM core_auditevent WHERE id = %s", [chain[1].pk])
    report = audit.verify_chain()
    assert (report.first_broken_id, report.reason) == (chain[2].pk, "missing")


def test_verify_detects_deletion_of_the_first_and_of_the_last_rows(chain):
    disable_guard()
    raw("DELETE FROM core_auditevent WHERE id = %s", [chain[0].pk])
    assert audit.verify_chain().first_broken_id == chain[1].pk
    raw("DELETE FROM core_auditevent WHERE id > %s", [chain[1].pk])
    assert audit.verify_chain().first_broken_id == chain[1].pk


def test_verify_names_a_truncated_tail(chain):
    disable_guard()
    raw("DELETE FROM core_auditevent WHERE id = %s", [chain[4].pk])
    report = audit.verify_chain()
    assert (report.first_broken_id, report.reason) == (chain[4].pk, "tail")


def test_verify_names_the_first_of_two_reordered_rows(chain):
    disable_guard()
    a, b = chain[1].pk, chain[2].pk
    raw("UPDATE core_auditevent SET id = %s WHERE id = %s", [-1, a])
    raw("UPDATE core_auditevent SET id = %s WHERE id = %s", [a, b])
    raw("UPDATE core_auditevent SET id = %s WHERE id = %s", [b, -1])
    assert audit.verify_chain().first_broken_id == a


def test_verify_detects_a_row_whose_hash_was_recomputed_after_an_edit(chain):
    disable_guard()
    forged = AuditEvent.objects.get(pk=chain[1].pk)
    forged.outcome = "denied"
    forged.hash = audit.compute_hash(forged)
    raw(
        "UPDATE core_auditevent SET outcome = %s, hash = %s WHERE id = %s",
        [forged.outcome, forged.hash, forged.pk],
    )
    report = audit.verify_chain()
    assert (report.first_broken_id, report.reason) == (chain[2].pk, "link")


def test_audit_verify_command_succeeds_on_an_intact_chain(chain, capsys):
    call_command("audit", "verify", "--no-progress")
    assert "OK" in capsys.readouterr().out


def test_audit_verify_command_fails_and_prints_the_first_broken_row(chain):
    disable_guard()
    raw("UPDATE core_auditevent SET detail = %s WHERE id = %s", ['{"n": 99}', chain[3].pk])
    with pytest.raises(CommandError, match=rf"row {chain[3].pk}\b") as excinfo:
        call_command("audit", "verify", "--no-progress")
    assert excinfo.value.returncode != 0


def test_sha256_chain_under_the_aes_suite(chain):
    with override_settings(FENGQIAO_CRYPTO="aes"):
        event = audit.record("test.aes")
        import hashlib

        expected = hashlib.sha256(event.prev_hash.encode() + audit.canonical(event)).hexdigest()
        assert event.hash == expected


# --- retention purge --------------------------------------------------------------------------


@pytest.fixture
def aged_chain(chain):
    """Three events 400 days old followed by two recent ones, on a fresh chain."""
    AuditEvent.objects.all().delete()
    AuditChainHead.objects.all().delete()
    now = timezone.now()
    events = []
    for days in (402, 401, 400):
        with time_machine.travel(now - timedelta(days=days), tick=False):
            events.append(audit.record("test.old"))
    events += [audit.record("test.new"), audit.record("test.new")]
    arm_guard()
    return events


@override_settings(AUDIT_RETENTION_DAYS=365)
def test_purge_deletes_only_events_past_retention_and_chain_still_verifies(aged_chain):
    result = services.purge_audit_events()
    assert result.deleted == 3
    remaining = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    assert remaining[:2] == [aged_chain[3].pk, aged_chain[4].pk]
    assert AuditEvent.objects.last().action == "audit.purged"
    assert audit.verify_chain().ok


@override_settings(AUDIT_RETENTION_DAYS=401)
def test_purge_keeps_everything_younger_than_the_retention_setting(aged_chain):
    result = services.purge_audit_events()
    assert result.deleted == 2
    assert AuditEvent.objects.filter(pk=aged_chain[2].pk).exists()
    assert audit.verify_chain().ok


@override_settings(AUDIT_RETENTION_DAYS=365)
def test_deleting_the_oldest_row_after_a_purge_is_still_detected(aged_chain):
    services.purge_audit_events()
    disable_guard()
    raw("DELETE FROM core_auditevent WHERE id = %s", [aged_chain[3].pk])
    assert audit.verify_chain().first_broken_id == aged_chain[4].pk


def test_database_refuses_purging_young_rows_even_with_a_permit(aged_chain):
    from fengqiao.core.models import AuditPurgePermit

    AuditPurgePermit.objects.create()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=aged_chain[3].pk).delete()
    with transaction.atomic():
        AuditEvent.objects.filter(pk=aged_chain[0].pk).delete()
    assert not AuditEvent.objects.filter(pk=aged_chain[0].pk).exists()


def test_database_refuses_deleting_old_rows_without_a_permit(aged_chain):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=aged_chain[0].pk).delete()


@pytest.mark.usefixtures("committed_db")
def test_concurrent_appends_form_one_unbroken_chain():
    """Writers in several threads (own connections, real commits) never fork the chain."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    def append(worker: int) -> list[int]:
        try:
            return [
                audit.record("test.concurrent", detail={"worker": worker, "n": n}).id
                for n in range(10)
            ]
        finally:
            connections.close_all()

    head = AuditChainHead.objects.filter(pk=1).first()
    start = head.last_id if head else 0
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            ids = sorted(i for batch in pool.map(append, range(4)) for i in batch)
        assert ids == list(range(start + 1, start + 41))
        assert audit.verify_chain().ok
    finally:
        # Committed rows: remove them (the test database's flush release allows it).
        AuditEvent.objects.filter(id__gt=start).delete()
        if head is None:
            AuditChainHead.objects.all().delete()
        else:
            head.save()


@override_settings(AUDIT_RETENTION_DAYS=365)
def test_daily_purge_job_runs_the_retention_purge(aged_chain):
    from fengqiao.core.jobs import purge_expired_audit_events

    assert purge_expired_audit_events.call_local() == 3
    assert audit.verify_chain().ok


# --- events appended at the end of a block (audit.appended_last) ---------------------------------


def test_a_block_appends_its_events_and_rows_at_its_end_in_order(chain):
    from fengqiao.core.models import CalendarDay

    day = CalendarDay(date=timezone.localdate() + timedelta(days=4000), kind="holiday")
    with transaction.atomic(), audit.appended_last() as tail:
        first = audit.record("test.tail1", detail={"n": 1}, writes=[day])
        with audit.appended_last():  # a nested block joins the outer one
            second = audit.record("test.tail2", detail={"n": 2})
        tail.ride(rider := CalendarDay(date=day.date + timedelta(days=1), kind="holiday"))
        # Nothing is written yet: the events and rows wait for the block's end.
        assert first.id is None and day.pk is None and rider.pk is None
        assert not AuditEvent.objects.filter(action__startswith="test.tail").exists()
    assert (first.id, second.id) == (chain[-1].id + 1, chain[-1].id + 2)
    assert first.prev_hash == chain[-1].hash and second.prev_hash == first.hash
    assert AuditChainHead.objects.get(pk=1).last_hash == second.hash
    assert CalendarDay.objects.filter(pk__in=[day.pk, rider.pk]).count() == 2
    assert audit.verify_chain().ok


def test_a_block_that_fails_appends_nothing(chain):
    from fengqiao.core.models import CalendarDay

    day = CalendarDay(date=timezone.localdate() + timedelta(days=4000), kind="holiday")
    with pytest.raises(RuntimeError), transaction.atomic(), audit.appended_last() as tail:
        audit.record("test.failed", writes=[day])
        tail.ride(CalendarDay(date=day.date + timedelta(days=1), kind="holiday"))
        raise RuntimeError("the service failed after recording")
    assert not AuditEvent.objects.filter(action="test.failed").exists()
    assert not CalendarDay.objects.filter(date__gte=day.date).exists()
    # Later appends continue the chain where it was.
    assert audit.record("test.after").prev_hash == chain[-1].hash
    assert audit.verify_chain().ok


def test_events_are_appended_last_only_inside_a_transaction():
    with pytest.raises(RuntimeError), audit.appended_last():
        pass


def test_an_event_inside_a_savepoint_of_a_block_is_appended_at_once(chain):
    # The savepoint may roll back while the block goes on: its event must roll back with it.
    with transaction.atomic(), audit.appended_last():
        waiting = audit.record("test.waits")
        with pytest.raises(RuntimeError), transaction.atomic():
            at_once = audit.record("test.rolled_back")
            assert at_once.id == chain[-1].id + 1
            raise RuntimeError("the inner step failed")
        assert waiting.id is None
    assert not AuditEvent.objects.filter(action="test.rolled_back").exists()
    assert waiting.prev_hash == chain[-1].hash
    assert audit.verify_chain().ok


def test_a_row_handed_over_inside_a_rolled_back_savepoint_is_not_written(chain):
    from fengqiao.core.models import CalendarDay

    day = timezone.localdate() + timedelta(days=4000)
    with transaction.atomic(), audit.appended_last() as tail:
        audit.record("test.outer")
        with pytest.raises(RuntimeError), transaction.atomic():
            tail.ride(CalendarDay(date=day, kind="holiday"))
            with audit.appended_last() as inner:  # inside the savepoint: a block of its own
                inner.ride(CalendarDay(date=day + timedelta(days=1), kind="holiday"))
                audit.record("test.inner")
            raise RuntimeError("the inner step failed")
    assert not CalendarDay.objects.filter(date__gte=day).exists()
    assert not AuditEvent.objects.filter(action="test.inner").exists()
    assert AuditEvent.objects.filter(action="test.outer").exists()
    assert audit.verify_chain().ok


def test_a_block_without_events_writes_its_rows_and_leaves_the_chain_alone(chain):
    from fengqiao.core.models import CalendarDay

    day = timezone.localdate() + timedelta(days=4000)
    with transaction.atomic(), audit.appended_last() as tail:
        tail.ride(rider := CalendarDay(date=day, kind="holiday"))
    assert rider.pk is not None and CalendarDay.objects.filter(pk=rider.pk).exists()
    assert AuditChainHead.objects.get(pk=1).last_id == chain[-1].id


def test_a_block_in_a_transaction_marked_for_rollback_writes_nothing(chain):
    with transaction.atomic(), audit.appended_last():
        audit.record("test.dry_run")
        transaction.set_rollback(True)  # a dry run: no error, nothing kept
    assert not AuditEvent.objects.filter(action="test.dry_run").exists()
    assert audit.verify_chain().ok
