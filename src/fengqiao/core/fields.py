"""Model fields for encrypted columns and their blind-index companions (SECURITY.md 17).

``EncryptedTextField`` stores the ciphertext text of ``core.crypto`` and hands plaintext to Python
code. The associated data binds the model's table, the column and the row's public identity (the
``public_id`` UUID by default: it exists before the INSERT, unlike the integer key, and never
changes), so a ciphertext copied to another row or column does not decrypt.

Decryption is lazy: a loaded row keeps its ciphertext until the attribute is read. Writes go
through model instances (``save``/``create``/``bulk_create``); a ``filter(phone=…)`` or
``update(phone=…)`` with plaintext raises, because equality on ciphertext is meaningless: use the
``BlindIndexField`` companion to find rows.
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.db import migrations, models
from django.db.models.query_utils import DeferredAttribute

from fengqiao.core import crypto


class Sealed:
    """A ciphertext as loaded or written, with the row it is bound to and, once known, its plaintext."""

    __slots__ = ("token", "row", "plaintext")

    def __init__(self, token: str, *, row: str | None = None, plaintext: Any = None) -> None:
        self.token = token
        self.row = row
        self.plaintext = plaintext

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sealed) and other.token == self.token

    def __hash__(self) -> int:
        return hash(self.token)

    def __repr__(self) -> str:  # never the plaintext, not even in tracebacks
        return f"<Sealed {self.token[:12]}…>"


class EncryptedDescriptor(DeferredAttribute):
    """Reads decrypt on first access; deferred loading works as for any other field.

    A data descriptor (it defines ``__set__``), so reads pass through it even though the value
    lives in the instance ``__dict__``.
    """

    def __set__(self, instance, value) -> None:
        instance.__dict__[self.field.attname] = value

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Sealed):
            return self.field.open_sealed(instance, value)
        return value


class EncryptedFieldMixin:
    """Shared behaviour of encrypted fields; subclasses say how a plaintext is sealed."""

    descriptor_class = EncryptedDescriptor

    def __init__(self, *args, bind_to: str = "public_id", **kwargs) -> None:
        self.bind_to = bind_to
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.bind_to != "public_id":
            kwargs["bind_to"] = self.bind_to
        return name, path, args, kwargs

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        try:
            target = self.model._meta.get_field(self.bind_to)
        except Exception:
            target = None
        if target is None or target.primary_key or not getattr(target, "unique", False):
            errors.append(
                checks.Error(
                    f"{self.model.__name__}.{self.name} binds ciphertexts to "
                    f"{self.bind_to!r}, which must be a unique, non-primary-key field set "
                    "before the row is inserted (e.g. a public_id UUID).",
                    obj=self,
                    id="fengqiao.E010",
                )
            )
        return errors

    # binding -------------------------------------------------------------------------------

    def binding(self, instance) -> crypto.Binding:
        row = getattr(instance, self.bind_to)
        if row in (None, ""):
            raise crypto.CryptoError(f"{self.bind_to} must be set before encrypting")
        return crypto.Binding(table=self.model._meta.db_table, column=self.column, row=str(row))

    # subclass hooks ------------------------------------------------------------------------

    def seal_plaintext(self, plaintext: Any, binding: crypto.Binding) -> str:
        raise NotImplementedError

    def open_token(self, token: str, binding: crypto.Binding) -> Any:
        raise NotImplementedError

    # reading and writing -------------------------------------------------------------------

    @property
    def _stash_name(self) -> str:
        return f"_fq_sealed_{self.attname}"

    def open_sealed(self, instance, sealed: Sealed) -> Any:
        if sealed.plaintext is None:
            binding = self.binding(instance)
            sealed.plaintext = self.open_token(sealed.token, binding)
            sealed.row = binding.row
        instance.__dict__[self._stash_name] = sealed
        return sealed.plaintext

    def seal(self, instance, plaintext: Any) -> Sealed:
        binding = self.binding(instance)
        return Sealed(self.seal_plaintext(plaintext, binding), row=binding.row, plaintext=plaintext)

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return Sealed(value)

    def pre_save(self, model_instance, add):
        data = model_instance.__dict__
        value = data.get(self.attname)
        if value is None or isinstance(value, str | bytes) and len(value) == 0:
            return value
        current_row = str(getattr(model_instance, self.bind_to))
        if isinstance(value, Sealed):
            # Loaded and never read (row unknown) or bound to this very row: keep the ciphertext.
            if value.row in (None, current_row):
                return value
            # Copied from another row: the old binding would not decrypt here.
            value = value.plaintext
        stash = data.get(self._stash_name)
        if stash is not None and stash.row == current_row and stash.plaintext == value:
            # Unchanged since it was read (e.g. full_clean wrote the plaintext back): no new nonce.
            sealed = stash
        else:
            sealed = self.seal(model_instance, value)
        data[self.attname] = sealed
        return sealed

    def get_prep_value(self, value):
        if value is None or isinstance(value, str | bytes) and len(value) == 0:
            return value if value is None else ""
        if isinstance(value, Sealed):
            return value.token
        raise TypeError(
            "encrypted fields are written through model instances and found through their "
            "blind index; plaintext cannot be used in queries or update()"
        )

    def get_db_prep_value(self, value, connection, prepared=False):
        return value if prepared else self.get_prep_value(value)

    def to_python(self, value):
        if isinstance(value, Sealed):
            return value.plaintext if value.plaintext is not None else value
        return super().to_python(value)


class EncryptedTextField(EncryptedFieldMixin, models.TextField):
    """Text stored encrypted (SM4-GCM by default); ``max_length`` only limits forms."""

    def seal_plaintext(self, plaintext: Any, binding: crypto.Binding) -> str:
        return crypto.provider().encrypt(str(plaintext), binding=binding)

    def open_token(self, token: str, binding: crypto.Binding) -> str:
        return crypto.provider().decrypt(token, binding=binding)


class WrappedDataKeyField(EncryptedFieldMixin, models.TextField):
    """A per-record data key (bytes), stored wrapped by the platform key.

    Setting it to None destroys the only copy of the key: everything sealed with it is shredded.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("editable", False)
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def seal_plaintext(self, plaintext: Any, binding: crypto.Binding) -> str:
        return crypto.provider().wrap_data_key(bytes(plaintext), binding=binding)

    def open_token(self, token: str, binding: crypto.Binding) -> bytes:
        return crypto.provider().unwrap_data_key(token, binding=binding)

    def to_python(self, value):
        if isinstance(value, Sealed | bytes) or value is None:
            return value.plaintext if isinstance(value, Sealed) else value
        raise TypeError("a data key is bytes")


class BlindIndexField(models.CharField):
    """The HMAC blind index of another (encrypted) field, recomputed on every save.

    ``Party.objects.filter(**blind_filter(Party, "phone", "138 0013 8000"))`` finds equal values
    without decrypting anything.
    """

    def __init__(self, *args, source: str, kind: str = "text", **kwargs) -> None:
        if kind not in crypto.BLIND_KINDS:
            raise ValueError(f"unknown blind-index kind {kind!r}")
        self.source = source
        self.kind = kind
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs["kind"] = self.kind
        for key, default in (
            ("max_length", 64),
            ("db_index", True),
            ("editable", False),
            ("blank", True),
            ("default", ""),
        ):
            if kwargs.get(key) == default:
                kwargs.pop(key, None)
        return name, path, args, kwargs

    def compute(self, plaintext: str | None) -> str:
        return crypto.blind_index(plaintext or "", kind=self.kind)

    def pre_save(self, model_instance, add):
        if self.source not in model_instance.__dict__:
            # The source was deferred and therefore not changed: keep the stored index.
            return getattr(model_instance, self.attname)
        value = self.compute(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value


def drop_pattern_indexes(app_label: str, model_name: str, fields: tuple[str, ...]):
    """A migration operation dropping PostgreSQL's ``*_like`` companions of indexed CharFields
    that are only ever compared for equality (blind indexes, digests, codes).

    Django adds a ``varchar_pattern_ops`` index beside every indexed CharField for
    ``LIKE 'prefix%'`` lookups. A blind index is an HMAC digest, only ever compared for equality:
    those indexes serve no query while every insert updates them. The plain indexes stay; SQLite
    has no such indexes.
    """

    def drop(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        model = apps.get_model(app_label, model_name)
        table = model._meta.db_table
        for name in fields:
            column = model._meta.get_field(name).column
            index = schema_editor._create_index_name(table, [column], suffix="_like")
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(index)}")

    return migrations.RunPython(drop, migrations.RunPython.noop, elidable=True)


def blind_filter(model: type[models.Model], source: str, value: str) -> dict[str, str]:
    """Lookup kwargs that match rows whose ``source`` field equals ``value`` after normalising."""
    for field in model._meta.concrete_fields:
        if isinstance(field, BlindIndexField) and field.source == source:
            return {field.attname: field.compute(value)}
    raise LookupError(f"{model.__name__} has no blind index for {source!r}")


def encrypted_fields(model: type[models.Model]) -> list[EncryptedFieldMixin]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedFieldMixin)]


def blind_index_fields(model: type[models.Model]) -> list[BlindIndexField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, BlindIndexField)]
