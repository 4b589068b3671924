"""One-row INSERTs whose SQL is built once per model: the hot write paths (case intake, the
timeline, the audit chain, idempotency records).

``Model.save(force_insert=True)`` compiles its INSERT anew on every call: quoting every column,
writing a parameter marker per field, resolving the returning columns. For a case with 50 columns
that was ≈ 0.4 ms of Python, five times per intake and all of it inside the write transaction
(on SQLite, while the other worker waits for the lock). ``insert()`` keeps the statement per
model and does per row only what ``save()`` does to values: each field's ``pre_save`` (auto_now,
sealing, blind indexes) and ``get_db_prep_save``, and sends ``post_save`` when anything listens.
What it does not cover goes through ``save()`` unchanged: a model with a ``pre_save`` receiver
(which may change the instance first), a key the database computes other than an auto field,
generated columns, fields that write their own SQL for a value, expressions as values.

``front()`` puts several such INSERTs in front of another statement, as PostgreSQL's
data-modifying WITH: the rows cost no round trip of their own. The audit chain uses it, so the
rows a transition writes travel with the statement that locks the chain head.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from django.db import connections
from django.db.models import Field, Model
from django.db.models.signals import post_save, pre_save


@dataclass(frozen=True)
class _Statement:
    sql: str
    fields: tuple[Field, ...]
    returning: Field | None


@cache
def _statement(model: type[Model], alias: str, with_pk: bool) -> _Statement | None:
    meta = model._meta
    connection = connections[alias]
    if any(f.generated for f in meta.local_concrete_fields) or meta.order_with_respect_to:
        return None
    returning_fields = [] if with_pk else list(meta.db_returning_fields)
    if returning_fields not in ([], [meta.auto_field]) or len(meta.pk_fields) != 1:
        return None
    fields = tuple(f for f in meta.local_concrete_fields if with_pk or f is not meta.auto_field)
    if any(hasattr(f, "get_placeholder") for f in fields):
        # Django's hook for a field that wraps its value in SQL of its own instead of a bare
        # parameter (geometry fields, for one): save() builds that SQL, a fixed statement cannot.
        return None
    quote = connection.ops.quote_name
    # Names from the model's own meta, quoted; every value is a parameter.
    columns = ", ".join(quote(f.column) for f in fields)
    markers = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({markers})"  # noqa: S608
    returning = returning_fields[0] if returning_fields else None
    if returning is not None:
        if not connection.features.can_return_columns_from_insert:
            return None
        sql += f" RETURNING {quote(returning.column)}"
    return _Statement(sql, fields, returning)


@dataclass(frozen=True)
class Front:
    """INSERTs to send in front of another statement: ``sql`` is ``WITH w0 AS (INSERT …
    RETURNING "id"), …`` (empty for no rows), to be followed by the caller's own SELECT, INSERT
    or UPDATE.

    ``keys`` selects every row's primary key from its WITH, ``(SELECT "id" FROM w0) AS k0, …``,
    for a caller whose statement is a SELECT; reading them also makes PostgreSQL run those
    INSERTs where the caller reads them (unread, they run after the rest of the statement).
    Once the statement has run, ``saved()`` marks the rows saved as ``insert()`` does; it takes
    the keys read back, which a row whose key the database assigned needs.
    """

    sql: str
    params: list
    keys: str
    rows: tuple[Model, ...]
    using: str

    def saved(self, keys: Sequence | None = None) -> None:
        if keys is not None:
            if len(keys) != len(self.rows):
                raise ValueError(f"{len(self.rows)} rows were written; {len(keys)} keys given")
            for obj, key in zip(self.rows, keys, strict=True):
                obj.pk = key
        elif any(obj.pk is None for obj in self.rows):
            raise ValueError("a row's key was assigned by the database: pass the keys read back")
        for obj in self.rows:
            _saved(obj, self.using)


def front(rows: Sequence[Model], using: str = "default") -> Front | None:
    """The INSERTs of ``rows`` for the front of a statement, or None where a single statement
    cannot carry them: a database without data-modifying WITH (SQLite), or a row that needs
    ``save()`` (see the module's docstring). The rows' ``pre_save`` has run when this returns a
    statement; after None, some rows' may have, and running it again is harmless (timestamps are
    set anew, sealed values kept).

    A row may refer to an earlier one only when that one's key is already set: all values are
    bound before the statement runs.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    for obj in rows:
        model = type(obj)
        if pre_save.has_listeners(model) or _statement(model, using, obj.pk is not None) is None:
            return None
    parts, params, keys = [], [], []
    for n, obj in enumerate(rows):
        prepared = _prepare(obj, using)
        if prepared is None:  # a value is an SQL expression: only save() writes that
            return None
        found, values = prepared
        column = connection.ops.quote_name(type(obj)._meta.pk.column)
        returning = "" if found.returning is not None else f" RETURNING {column}"
        parts.append(f"w{n} AS ({found.sql}{returning})")
        params += values
        keys.append(f"(SELECT {column} FROM w{n}) AS k{n}")  # noqa: S608 - the model's own column
    sql = f"WITH {', '.join(parts)} " if parts else ""
    return Front(sql, params, ", ".join(keys), tuple(rows), using)


def _prepare(obj: Model, using: str) -> tuple[_Statement, list] | None:
    model = type(obj)
    with_pk = obj.pk is not None
    found = _statement(model, using, with_pk)
    if found is None:
        return None
    obj._prepare_related_fields_for_save(operation_name="save")
    connection = connections[using]
    params = []
    for field in found.fields:
        value = field.pre_save(obj, True)
        if hasattr(value, "resolve_expression"):
            return None
        params.append(field.get_db_prep_save(value, connection=connection))
    return found, params


def insert(obj: Model, using: str = "default") -> Model:
    """INSERT ``obj`` as ``obj.save(force_insert=True)`` would, and return it."""
    model = type(obj)
    # A pre_save receiver may change the instance before its values are read: save() runs it.
    prepared = None if pre_save.has_listeners(model) else _prepare(obj, using)
    if prepared is None:
        obj.save(force_insert=True, using=using)
        return obj
    found, params = prepared
    with connections[using].cursor() as cursor:
        cursor.execute(found.sql, params)
        if found.returning is not None:
            setattr(obj, found.returning.attname, cursor.fetchone()[0])
    _saved(obj, using)
    return obj


def _saved(obj: Model, using: str) -> None:
    """What ``save()`` does after its INSERT: the instance is stored, post_save is sent."""
    model = type(obj)
    obj._state.adding = False
    obj._state.db = using
    if post_save.has_listeners(model):
        post_save.send(
            sender=model, instance=obj, created=True, update_fields=None, raw=False, using=using
        )
