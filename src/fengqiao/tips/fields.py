"""Columns sealed with their tip's own data key (ARCHITECTURE §8, SECURITY 17).

Every tip has a random data key (SM4 by default), stored wrapped by the platform key in
``Tip.data_key`` (``core.fields.WrappedDataKeyField``). Its content, the accused, messages, notes
and attachments are sealed with that data key through ``crypto.encrypt_with_data_key``; the
associated data binds table, column and the row's ``public_id`` exactly as for platform-key
fields, so a ciphertext moved to another row or column does not open.

A model with these fields defines ``tip_data_key() -> bytes``: the tip's own key for ``Tip``,
``self.tip.data_key`` for the rows hanging off it (``models.TipPart``). Setting ``Tip.data_key``
to None shreds the whole tip at once. Key rotation re-wraps the data key (it is a platform-key
field); the sealed content itself needs no re-encryption, although ``crypto rotate`` re-seals it
with a fresh nonce under the same data key because it does not tell data-key ciphertexts apart
from stale ones.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from fengqiao.core import crypto
from fengqiao.core.fields import EncryptedFieldMixin, Sealed


class TipKeyMixin(EncryptedFieldMixin):
    """Seal and open with the instance's tip data key instead of the platform key."""

    def to_bytes(self, plaintext: Any) -> bytes:
        raise NotImplementedError

    def from_bytes(self, data: bytes) -> Any:
        raise NotImplementedError

    def _data_key(self, instance) -> bytes:
        key = instance.tip_data_key()
        if not key:
            raise crypto.CryptoError("this tip's data key was destroyed: its content is gone")
        return key

    def seal(self, instance, plaintext: Any) -> Sealed:
        binding = self.binding(instance)
        token = crypto.provider().encrypt_with_data_key(
            self._data_key(instance), self.to_bytes(plaintext), binding=binding
        )
        return Sealed(token, row=binding.row, plaintext=plaintext)

    def open_sealed(self, instance, sealed: Sealed) -> Any:
        if sealed.plaintext is None:
            binding = self.binding(instance)
            data = crypto.provider().decrypt_with_data_key(
                self._data_key(instance), sealed.token, binding=binding
            )
            sealed.plaintext = self.from_bytes(data)
            sealed.row = binding.row
        instance.__dict__[self._stash_name] = sealed
        return sealed.plaintext


class TipSealedTextField(TipKeyMixin, models.TextField):
    """Text sealed with the tip's data key; blank stays blank (nothing to hide in "")."""

    def to_bytes(self, plaintext: Any) -> bytes:
        return str(plaintext).encode("utf-8")

    def from_bytes(self, data: bytes) -> str:
        return data.decode("utf-8")


class TipSealedBinaryField(TipKeyMixin, models.TextField):
    """Bytes (an attachment) sealed with the tip's data key, stored as the ciphertext text."""

    def to_bytes(self, plaintext: Any) -> bytes:
        return bytes(plaintext)

    def from_bytes(self, data: bytes) -> bytes:
        return data

    def to_python(self, value):
        if isinstance(value, Sealed):
            return value.plaintext if value.plaintext is not None else value
        return value
