"""Field encryption, hashing and blind indexes behind one small interface (SECURITY.md 14, 17).

Everything cryptographic in Fengqiao goes through ``provider()``: field ciphertexts, the audit
chain hash, blind indexes and per-record data keys. The default suite is the national one (SM4-GCM,
SM3, HMAC-SM3); ``FENGQIAO_CRYPTO = "aes"`` selects AES-256-GCM, SHA-256 and HMAC-SHA256. An HSM
can replace ``SoftwareProvider`` later by implementing the same methods.

Ciphertext text format (version 1)::

    1:<alg>:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>

The version, algorithm and key id stay readable so old key ids keep decrypting after a new key is
made active, and rotation can find what to re-encrypt. The key id is empty for values encrypted
with a per-record data key (see ``encrypt_with_data_key``). Associated data binds table, column,
row identity, key id and algorithm, so a ciphertext copied to another row or column fails.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.signals import setting_changed

FORMAT_VERSION = "1"
SM4 = "sm4"
AES = "aes"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# Purposes get their own derived keys, so a wrapped data key can never be replayed as a field.
PURPOSE_FIELD = "field"
PURPOSE_DATA_KEY = "data-key"


class CryptoError(Exception):
    """A value could not be decrypted: tampered, moved to another row, or its key is unknown."""


class KeyConfigurationError(CryptoError):
    """FIELD_KEYS, FIELD_KEY_ID or BLIND_INDEX_KEY is missing or malformed."""


@dataclass(frozen=True)
class Binding:
    """Where a ciphertext belongs: decrypting it anywhere else fails authentication."""

    table: str
    column: str
    row: str

    def associated_data(self, *, alg: str, key_id: str) -> bytes:
        # JSON of a list is unambiguous where plain concatenation is not ("ab"+"c" == "a"+"bc").
        return json.dumps(
            ["fengqiao", FORMAT_VERSION, alg, key_id, self.table, self.column, self.row],
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode("utf-8")


@dataclass(frozen=True)
class Envelope:
    """A parsed ciphertext: header fields in clear, the sealed bytes as they were stored."""

    version: str
    alg: str
    key_id: str
    nonce: bytes
    sealed: bytes

    @classmethod
    def parse(cls, token: str) -> Envelope:
        parts = token.split(":", 3)
        if len(parts) != 4 or parts[0] != FORMAT_VERSION or parts[1] not in {SM4, AES}:
            raise CryptoError("not a Fengqiao ciphertext")
        try:
            raw = base64.urlsafe_b64decode(parts[3].encode("ascii") + b"=" * (-len(parts[3]) % 4))
        except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
            raise CryptoError("ciphertext is not valid base64") from exc
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise CryptoError("ciphertext is too short")
        return cls(parts[0], parts[1], parts[2], raw[:NONCE_BYTES], raw[NONCE_BYTES:])

    def serialise(self) -> str:
        body = base64.urlsafe_b64encode(self.nonce + self.sealed).rstrip(b"=").decode("ascii")
        return f"{self.version}:{self.alg}:{self.key_id}:{body}"


def key_id_of(token: str) -> str:
    """The key id a stored ciphertext was written with (rotation and status reports)."""
    return Envelope.parse(token).key_id


def alg_of(token: str) -> str:
    return Envelope.parse(token).alg


# --- primitives -------------------------------------------------------------------------------


def _sm4_gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, ad: bytes) -> bytes:
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(ad)
    return encryptor.update(plaintext) + encryptor.finalize() + encryptor.tag


def _sm4_gcm_decrypt(key: bytes, nonce: bytes, sealed: bytes, ad: bytes) -> bytes:
    ciphertext, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(ad)
    return decryptor.update(ciphertext) + decryptor.finalize()


def aead_encrypt(alg: str, key: bytes, nonce: bytes, plaintext: bytes, ad: bytes) -> bytes:
    """Encrypt and authenticate: ciphertext ‖ 16-byte tag."""
    if alg == SM4:
        return _sm4_gcm_encrypt(key, nonce, plaintext, ad)
    return AESGCM(key).encrypt(nonce, plaintext, ad)


def aead_decrypt(alg: str, key: bytes, nonce: bytes, sealed: bytes, ad: bytes) -> bytes:
    try:
        if alg == SM4:
            return _sm4_gcm_decrypt(key, nonce, sealed, ad)
        return AESGCM(key).decrypt(nonce, sealed, ad)
    except (InvalidTag, ValueError) as exc:
        raise CryptoError("authentication failed: wrong key, tampered or moved ciphertext") from exc


def key_length(alg: str) -> int:
    return 16 if alg == SM4 else 32


def hash_for(alg: str) -> hashes.HashAlgorithm:
    return hashes.SM3() if alg == SM4 else hashes.SHA256()


def parse_key_ring(spec: str) -> dict[str, bytes]:
    """``"id:secret,id:secret"`` → {id: secret bytes}. Secrets are HKDF input, never used raw."""
    ring: dict[str, bytes] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        key_id, sep, secret = item.partition(":")
        key_id, secret = key_id.strip(), secret.strip()
        if not sep or not KEY_ID_PATTERN.match(key_id) or len(secret) < 16:
            raise KeyConfigurationError(
                "FIELD_KEYS entries must look like 'id:secret' with an id of letters, digits, "
                "'-' or '_' and a secret of at least 16 characters"
            )
        if key_id in ring:
            raise KeyConfigurationError(f"FIELD_KEYS lists key id {key_id!r} twice")
        ring[key_id] = secret.encode("utf-8")
    if not ring:
        raise KeyConfigurationError("FIELD_KEYS is empty")
    return ring


# --- normalisation for blind indexes ------------------------------------------------------------

BLIND_KINDS = ("text", "id_number", "phone", "name")


def normalise(value: str, kind: str = "text") -> str:
    """The canonical form a blind index is computed over, so "１３８ 0000" matches "1380000".

    NFKC folds full-width digits and letters; ID numbers are upper-cased (the final check
    character X) with spaces removed; phone numbers keep their digits and lose a +86 prefix;
    names lose inner whitespace (Chinese names are written with or without spaces).
    """
    if kind not in BLIND_KINDS:
        raise ValueError(f"unknown blind-index kind {kind!r}")
    text = unicodedata.normalize("NFKC", value).strip()
    if kind == "id_number":
        return re.sub(r"\s+", "", text).upper()
    if kind == "phone":
        digits = re.sub(r"\D", "", text)
        return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits
    if kind == "name":
        return re.sub(r"\s+", "", text)
    return re.sub(r"\s+", " ", text)


# --- the provider -------------------------------------------------------------------------------


class SoftwareProvider:
    """The in-process crypto suite configured by settings. Replaceable by an HSM-backed provider.

    Keys never leave this object: callers pass plaintext and a ``Binding`` and get text back.
    """

    def __init__(
        self, *, suite: str, field_keys: str, active_key_id: str, blind_index_key: str
    ) -> None:
        if suite not in {"sm", "aes"}:
            raise KeyConfigurationError("FENGQIAO_CRYPTO must be 'sm' or 'aes'")
        self.alg = SM4 if suite == "sm" else AES
        self._ring = parse_key_ring(field_keys)
        if active_key_id not in self._ring:
            raise KeyConfigurationError(f"FIELD_KEY_ID {active_key_id!r} is not in FIELD_KEYS")
        if len(blind_index_key.strip()) < 16:
            raise KeyConfigurationError("BLIND_INDEX_KEY must have at least 16 characters")
        self.active_key_id = active_key_id
        self._blind_secret = blind_index_key.strip().encode("utf-8")
        self._derived: dict[tuple[str, str, str], bytes] = {}
        self._lock = threading.Lock()

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._ring)

    # hashing -------------------------------------------------------------------------------

    def digest(self, data: bytes) -> bytes:
        """SM3 (or SHA-256 under "aes") of ``data``: the audit chain's hash."""
        h = hashes.Hash(hash_for(self.alg))
        h.update(data)
        return h.finalize()

    def mac(self, key: bytes, data: bytes) -> bytes:
        h = crypto_hmac.HMAC(key, hash_for(self.alg))
        h.update(data)
        return h.finalize()

    # key derivation ------------------------------------------------------------------------

    def _key(self, *, key_id: str, alg: str, purpose: str) -> bytes:
        cache_key = (key_id, alg, purpose)
        with self._lock:
            key = self._derived.get(cache_key)
            if key is None:
                secret = self._ring.get(key_id)
                if secret is None:
                    raise CryptoError(f"key id {key_id!r} is not configured in FIELD_KEYS")
                info = f"fengqiao/{purpose}/{alg}/{key_id}".encode()
                key = HKDF(hash_for(alg), key_length(alg), salt=None, info=info).derive(secret)
                self._derived[cache_key] = key
            return key

    @cached_property
    def _blind_key(self) -> bytes:
        info = f"fengqiao/blind-index/{self.alg}".encode()
        return HKDF(hash_for(self.alg), 32, salt=None, info=info).derive(self._blind_secret)

    # field encryption ----------------------------------------------------------------------

    def encrypt(self, plaintext: str, *, binding: Binding) -> str:
        """Encrypt ``plaintext`` with the active key id, bound to ``binding``."""
        return self._seal(
            plaintext.encode("utf-8"),
            binding=binding,
            key_id=self.active_key_id,
            purpose=PURPOSE_FIELD,
        )

    def decrypt(self, token: str, *, binding: Binding) -> str:
        return self._open(token, binding=binding, purpose=PURPOSE_FIELD).decode("utf-8")

    def needs_rotation(self, token: str) -> bool:
        """True when ``token`` was written with another key id or algorithm than today's.

        Content sealed with a record's own data key (key id "") never needs it: rotating the
        platform key re-wraps the data key, not what the data key sealed.
        """
        envelope = Envelope.parse(token)
        if envelope.key_id == "":
            return False
        return envelope.key_id != self.active_key_id or envelope.alg != self.alg

    def _seal(self, data: bytes, *, binding: Binding, key_id: str, purpose: str) -> str:
        key = self._key(key_id=key_id, alg=self.alg, purpose=purpose)
        nonce = os.urandom(NONCE_BYTES)
        ad = binding.associated_data(alg=self.alg, key_id=key_id)
        sealed = aead_encrypt(self.alg, key, nonce, data, ad)
        return Envelope(FORMAT_VERSION, self.alg, key_id, nonce, sealed).serialise()

    def _open(self, token: str, *, binding: Binding, purpose: str) -> bytes:
        envelope = Envelope.parse(token)
        if not envelope.key_id:
            raise CryptoError("this value is sealed with a per-record data key")
        key = self._key(key_id=envelope.key_id, alg=envelope.alg, purpose=purpose)
        ad = binding.associated_data(alg=envelope.alg, key_id=envelope.key_id)
        return aead_decrypt(envelope.alg, key, envelope.nonce, envelope.sealed, ad)

    # per-record data keys ------------------------------------------------------------------

    def new_data_key(self) -> bytes:
        """A fresh random data key for one record (a tip): 16 bytes for SM4, 32 for AES."""
        return os.urandom(key_length(self.alg))

    def wrap_data_key(self, data_key: bytes, *, binding: Binding) -> str:
        """Seal a data key with the platform key; destroying the wrapped key shreds the record."""
        if len(data_key) not in (16, 32):
            raise ValueError("a data key has 16 (SM4) or 32 (AES) bytes")
        return self._seal(
            data_key, binding=binding, key_id=self.active_key_id, purpose=PURPOSE_DATA_KEY
        )

    def unwrap_data_key(self, wrapped: str, *, binding: Binding) -> bytes:
        return self._open(wrapped, binding=binding, purpose=PURPOSE_DATA_KEY)

    def encrypt_with_data_key(self, data_key: bytes, plaintext: bytes, *, binding: Binding) -> str:
        """Encrypt record content with its own data key (SM4 for 16 bytes, AES for 32)."""
        alg = SM4 if len(data_key) == 16 else AES
        if len(data_key) != key_length(alg):
            raise ValueError("a data key has 16 (SM4) or 32 (AES) bytes")
        nonce = os.urandom(NONCE_BYTES)
        sealed = aead_encrypt(
            alg, data_key, nonce, plaintext, binding.associated_data(alg=alg, key_id="")
        )
        return Envelope(FORMAT_VERSION, alg, "", nonce, sealed).serialise()

    def decrypt_with_data_key(self, data_key: bytes, token: str, *, binding: Binding) -> bytes:
        envelope = Envelope.parse(token)
        if envelope.key_id or len(data_key) != key_length(envelope.alg):
            raise CryptoError("this value is not sealed with this data key")
        ad = binding.associated_data(alg=envelope.alg, key_id="")
        return aead_decrypt(envelope.alg, data_key, envelope.nonce, envelope.sealed, ad)

    # keyed digests -------------------------------------------------------------------------

    def keyed_digest(self, purpose: str, data: bytes) -> bytes:
        """HMAC-SM3 (HMAC-SHA256 under "aes") of ``data`` under a key derived for ``purpose``.

        For lookups that must not reveal what they index (idempotency keys); each purpose gets
        its own key, so digests of the same data never match across purposes.
        """
        info = f"fengqiao/keyed/{purpose}/{self.alg}".encode()
        key = HKDF(hash_for(self.alg), 32, salt=None, info=info).derive(self._blind_secret)
        return self.mac(key, data)

    # blind indexes -------------------------------------------------------------------------

    def blind_index(self, value: str, *, kind: str = "text") -> str:
        """HMAC-SM3 (HMAC-SHA256 under "aes") of the normalised value, hex; "" for blank input.

        The kind is mixed in, so the same digits as a phone and as an ID number do not match.
        """
        normalised = normalise(value, kind)
        if not normalised:
            return ""
        return self.mac(self._blind_key, f"{kind}\x1f{normalised}".encode()).hex()


_provider: SoftwareProvider | None = None
_provider_lock = threading.Lock()


def provider() -> SoftwareProvider:
    """The configured provider, built once per process from settings."""
    global _provider
    current = _provider
    if current is None:
        with _provider_lock:
            if _provider is None:
                _provider = SoftwareProvider(
                    suite=settings.FENGQIAO_CRYPTO,
                    field_keys=settings.FIELD_KEYS,
                    active_key_id=settings.FIELD_KEY_ID,
                    blind_index_key=settings.BLIND_INDEX_KEY,
                )
            current = _provider
    return current


def reset_provider(**kwargs) -> None:
    """Forget the provider so the next call reads settings again (tests, key reloads)."""
    global _provider
    if kwargs.get("setting") in (
        None,
        "FENGQIAO_CRYPTO",
        "FIELD_KEYS",
        "FIELD_KEY_ID",
        "BLIND_INDEX_KEY",
    ):
        with _provider_lock:
            _provider = None


setting_changed.connect(reset_provider)


def digest(data: bytes) -> bytes:
    return provider().digest(data)


def blind_index(value: str, *, kind: str = "text") -> str:
    return provider().blind_index(value, kind=kind)
