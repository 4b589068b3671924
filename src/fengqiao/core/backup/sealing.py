"""The sealed stream a backup file is made of: a header, then AEAD chunks (SECURITY.md 27).

Layout (version 1, big-endian)::

    header   "FQBACKUP" ‖ version (1) ‖ alg ("sm4"/"aes") ‖ key id (8) ‖ salt (16)
             ‖ nonce prefix (4) ‖ chunk size (4)
    chunk i  length of the sealed bytes (4) ‖ AEAD(key, nonce prefix ‖ i, plaintext, ad)
             with ad = header ‖ i (8) ‖ final flag (1)

The key is ``keyed_digest("backup", salt …)`` of the platform's provider, so it comes from
``FENGQIAO_BLIND_INDEX_KEY`` and a fresh random salt per file; the key id is a keyed digest too,
so a backup made under other keys is named as such before any decryption is tried. Every chunk
authenticates the whole header, its own position and whether it is the last one: a flipped bit,
a swapped, dropped or repeated chunk, a cut-off end and bytes appended after the final chunk all
fail with a message that says which.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

from fengqiao.core import crypto

MAGIC = b"FQBACKUP"
VERSION = 1
CHUNK_BYTES = 1 << 20
# A header may only ask for chunks up to this size: a damaged length must not make us allocate.
MAX_CHUNK_BYTES = 64 << 20
SALT_BYTES = 16
KEY_ID_BYTES = 8
NONCE_PREFIX_BYTES = 4
_HEADER = struct.Struct(">8sB3s8s16s4sI")
_LENGTH = struct.Struct(">I")
_POSITION = struct.Struct(">QB")


class BackupError(Exception):
    """A backup cannot be made, opened, verified or restored; the message says why."""


@dataclass(frozen=True)
class Header:
    """The clear header: what is needed to derive the key and check it is ours."""

    alg: str
    key_id: bytes
    salt: bytes
    nonce_prefix: bytes
    chunk_bytes: int

    def pack(self) -> bytes:
        return _HEADER.pack(
            MAGIC,
            VERSION,
            self.alg.encode("ascii"),
            self.key_id,
            self.salt,
            self.nonce_prefix,
            self.chunk_bytes,
        )

    @classmethod
    def unpack(cls, raw: bytes) -> Header:
        if len(raw) < _HEADER.size or not raw.startswith(MAGIC):
            raise BackupError("this is not a Fengqiao backup file (no FQBACKUP header)")
        magic, version, alg, key_id, salt, prefix, chunk_bytes = _HEADER.unpack(raw)
        if version != VERSION:
            raise BackupError(f"backup format version {version} is not supported (only {VERSION})")
        name = alg.decode("ascii", "replace")
        if name not in (crypto.SM4, crypto.AES):
            raise BackupError(f"unknown backup cipher {name!r}: the header is damaged")
        if not 0 < chunk_bytes <= MAX_CHUNK_BYTES:
            raise BackupError("impossible chunk size in the header: the file is damaged")
        return cls(name, key_id, salt, prefix, chunk_bytes)


def key_id(provider: crypto.SoftwareProvider) -> bytes:
    """Which keys sealed a backup, without revealing them: a keyed digest of a constant."""
    return provider.keyed_digest("backup-key-id", MAGIC)[:KEY_ID_BYTES]


def _stream_key(provider: crypto.SoftwareProvider, header: Header) -> bytes:
    material = MAGIC + header.alg.encode("ascii") + header.salt
    return provider.keyed_digest("backup", material)[: crypto.key_length(header.alg)]


def _nonce(header: Header, index: int) -> bytes:
    return header.nonce_prefix + index.to_bytes(crypto.NONCE_BYTES - NONCE_PREFIX_BYTES, "big")


def _associated_data(header_bytes: bytes, index: int, *, final: bool) -> bytes:
    return header_bytes + _POSITION.pack(index, 1 if final else 0)


class SealedWriter:
    """A write-only file object: what is written comes out sealed, chunk by chunk, to ``out``.

    ``close()`` seals the final chunk; a stream that was never closed reads as truncated.
    """

    def __init__(self, out: BinaryIO, *, chunk_bytes: int = CHUNK_BYTES) -> None:
        if not 0 < chunk_bytes <= MAX_CHUNK_BYTES:
            raise ValueError("chunk size out of range")
        provider = crypto.provider()
        self._header = Header(
            alg=provider.alg,
            key_id=key_id(provider),
            salt=os.urandom(SALT_BYTES),
            nonce_prefix=os.urandom(NONCE_PREFIX_BYTES),
            chunk_bytes=chunk_bytes,
        )
        self._header_bytes = self._header.pack()
        self._key = _stream_key(provider, self._header)
        self._out = out
        self._buffer = bytearray()
        self._index = 0
        self._closed = False
        out.write(self._header_bytes)

    def write(self, data: bytes) -> int:
        if self._closed:
            raise ValueError("write to a closed backup stream")
        self._buffer += data
        size = self._header.chunk_bytes
        # Strictly more than one chunk: the last full chunk may still turn out to be the final.
        while len(self._buffer) > size:
            self._seal(bytes(self._buffer[:size]), final=False)
            del self._buffer[:size]
        return len(data)

    def close(self) -> None:
        if not self._closed:
            self._seal(bytes(self._buffer), final=True)
            self._buffer.clear()
            self._closed = True

    def _seal(self, plaintext: bytes, *, final: bool) -> None:
        ad = _associated_data(self._header_bytes, self._index, final=final)
        sealed = crypto.aead_encrypt(
            self._header.alg, self._key, _nonce(self._header, self._index), plaintext, ad
        )
        self._out.write(_LENGTH.pack(len(sealed)) + sealed)
        self._index += 1


class SealedReader:
    """A read-only file object over a sealed stream; only authenticated bytes come out.

    Raises ``BackupError`` as soon as a chunk fails. ``read`` returns b"" only after the final
    chunk was authenticated and nothing follows it; ``finish()`` reads whatever the consumer left
    (tar padding) so the end of the stream is always checked.
    """

    def __init__(self, src: BinaryIO) -> None:
        raw = src.read(_HEADER.size)
        self._header = Header.unpack(raw)
        provider = crypto.provider()
        if self._header.alg != provider.alg:
            raise BackupError(
                f"this backup is sealed with {self._header.alg.upper()}-GCM but FENGQIAO_CRYPTO "
                f"selects {provider.alg.upper()}-GCM here: restore under the suite it was made with"
            )
        if self._header.key_id != key_id(provider):
            raise BackupError(
                "this backup was made with a different FENGQIAO_BLIND_INDEX_KEY "
                f"(key id {self._header.key_id.hex()}, configured {key_id(provider).hex()})"
            )
        self._header_bytes = raw
        self._key = _stream_key(provider, self._header)
        self._src = src
        self._buffer = bytearray()
        self._index = 0
        self._done = False
        self._pending = self._read_length()

    @property
    def chunks(self) -> int:
        return self._index

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            self._open_next()
        if size < 0 or size >= len(self._buffer):
            out = bytes(self._buffer)
            self._buffer.clear()
            return out
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def finish(self) -> None:
        while not self._done:
            self._open_next()
        self._buffer.clear()

    def _read_length(self) -> int | None:
        prefix = self._src.read(_LENGTH.size)
        if not prefix:
            return None
        if len(prefix) < _LENGTH.size:
            raise BackupError(f"the backup is truncated inside chunk {self._index}")
        return _LENGTH.unpack(prefix)[0]

    def _open_next(self) -> None:
        index, length = self._index, self._pending
        if length is None:
            where = f"after chunk {index - 1}" if index else "right after its header"
            raise BackupError(f"the backup is truncated: it ends {where}, before its final chunk")
        if not crypto.TAG_BYTES <= length <= self._header.chunk_bytes + crypto.TAG_BYTES:
            raise BackupError(f"chunk {index} has an impossible length: the backup is damaged")
        sealed = self._src.read(length)
        if len(sealed) < length:
            raise BackupError(f"the backup is truncated inside chunk {index}")
        self._pending = self._read_length()
        expect_final = self._pending is None
        plaintext = self._try_open(index, sealed, final=expect_final)
        if plaintext is None:
            if self._try_open(index, sealed, final=not expect_final) is not None:
                if expect_final:
                    raise BackupError(
                        f"the backup is truncated: it ends after chunk {index}, "
                        "which is not the final chunk"
                    )
                raise BackupError(f"data follows the final chunk ({index}): the backup was altered")
            raise BackupError(
                f"chunk {index} failed authentication: the backup was altered, reordered or damaged"
            )
        if not expect_final and len(plaintext) != self._header.chunk_bytes:
            raise BackupError(f"chunk {index} is short: the backup is damaged")
        self._buffer += plaintext
        self._index += 1
        self._done = expect_final

    def _try_open(self, index: int, sealed: bytes, *, final: bool) -> bytes | None:
        ad = _associated_data(self._header_bytes, index, final=final)
        try:
            return crypto.aead_decrypt(
                self._header.alg, self._key, _nonce(self._header, index), sealed, ad
            )
        except crypto.CryptoError:
            return None
