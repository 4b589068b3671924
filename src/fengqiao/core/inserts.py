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
"""

from __future__ import annotations

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


def statement(obj: Model, using: str = "default") -> tuple[str, list]:
    """The INSERT of ``obj`` (whose primary key is set) and its parameters, for a caller that
    runs it inside a larger statement (no signals are sent). The fields' ``pre_save`` has run
    (timestamps set, values sealed) when this returns."""
    prepared = _prepare(obj, using) if obj.pk is not None else None
    if prepared is None:
        raise TypeError(f"{type(obj).__name__} cannot be written by a prebuilt INSERT")
    return prepared[0].sql, prepared[1]


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
    obj._state.adding = False
    obj._state.db = using
    if post_save.has_listeners(model):
        post_save.send(
            sender=model, instance=obj, created=True, update_fields=None, raw=False, using=using
        )
    return obj
