"""The transactional outbox: a job commits with its change, runs, and takes effect once."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from fengqiao.core import audit, outbox
from fengqiao.core.models import AuditEvent, OutboxJob

pytestmark = pytest.mark.django_db

calls: list[str] = []


@outbox.handler("test.effect")
def effect(marker: str) -> None:
    audit.record("test.outbox_effect", obj=("outbox", marker))
    calls.append(marker)


@outbox.handler("test.broken")
def broken(marker: str) -> None:
    audit.record("test.outbox_effect", obj=("outbox", marker))
    raise RuntimeError(f"cannot handle {marker}")


@pytest.fixture(autouse=True)
def no_calls():
    calls.clear()


def effects(marker: str) -> int:
    return AuditEvent.objects.filter(action="test.outbox_effect", object_id=marker).count()


def test_a_job_commits_with_its_change_or_not_at_all():
    with transaction.atomic():
        outbox.enqueue("test.effect", key="kept", marker="kept")
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        outbox.enqueue("test.effect", key="lost", marker="lost")
        1 / 0  # noqa: B018 — the change fails after the job was owed
    assert list(OutboxJob.objects.values_list("key", flat=True)) == ["kept"]


def test_enqueue_outside_a_transaction_and_unknown_jobs_are_refused():
    with pytest.raises(RuntimeError):
        # pytest-django wraps the test in a transaction; leave it to reach autocommit.
        connection.in_atomic_block, saved = False, connection.in_atomic_block
        try:
            outbox.enqueue("test.effect", key="x", marker="x")
        finally:
            connection.in_atomic_block = saved
    with pytest.raises(LookupError), transaction.atomic():
        outbox.enqueue("no.such.job", key="x")


def test_the_same_job_owed_twice_is_one_job_and_the_transaction_goes_on():
    with transaction.atomic():
        outbox.enqueue("test.effect", key="k", marker="first")
        outbox.enqueue("test.effect", key="k", marker="second")
        audit.record("test.after_duplicate")  # the transaction is still usable
    [job] = OutboxJob.objects.all()
    assert job.args == {"marker": "first"}


def test_a_job_runs_once_and_a_second_run_finds_nothing():
    with transaction.atomic():
        outbox.enqueue("test.effect", key="a", marker="a")
    assert outbox.run_pending().done == 1
    assert outbox.run_pending().done == 0
    job = OutboxJob.objects.get()
    assert calls == ["a"] and effects("a") == 1
    assert job.done_at is not None and job.attempts == 1


def test_a_failing_job_rolls_back_its_effect_backs_off_and_finally_gives_up():
    with transaction.atomic():
        outbox.enqueue("test.broken", key="b", marker="b")
    now = timezone.now()
    result = outbox.run_pending(now=now)
    job = OutboxJob.objects.get()
    assert (result.retried, effects("b")) == (1, 0)
    assert job.last_error == "RuntimeError" and "b" not in job.last_error.lower().split()
    assert job.run_after > now and job.done_at is None
    assert outbox.run_pending(now=now).retried == 0  # backing off
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        now += datetime.timedelta(hours=6)
        outbox.run_pending(now=now)
    job.refresh_from_db()
    assert job.failed_at is not None and job.attempts == outbox.MAX_ATTEMPTS
    assert outbox.backlog()["failed"] == 1 and effects("b") == 0


def test_a_claimed_job_waits_for_its_lease_and_a_runner_that_lost_it_rolls_back():
    with transaction.atomic():
        outbox.enqueue("test.effect", key="c", marker="c")
    job = OutboxJob.objects.get()
    now = timezone.now()
    stale = outbox._claim(job.pk, now)
    assert outbox.run_pending(now=now).done == 0  # leased to the first runner
    later = now + outbox.LEASE + datetime.timedelta(seconds=1)
    fresh = outbox._claim(job.pk, later)
    assert fresh and fresh != stale
    job.refresh_from_db()
    with pytest.raises(outbox.LeaseLost):
        outbox._run_one(job, stale)
    assert effects("c") == 0  # the stale runner's effect rolled back with it
    outbox._run_one(job, fresh)
    assert effects("c") == 1


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_job_leaves_nothing_and_the_rerun_takes_effect_once(tmp_path: Path):
    # Owed directly: enqueue() would also run it at commit (Huey runs immediately in tests).
    OutboxJob.objects.create(
        name="test.effect", key="killed", args={"marker": "killed"}, run_after=timezone.now()
    )
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{settings['NAME']}"
    else:
        url = (
            f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
            f"{settings['PORT'] or 5432}/{settings['NAME']}"
        )
    signal_file = tmp_path / "inside"
    worker = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("outbox_worker.py")), str(signal_file)],
        env={**os.environ, "DATABASE_URL": url, "FENGQIAO_HUEY_IMMEDIATE": "1"},
    )
    try:
        deadline = time.monotonic() + 60
        while not signal_file.exists():
            assert worker.poll() is None, "the worker ended before reaching the job"
            assert time.monotonic() < deadline, "the worker never reached the job"
            time.sleep(0.05)
        # The effect is written but not committed; the claim (its own statement) is.
        job = OutboxJob.objects.get()
        assert job.claimed_until is not None and job.attempts == 1
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    assert effects("killed") == 0 and OutboxJob.objects.get().done_at is None
    # Within the lease nobody takes it over; once it has run out, the job reruns.
    assert outbox.run_pending().done == 0
    later = timezone.now() + outbox.LEASE + datetime.timedelta(seconds=1)
    assert outbox.run_pending(now=later).done == 1
    assert outbox.run_pending(now=later).done == 0
    job = OutboxJob.objects.get()
    assert effects("killed") == 1 and calls == ["killed"]
    assert job.done_at is not None and job.attempts == 2


def test_the_command_runs_the_backlog_and_reports_it():
    from io import StringIO

    from django.core.management import call_command

    with transaction.atomic():
        outbox.enqueue("test.effect", key="cli", marker="cli")
    status = StringIO()
    call_command("outbox", "status", stdout=status)
    assert status.getvalue().split() == ["pending=1", "running=0", "done=0", "failed=0"]
    out = StringIO()
    call_command("outbox", "run", stdout=out)
    assert "1 done" in out.getvalue() and effects("cli") == 1
