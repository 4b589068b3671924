"""The transactional outbox: work owed by a committed change, run at least once, effective once.

Writers call ``enqueue(name, key, **ids)`` inside the transaction that makes the change; the job
row commits with the change or not at all (SECURITY 24). After commit a Huey task is asked to run
it at once; if that request is lost (the process died between commit and enqueue, the queue was
down) the periodic ``run_outbox`` job finds the row anyway, so nothing depends on the queue.

Running (``run_pending``): each due job is claimed with ONE conditional UPDATE that sets a random
claim token and a lease; the handler then runs in a transaction that ends by marking the job done
under that same token. The handler's writes and the done mark commit together, so a worker killed
mid-job leaves no effect and no mark — once the lease runs out the job is claimed again (SECURITY
26). A worker that outlived its lease finds its token gone, and its transaction rolls back.
Handlers must keep their effects inside the database transaction (or be idempotent themselves).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from fengqiao.core.models import OutboxJob

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
_HANDLERS: dict[str, Callable[..., object]] = {}


class LeaseLost(Exception):
    """Another runner claimed the job after this runner's lease ran out."""


def handler(name: str):
    """Register the function that runs jobs called ``name`` (at import of an app's ``jobs``)."""

    def register(function: Callable[..., object]) -> Callable[..., object]:
        _HANDLERS[name] = function
        return function

    return register


def enqueue(name: str, key: str, **args) -> None:
    """Owe a job for the current transaction's change; a second enqueue of (name, key) is a no-op."""
    if name not in _HANDLERS:
        raise LookupError(f"no outbox handler for {name!r}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox.enqueue() belongs inside the transaction of the change")
    try:
        # A savepoint, so a duplicate leaves the caller's transaction usable (PostgreSQL aborts
        # the whole transaction on an IntegrityError otherwise).
        with transaction.atomic():
            OutboxJob.objects.create(name=name, key=key, args=args, run_after=timezone.now())
    except IntegrityError:
        return
    transaction.on_commit(_kick)


def _kick() -> None:
    """Ask the queue to run the backlog now; losing this only delays the job to the next sweep."""
    from fengqiao.core import jobs

    try:
        jobs.run_outbox_now()
    except Exception:  # noqa: BLE001 — the periodic sweep is the guarantee, the kick a shortcut
        log.warning("outbox: could not queue an immediate run; the periodic sweep will run it")


@dataclass(frozen=True)
class RunResult:
    done: int = 0
    retried: int = 0
    failed: int = 0


def _claim(job_id: int, now: datetime) -> str | None:
    token = secrets.token_hex(16)
    claimed = (
        OutboxJob.objects.filter(pk=job_id, done_at__isnull=True, failed_at__isnull=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        # Counting the attempt at the claim keeps the count honest when the worker is killed.
        .update(claim=token, claimed_until=now + LEASE, attempts=F("attempts") + 1)
    )
    return token if claimed else None


def _run_one(job: OutboxJob, token: str) -> None:
    function = _HANDLERS[job.name]
    with transaction.atomic():
        function(**job.args)
        finished = OutboxJob.objects.filter(pk=job.pk, claim=token, done_at__isnull=True).update(
            done_at=timezone.now(), last_error=""
        )
        if not finished:
            raise LeaseLost(job.pk)


def _record_failure(job: OutboxJob, token: str, error: Exception, now: datetime) -> bool:
    attempts = job.attempts + 1  # as counted by the claim
    gave_up = attempts >= MAX_ATTEMPTS
    OutboxJob.objects.filter(pk=job.pk, claim=token).update(
        last_error=type(error).__name__[:200],
        claimed_until=None,
        # Back off 2, 4, 8 … minutes so a poisoned job does not hog the runner.
        run_after=now + timedelta(minutes=2**attempts),
        failed_at=now if gave_up else None,
    )
    return gave_up


def pending(now: datetime | None = None):
    now = now or timezone.now()
    return (
        OutboxJob.objects.filter(done_at__isnull=True, failed_at__isnull=True, run_after__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("run_after", "pk")
    )


def run_pending(*, limit: int = 500, now: datetime | None = None) -> RunResult:
    """Run up to ``limit`` due jobs once each; safe to call from several workers at once."""
    done = retried = failed = 0
    for job in list(pending(now)[:limit]):
        moment = now or timezone.now()
        token = _claim(job.pk, moment)
        if token is None:
            continue  # another runner has it
        if job.name not in _HANDLERS:
            log.error("outbox: no handler for job %s (%s)", job.pk, job.name)
            _record_failure(job, token, LookupError(job.name), moment)
            failed += 1
            continue
        try:
            _run_one(job, token)
        except LeaseLost:
            continue
        except Exception as error:  # noqa: BLE001 — one bad job must not stop the others
            log.exception("outbox: job %s (%s) failed", job.pk, job.name)
            if _record_failure(job, token, error, moment):
                failed += 1
            else:
                retried += 1
            continue
        done += 1
    return RunResult(done=done, retried=retried, failed=failed)


def backlog() -> dict[str, int]:
    """Counts for operators: owed, running (claimed), done and given up."""
    now = timezone.now()
    owed = OutboxJob.objects.filter(done_at__isnull=True, failed_at__isnull=True)
    return {
        "pending": owed.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)).count(),
        "running": owed.filter(claimed_until__gte=now).count(),
        "done": OutboxJob.objects.filter(done_at__isnull=False).count(),
        "failed": OutboxJob.objects.filter(failed_at__isnull=False).count(),
    }
