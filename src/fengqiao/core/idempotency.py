"""``Idempotency-Key`` for every create (SECURITY 24): a replay gets the first answer.

Usage in an endpoint (django-ninja or a plain view)::

    status, body = idempotency.run(
        scope=f"cases.create:{principal}",     # who is asking: a token, a user, or "anonymous"
        key=request.headers.get("Idempotency-Key"),
        payload=body_as_dict,                  # what was asked: a different body is a conflict
        create=lambda: (201, {"code": case.code}),   # runs the service; returns (status, JSON)
    )

``create`` runs inside the same transaction that stores the answer, so the record, its outbox
job (``transaction.on_commit``) and the idempotency row commit together; the caller acknowledges
only after ``run`` returns, i.e. after commit. Two concurrent requests with one key: the unique
``key_hash`` lets one commit; the other's transaction (and its record) rolls back and it answers
with the stored result. A key reused with a different body raises ``IdempotencyConflict`` (the API
answers 422).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

from fengqiao.core import audit, crypto, inserts
from fengqiao.core.models import IdempotencyRecord

MAX_KEY_LENGTH = 200
_BINDING = crypto.Binding(table="core_idempotencyrecord", column="response", row="")


class IdempotencyConflict(Exception):
    """The key was used before with a different request body."""


class InvalidIdempotencyKey(ValueError):
    """The key is empty after stripping or longer than MAX_KEY_LENGTH."""


def _canonical(payload: Any) -> bytes:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")


def _derive(purpose: str, scope: str, key: str) -> bytes:
    return crypto.provider().keyed_digest(f"idempotency/{purpose}", f"{scope}\x1f{key}".encode())


def _response_key(scope: str, key: str) -> bytes:
    return _derive("response", scope, key)[: crypto.key_length(crypto.provider().alg)]


def _lookup(scope: str, key: str) -> str:
    return _derive("lookup", scope, key).hex()


def _answer(record: IdempotencyRecord, scope: str, key: str, request_hash: str):
    if record.request_hash != request_hash:
        raise IdempotencyConflict
    sealed = crypto.provider().decrypt_with_data_key(
        _response_key(scope, key), record.response, binding=_BINDING
    )
    return record.status, json.loads(sealed)


def check_key(key: str | None) -> str | None:
    """The usable key, None when absent; InvalidIdempotencyKey when malformed."""
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidIdempotencyKey(key)
    return key


def _stored(lookup: str) -> IdempotencyRecord | None:
    # key_hash is unique: no ORDER BY / LIMIT (``.first()`` would add them).
    found = list(IdempotencyRecord.objects.filter(key_hash=lookup).order_by())
    return found[0] if found else None


def run(
    *,
    scope: str,
    key: str | None,
    payload: Any,
    create: Callable[..., tuple[int, Any]],
    check_first: bool = True,
    prepare: Callable[[], Any] | None = None,
    audit_last: bool = False,
) -> tuple[int, Any]:
    """Run ``create`` once per (scope, key); return its (status, JSON body) or the stored one.

    ``check_first=False`` skips the look-up before ``create`` (one query less on the hot path of
    a busy create whose replays are rare): a replay then runs ``create`` in the transaction
    that the unique key rolls back whole, or whose failure is answered from the stored record,
    so callers still get the first answer. Only for a ``create`` whose effects are all in the
    database (no files written, nothing sent before commit) and that does not count its runs.

    ``prepare``, when given, runs before the transaction opens (checks and reads that need no
    lock) and ``create`` is called with its result. Its refusals are answered like those of
    ``create``: raised, or for an unchecked replay, the stored first answer.

    ``audit_last=True`` runs ``create`` in an ``audit.appended_last()`` block, for a ``create``
    that reads nothing back of what it wrote and fails whole (see that block's rules): its audit
    events, and the stored answer with them, are written after the answer is built and sealed,
    so the audit chain's lock is held for the append and the commit alone. Without a key there
    is no answer to store, and ``create`` runs as it is.
    """
    key = check_key(key)
    if key is None:
        prepared = prepare() if prepare is not None else None
        with transaction.atomic():
            return create(prepared) if prepare is not None else create()
    lookup = _lookup(scope, key)
    # Keyed and bound to the client's key: a plain hash of a body that carries parties would let
    # a database reader confirm a guessed name or phone number.
    request_hash = (
        crypto.provider()
        .keyed_digest("idempotency/request", f"{scope}\x1f{key}\x1f".encode() + _canonical(payload))
        .hex()
    )
    response_key = _response_key(scope, key)
    if check_first:
        existing = _stored(lookup)
        if existing is not None:
            return _answer(existing, scope, key, request_hash)
    try:
        prepared = prepare() if prepare is not None else None
        with (
            transaction.atomic(),
            audit.appended_last() if audit_last else contextlib.nullcontext() as tail,
        ):
            status, body = create(prepared) if prepare is not None else create()
            sealed = crypto.provider().encrypt_with_data_key(
                response_key, _canonical(body), binding=_BINDING
            )
            answer = IdempotencyRecord(
                key_hash=lookup, request_hash=request_hash, status=status, response=sealed
            )
            if tail is not None:
                tail.ride(answer)
            else:
                inserts.insert(answer)
    except IntegrityError:
        # A concurrent request (or, unchecked, an earlier one) with the same key committed
        # first; ours rolled back whole.
        existing = _stored(lookup)
        if existing is None:
            raise
        return _answer(existing, scope, key, request_hash)
    except Exception:
        if check_first:
            raise
        # Unchecked, a replay's own attempt may be refused (say the category was retired
        # since): the first answer still stands.
        existing = _stored(lookup)
        if existing is None:
            raise
        return _answer(existing, scope, key, request_hash)
    return status, body
