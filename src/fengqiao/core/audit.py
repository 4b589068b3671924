"""The audit chain (审计链): append events, verify the chain (SECURITY.md 21–23).

``record()`` is the one way to write an audit event. Each event carries the hash of its
predecessor: ``hash = H(prev_hash ‖ canonical(row))`` with H = SM3 (SHA-256 under "aes"). Appends
are serialised by the chain-head row lock (SQLite's IMMEDIATE transactions already queue
writers; creating a missing head and purging also take a PostgreSQL advisory lock), so ids and
links never interleave. Inside an ``appended_last()`` block the events wait for the block's end,
so that lock is held for the append and the commit alone. ``verify_chain()`` walks the rows in
id order and names the first row whose id, link or content does not match.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from fengqiao.core import crypto, inserts
from fengqiao.core.middleware import current_request_id
from fengqiao.core.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64
# pg_advisory_xact_lock key for audit appends and purges ("FQAUDIT" as a number).
ADVISORY_LOCK_KEY = 0x4651_4155_4449_54
# Keys that name personal data; audit detail must describe what happened, not to whom.
PERSONAL_DATA_KEYS = frozenset(
    {
        "phone",
        "mobile",
        "id_number",
        "id_card",
        "address",
        "full_name",
        "password",
        "secret",
        "token",
        "email",
        "content",
        "receipt",
    }
)


def record(
    action: str,
    *,
    actor=None,
    membership=None,
    obj=None,
    outcome: str = "ok",
    detail: dict | None = None,
    request=None,
    writes: Sequence[Model] = (),
) -> AuditEvent:
    """Append one event to the audit chain and return it.

    ``action`` is a dotted name (``accounts.login``, ``cases.escalated``). ``actor`` and
    ``membership`` default to the request's user and active membership; ``obj`` is a model
    instance (its public id is recorded when it has one) or an ``(object_type, object_id)`` pair.
    ``detail`` must not contain personal data. Runs in the caller's transaction when there is
    one, so the event commits or rolls back with the change it describes; the chain lock is
    then held until that transaction ends, so call ``record()`` as the service's last write
    (after its own row locks, which also keeps PostgreSQL from seeing lock-order deadlocks).

    ``writes`` are unsaved rows of the change itself, inserted just before the event: on
    PostgreSQL in the statement that locks the chain head (``core.inserts.front``), so they cost
    no round trip of their own; elsewhere one by one. Their keys are set once they are written.

    Inside an ``appended_last()`` block the event and its ``writes`` wait for the block's end.
    """
    if not action or len(action) > 100:
        raise ValueError("an audit action is a dotted name of 1–100 characters")
    if request is not None:
        user = getattr(request, "user", None)
        if actor is None and user is not None and user.is_authenticated:
            actor = user
        if membership is None:
            membership = getattr(request, "membership", None)
    if actor is None and membership is not None:
        actor = membership.user
    object_type, object_id = _describe(obj)
    request_id = (getattr(request, "request_id", "") if request is not None else "") or (
        current_request_id()
    )
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor_id=getattr(actor, "pk", None),
        actor_username=getattr(actor, "username", "") or "",
        role=getattr(membership, "role", "") or "",
        region_code=getattr(membership, "region_code", "") or "",
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome[:20],
        request_id="" if request_id == "-" else request_id[:64],
        detail=_clean_detail(detail),
    )
    tail = _tail.get()
    if tail is not None and tail.here():
        tail.rows += writes
        tail.events.append(event)
        return event
    # Outside a block, or inside a savepoint opened in one: that savepoint may roll back while
    # the block goes on, and its event must go with it.
    _chain([event], writes)
    return event


def _chain(events: list[AuditEvent], writes: Sequence[Model]) -> None:
    """Write ``writes``, then link ``events`` to the chain in order and append them."""
    # No savepoint inside a caller's transaction: nothing here can fail without failing the
    # caller's change too (it must not commit without its events), and two statements are saved.
    with transaction.atomic(savepoint=False):
        last_id, last_hash = _lock_head(writes)
        for event in events:
            event.id, event.prev_hash = last_id + 1, last_hash
            event.hash = compute_hash(event)
            last_id, last_hash = event.id, event.hash
        if events:
            _append(events)


@dataclass
class Tail:
    """The audit events of an ``appended_last()`` block and the rows that go with them."""

    connection: Any  # the block's database connection
    depth: int  # the savepoints open where the block began
    events: list[AuditEvent] = field(default_factory=list)
    rows: list[Model] = field(default_factory=list)

    def here(self) -> bool:
        """Whether a write now belongs to the block itself: its connection and transaction, and
        no savepoint opened since (which could roll back while the block goes on)."""
        return (
            transaction.get_connection() is self.connection
            and self.connection.in_atomic_block
            and _savepoints() == self.depth
        )

    def ride(self, row: Model) -> None:
        """Write the unsaved ``row`` with the block's events (on PostgreSQL, in the statement
        that takes the chain head's lock); inside a savepoint of the block, at once."""
        if self.here():
            self.rows.append(row)
        else:
            inserts.insert(row)


_tail: ContextVar[Tail | None] = ContextVar("fengqiao_audit_tail", default=None)


def _savepoints() -> int:
    """The savepoints open in this transaction (an atomic block without one counts None)."""
    return sum(1 for sid in transaction.get_connection().savepoint_ids if sid is not None)


@contextmanager
def appended_last() -> Iterator[Tail]:
    """Inside a transaction: the block's audit events are appended when it ends without an
    error, as its last writes.

    The chain head's lock is held from an append until the transaction ends, and every other
    append waits on it. Appended at the end of the block, the events hold it for the append and
    the commit alone, not for what the block does after its service has called ``record()`` (an
    idempotent create builds, seals and stores its answer there). The rows given to
    ``record(writes=…)`` and to ``Tail.ride()`` are written with the events, in the statement
    that takes the lock on PostgreSQL; their values are read then, not when they were handed
    over.

    So nothing in the block may read those rows or events back, nor use their keys (a timeline
    row returned by a service has none until the block ends). Events and rows handed over inside
    a savepoint opened within the block are written at once, as outside a block: the savepoint
    may roll back while the block goes on. A block nested at the same level joins the outer one.
    A transaction already marked for rollback writes nothing at the end.
    """
    atomic = transaction.get_connection()
    if not atomic.in_atomic_block:
        raise RuntimeError("audit events are appended last inside a transaction only")
    outer = _tail.get()
    if outer is not None and outer.here():
        yield outer
        return
    tail = Tail(connection=atomic, depth=_savepoints())
    token = _tail.set(tail)
    try:
        yield tail
    finally:
        _tail.reset(token)
    # Reached only when the block raised nothing.
    if atomic.needs_rollback:
        return
    if tail.events:
        _chain(tail.events, tail.rows)
    else:  # nothing to append: no reason to take the chain's lock
        for row in tail.rows:
            inserts.insert(row)


def _head_table() -> str:
    return connection.ops.quote_name(AuditChainHead._meta.db_table)


def _lock_head(writes: Sequence[Model] = ()) -> tuple[int, str]:
    """Insert ``writes``, lock the chain head for this transaction and return its (last id, last
    hash).

    One statement on the hot path: the head row's lock alone serialises appends (PostgreSQL
    FOR UPDATE; SQLite's IMMEDIATE transaction already holds the write lock). On PostgreSQL the
    rows ride in front of it as a data-modifying WITH. Their keys are read in a subquery that
    the head's LATERAL lock depends on, so the rows are written before the lock is taken (every
    other append waits on that lock until this transaction commits); a missing head still
    returns the keys. Only a missing head takes ``lock_chain()``'s advisory lock, so two first
    appends cannot both create it.
    """
    read_head = f"SELECT last_id, last_hash FROM {_head_table()} WHERE id = 1"  # noqa: S608
    batch = inserts.front(writes)
    with connection.cursor() as cursor:
        if batch is not None and batch.sql:
            # OFFSET 0 keeps the subquery whole (not merged into the outer query), so all its
            # keys are computed before the joined lock runs.
            cursor.execute(
                f"{batch.sql}SELECT head.last_id, head.last_hash, written.* "  # noqa: S608
                f"FROM (SELECT {batch.keys} OFFSET 0) AS written LEFT JOIN LATERAL "
                f"({read_head} AND written IS NOT NULL FOR UPDATE) AS head ON true",
                batch.params,
            )
            found = cursor.fetchone()
            batch.saved(found[2:])
        else:
            # SQLite, no rows, or a row that only save() can write.
            for row in writes:
                inserts.insert(row)
            suffix = " FOR UPDATE" if connection.vendor == "postgresql" else ""
            cursor.execute(read_head + suffix)
            found = cursor.fetchone()
    if found is None or found[0] is None:
        chain = lock_chain()
        return chain.last_id, chain.last_hash
    return found[0], found[1]


def _append(events: list[AuditEvent]) -> None:
    """Insert the linked events and move the chain head to the last (the caller holds the
    head's lock).

    PostgreSQL: one statement, the INSERTs in a data-modifying WITH in front of the head's
    UPDATE (each statement there is a round trip while every other append waits on the head).
    SQLite runs in process: the INSERTs and a plain UPDATE. post_save is sent either way, as
    receivers watch audit events (``regions.places`` and ``cases.routing`` drop their caches).
    """
    head_update = f"UPDATE {_head_table()} SET last_id = %s, last_hash = %s WHERE id = 1"  # noqa: S608
    head = [events[-1].id, events[-1].hash]
    batch = inserts.front(events)
    with connection.cursor() as cursor:
        if batch is None:
            for event in events:
                inserts.insert(event)
            cursor.execute(head_update, head)
        else:
            cursor.execute(f"{batch.sql}{head_update}", [*batch.params, *head])
            batch.saved()


def lock_chain() -> AuditChainHead:
    """Take the chain lock for this transaction and return the head row (created on first use)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
    # By primary key: no ORDER BY / LIMIT (``.first()`` would add them).
    head = next(iter(AuditChainHead.objects.select_for_update().filter(pk=1).order_by()), None)
    if head is None:
        # First event ever, or the head was lost: continue from the last stored row.
        last = AuditEvent.objects.order_by("-id").values("id", "hash").first()
        head = AuditChainHead(pk=1)
        if last is not None:
            head.last_id, head.last_hash = last["id"], last["hash"]
        head.save(force_insert=True)
    return head


def _describe(obj: Any) -> tuple[str, str]:
    if obj is None:
        return "", ""
    if isinstance(obj, tuple):
        object_type, object_id = obj
        return str(object_type)[:100], str(object_id)[:64]
    if isinstance(obj, Model):
        identity = getattr(obj, "public_id", None) or obj.pk
        return obj._meta.label_lower, str(identity)[:64]
    raise TypeError("obj must be a model instance or an (object_type, object_id) pair")


def _clean_detail(detail: Mapping[str, Any] | None) -> dict:
    """Detail as it will read back from the database, so the hash survives a round trip."""
    if not detail:
        return {}
    _refuse_personal_keys(detail)
    return json.loads(json.dumps(dict(detail), default=str, ensure_ascii=False))


def _refuse_personal_keys(value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if str(key).lower() in PERSONAL_DATA_KEYS:
                raise ValueError(f"audit detail must not carry personal data ({key!r})")
            _refuse_personal_keys(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_personal_keys(item)


def canonical(event: AuditEvent) -> bytes:
    """The bytes an event's hash covers: every column except the hashes, in a fixed form."""
    occurred_at = event.occurred_at
    if isinstance(occurred_at, datetime):
        occurred_at = occurred_at.astimezone(UTC).isoformat(timespec="microseconds")
    payload = {
        "id": event.id,
        "occurred_at": occurred_at,
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "role": event.role,
        "region_code": event.region_code,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "outcome": event.outcome,
        "request_id": event.request_id,
        "detail": event.detail,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(event: AuditEvent) -> str:
    return crypto.digest(event.prev_hash.encode("ascii") + canonical(event)).hex()


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a chain verification; ``first_broken_id`` is None when the chain holds."""

    checked: int
    first_broken_id: int | None = None
    reason: str = ""

    # Reasons: "missing" (an id is absent), "link" (prev_hash differs from the predecessor's
    # hash), "content" (the row no longer hashes to its stored hash), "tail" (rows after the
    # last remaining one were removed).
    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


def verify_chain(*, progress: Callable[[int], None] | None = None) -> ChainReport:
    """Walk the chain from the purge anchor to the head; report the first broken row.

    ``progress`` is called with the number of rows checked since the last call (for tqdm).
    """
    head = AuditChainHead.objects.filter(pk=1).first()
    expected_id = (head.anchor_id if head else 0) + 1
    expected_prev = head.anchor_hash if head else GENESIS_HASH
    checked = 0
    last_id = expected_id - 1
    events = AuditEvent.objects.order_by("id")
    if head is not None:
        # Events appended while we walk are not part of the chain we set out to check.
        events = events.filter(id__lte=head.last_id)
    for event in events.iterator(chunk_size=2000):
        checked += 1
        if progress is not None and checked % 1000 == 0:
            progress(1000)
        if event.id != expected_id:
            return ChainReport(checked, event.id, "missing")
        if event.prev_hash != expected_prev:
            return ChainReport(checked, event.id, "link")
        if compute_hash(event) != event.hash:
            return ChainReport(checked, event.id, "content")
        expected_id, expected_prev, last_id = event.id + 1, event.hash, event.id
    if progress is not None:
        progress(checked % 1000)
    if head is not None and (head.last_id != last_id or head.last_hash != expected_prev):
        return ChainReport(checked, last_id + 1, "tail")
    return ChainReport(checked)


def event_count() -> int:
    return AuditEvent.objects.count()
