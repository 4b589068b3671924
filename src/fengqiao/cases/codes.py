"""Case codes (一事一码) and citizen tracking tokens.

A code is the county code, the local date of intake and a five-digit sequence per county and day:
``330681-20261128-00042``. The sequence row is incremented with one upsert, which takes the row
lock, so concurrent intakes queue on it and each reads back its own number, on SQLite and on
PostgreSQL alike. On SQLite that happens inside the intake transaction (which holds the database's
write lock anyway). On PostgreSQL the row lock would be held until the intake commits, and every
intake of a county would wait for the one before it to finish all its writes: there the code is
taken ahead, in one statement of its own (``reserve_case_code``), when no transaction is open.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, datetime
from typing import NamedTuple

from django.db import transaction
from django.utils import timezone

from fengqiao.cases.models import Case, CaseSequence

SEQUENCE_DIGITS = 5


def county_prefix(region_code: str) -> str:
    """The first six digits: the county (or the city itself for a case seated at city level)."""
    return region_code[:6]


def next_sequence(prefix: str, day: date) -> int:
    """Take the next number for ``prefix`` and ``day``; must run inside the intake transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("case sequences are taken inside the intake transaction")
    return _take_number(prefix, day, "VALUES (%s, %s, 1)")[0]


def _take_number(prefix: str, day: date, source: str, also: str = "", params=()) -> tuple:
    """The one upsert that takes a number, with ``source`` giving the new row's values; returns
    the number, then the values of ``also`` (more RETURNING entries, with their ``params``).

    It takes the row lock (PostgreSQL) or runs under the write lock (SQLite's IMMEDIATE
    transactions), so two intakes can never read the same number. SQLite ≥ 3.35 and PostgreSQL
    both speak ON CONFLICT … RETURNING.
    """
    connection = transaction.get_connection()
    table = connection.ops.quote_name(CaseSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (prefix, day, last) {source} "  # noqa: S608 - table name, fixed SQL
            f"ON CONFLICT (prefix, day) DO UPDATE SET last = {table}.last + 1 RETURNING last{also}",
            [prefix, connection.ops.adapt_datefield_value(day), *params],
        )
        return cursor.fetchone()


def format_code(prefix: str, day: date, sequence: int) -> str:
    return f"{prefix}-{day:%Y%m%d}-{sequence:0{SEQUENCE_DIGITS}d}"


def new_case_code(region_code: str, at: datetime) -> str:
    """The code for a case reported at ``at`` in ``region_code`` (the local date counts)."""
    prefix = county_prefix(region_code)
    day = timezone.localdate(at)
    return format_code(prefix, day, next_sequence(prefix, day))


def can_reserve() -> bool:
    """Whether intake should take its code ahead of its transaction: on PostgreSQL, in autocommit
    (an import files all its cases in one transaction, and takes their codes inside it)."""
    connection = transaction.get_connection()
    return connection.vendor == "postgresql" and connection.get_autocommit()


class Reservation(NamedTuple):
    """What intake takes ahead of its transaction on PostgreSQL (``reserve_case_code``)."""

    code: str
    at: datetime  # the report time: the code's date is its local date
    case_id: int  # the case's primary key, drawn from its table's sequence


def reserve_case_code(region_code: str) -> Reservation:
    """Take a code, the report time and the case's key ahead of the intake transaction.

    One statement in autocommit, so the row lock is held for that statement alone and the
    whole reservation is one round trip (an explicit transaction took four: BEGIN, SET LOCAL,
    the upsert, COMMIT). A reserved code whose case is then not filed (a database error, a
    replayed Idempotency-Key) is skipped: the sequence may have gaps, never repeats. The commit
    does not wait for its WAL flush (``set_config(…, true)`` turns ``synchronous_commit`` off for
    this statement's own transaction only): the case's own commit, later in the same log, flushes
    it, so no stored case can carry a number that a crash took back.

    The case's key comes with it (``nextval`` of the case table's sequence, which no rollback
    takes back either): with its key known, the case row can travel in one statement with its
    parties and timeline row (``audit.record``'s ``writes``).
    """
    if not can_reserve():
        raise RuntimeError("codes are reserved on PostgreSQL, outside any transaction")
    at = timezone.now()
    prefix, day = county_prefix(region_code), timezone.localdate(at)
    source = (
        "SELECT %s, %s::date, 1 "
        "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS local_setting"
    )
    meta = Case._meta
    quote = transaction.get_connection().ops.quote_name
    number, case_id = _take_number(
        prefix,
        day,
        source,
        # The table's name is read as an identifier: quoted, as the schema has it.
        also=", nextval(pg_get_serial_sequence(%s, %s))",
        params=[quote(meta.db_table), meta.pk.column],
    )
    return Reservation(format_code(prefix, day, number), at, case_id)


# --- tracking tokens ----------------------------------------------------------------------------


def new_tracking_token() -> tuple[str, str]:
    """A fresh token for the citizen's tracking link and its stored hash: ``(token, sha256 hex)``."""
    token = secrets.token_urlsafe(16)
    return token, hash_tracking_token(token)


def hash_tracking_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tracking_token_matches(stored_hash: str, token: str) -> bool:
    """Constant-time comparison of a presented token with the stored hash."""
    if not stored_hash or not token:
        return False
    return hmac.compare_digest(stored_hash, hash_tracking_token(token))
