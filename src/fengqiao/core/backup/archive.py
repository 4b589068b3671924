"""What a backup holds once opened: a tar stream of the database, the media files and a manifest.

Members, in this order: ``database.sqlite3`` or ``database.pgdump``, ``media/<storage name>``
for every file under MEDIA_ROOT, and ``manifest.json`` last, so the sizes and SHA-256 sums it
lists are those of the bytes actually written. Unpacking accepts nothing else: no links, no
directories, no absolute or ``..`` paths.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from fengqiao.core.backup.databases import POSTGRESQL, SQLITE
from fengqiao.core.backup.sealing import BackupError, SealedReader

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
MEDIA_PREFIX = "media/"
DATABASE_MEMBERS = {SQLITE: "database.sqlite3", POSTGRESQL: "database.pgdump"}
MAX_MANIFEST_BYTES = 256 << 20
COPY_BYTES = 1 << 20


class _HashingReader:
    """Reads a file for tarfile and hashes what it hands over."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.sha256.update(data)
        return data


class ArchiveWriter:
    """Writes members into a sealed stream (tar, PAX headers for UTF-8 names)."""

    def __init__(self, out: Any) -> None:
        self._tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)  # noqa: SIM115

    def add_file(self, name: str, path: Path) -> dict[str, Any]:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = size, 0o600, int(path.stat().st_mtime)
            reader = _HashingReader(handle)
            self._tar.addfile(info, reader)
        return {"size": size, "sha256": reader.sha256.hexdigest()}

    def add_bytes(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o600
        self._tar.addfile(info, _BytesReader(data))

    def close(self) -> None:
        self._tar.close()


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._view, self._at = memoryview(data), 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._view) if size < 0 else self._at + size
        chunk = bytes(self._view[self._at : end])
        self._at += len(chunk)
        return chunk


def media_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Every regular file under MEDIA_ROOT as (storage name, path), in a stable order."""
    if not root.is_dir():
        return
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        for name in sorted(files):
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                yield path.relative_to(root).as_posix(), path


def _storage_name(member: str) -> str:
    relative = PurePosixPath(member[len(MEDIA_PREFIX) :])
    if (
        not relative.parts
        or relative.is_absolute()
        or any(part in ("", ".", "..") for part in relative.parts)
        or "\\" in member
    ):
        raise BackupError(f"unsafe file name in the backup: {member!r}")
    return relative.as_posix()


@dataclass
class Unpacked:
    """An opened, authenticated backup: its manifest and where its parts were written."""

    manifest: dict[str, Any]
    database: Path
    media_dir: Path
    media: dict[str, str] = field(default_factory=dict)  # storage name → sha256

    @property
    def backend(self) -> str:
        return str(self.manifest["backend"])


def unpack(source: BinaryIO, *, database_dir: Path, media_dir: Path) -> Unpacked:
    """Decrypt, authenticate and unpack a backup into staging directories.

    Raises ``BackupError`` on any failure; the caller discards the staging directories then.
    The stream is read to its authenticated end before anything is returned.
    """
    reader = SealedReader(source)
    manifest_bytes: bytes | None = None
    database: Path | None = None
    media: dict[str, str] = {}
    try:
        with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
            for member in tar:
                if not member.isreg():
                    raise BackupError(f"unexpected entry in the backup: {member.name!r}")
                handle = tar.extractfile(member)
                assert handle is not None  # a regular file always has content
                if member.name == MANIFEST:
                    if member.size > MAX_MANIFEST_BYTES:
                        raise BackupError("the backup's manifest is impossibly large")
                    manifest_bytes = handle.read()
                elif member.name in DATABASE_MEMBERS.values():
                    database = database_dir / member.name
                    _copy_out(handle, database)
                elif member.name.startswith(MEDIA_PREFIX):
                    name = _storage_name(member.name)
                    media[name] = _copy_out(handle, media_dir / name)
                else:
                    raise BackupError(f"unexpected entry in the backup: {member.name!r}")
        reader.finish()
    except tarfile.TarError as exc:
        raise BackupError(f"the backup's contents are not a valid archive: {exc}") from exc
    if manifest_bytes is None or database is None:
        raise BackupError("the backup has no manifest or no database")
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError as exc:
        raise BackupError("the backup's manifest is not valid JSON") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise BackupError(f"manifest format {manifest.get('format')!r} is not supported")
    if DATABASE_MEMBERS.get(manifest.get("backend")) != database.name:
        raise BackupError("the backup's database does not match the backend its manifest names")
    listed = {entry["path"]: entry["sha256"] for entry in manifest.get("media", [])}
    if listed != media:
        raise BackupError("the media files in the backup differ from its manifest")
    return Unpacked(manifest=manifest, database=database, media_dir=media_dir, media=media)


def _copy_out(handle: BinaryIO, path: Path) -> str:
    """Write one member to a new private file; return its SHA-256."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    digest = hashlib.sha256()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise BackupError(f"the backup holds {path.name!r} twice") from exc
    with os.fdopen(fd, "wb") as out:
        while chunk := handle.read(COPY_BYTES):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()
