"""Make, restore and drill backups; each run is recorded in the audit chain (SECURITY.md 27)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from importlib import metadata
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from fengqiao.core import audit, crypto
from fengqiao.core.backup import databases as db
from fengqiao.core.backup.archive import (
    DATABASE_MEMBERS,
    MANIFEST,
    MANIFEST_FORMAT,
    MEDIA_PREFIX,
    ArchiveWriter,
    Unpacked,
    media_files,
    unpack,
)
from fengqiao.core.backup.sealing import CHUNK_BYTES, BackupError, SealedWriter
from fengqiao.core.models import AuditEvent

SUFFIX = ".fqbackup"


@dataclass(frozen=True)
class TableCheck:
    """One table of a verification: what the manifest says and what the restored copy holds."""

    name: str
    expected: db.TableDigest | None
    actual: db.TableDigest | None

    @property
    def ok(self) -> bool:
        return self.expected is not None and self.expected == self.actual


@dataclass(frozen=True)
class Verification:
    """A restored database compared with its manifest, table by table, and its file references."""

    tables: list[TableCheck]
    media_files: int
    missing_media: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.tables) and not self.missing_media

    @property
    def mismatched(self) -> list[TableCheck]:
        return [check for check in self.tables if not check.ok]

    @property
    def rows(self) -> int:
        return sum(check.actual.rows for check in self.tables if check.actual)


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    manifest: dict[str, Any]


@dataclass(frozen=True)
class RestoreResult:
    manifest: dict[str, Any]
    verification: Verification
    # Migrations this code has that the backup's database had not applied: run `migrate`.
    pending_migrations: list[str]
    # Migrations the backup's database had that this code does not know (a newer release).
    unknown_migrations: list[str]


@dataclass(frozen=True)
class DrillResult:
    manifest: dict[str, Any]
    verification: Verification


# --- helpers ------------------------------------------------------------------------------------


def _vendor() -> str:
    if connection.vendor not in (db.SQLITE, db.POSTGRESQL):
        raise BackupError(f"backups support SQLite and PostgreSQL, not {connection.vendor}")
    return connection.vendor


def _sqlite_path() -> Path:
    return Path(connection.settings_dict["NAME"])


def _server() -> db.PgServer:
    return db.PgServer.from_settings(connection.settings_dict)


def _digest_name() -> str:
    return "sm3" if crypto.provider().alg == crypto.SM4 else "sha256"


def _version() -> str:
    try:
        return metadata.version("fengqiao")
    except metadata.PackageNotFoundError:
        return "unknown"


@contextmanager
def _private_dir(parent: Path, prefix: str) -> Iterator[Path]:
    """A 0700 working directory removed afterwards. Plaintext dumps and files are staged only
    inside the platform's own directories, never beside the backup file (which may sit on less
    trusted storage)."""
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _audit_available() -> bool:
    # A restore or drill may run where the configured database does not exist yet; opening a
    # missing SQLite file would create it, so look before connecting.
    if connection.vendor == db.SQLITE and not _sqlite_path().is_file():
        return False
    return AuditEvent._meta.db_table in connection.introspection.table_names()


def _record(action: str, *, outcome: str = "ok", detail: dict[str, Any]) -> None:
    if _audit_available():
        audit.record(action, outcome=outcome, detail=detail)


def _summary(manifest: dict[str, Any]) -> dict[str, Any]:
    tables = manifest.get("tables", {})
    return {
        "backup_id": manifest.get("backup_id"),
        "created_at": manifest.get("created_at"),
        "backend": manifest.get("backend"),
        "tables": len(tables),
        "rows": sum(entry["rows"] for entry in tables.values()),
        "media_files": len(manifest.get("media", [])),
    }


# --- backup -------------------------------------------------------------------------------------


def create_backup(destination: Path, *, chunk_bytes: int = CHUNK_BYTES) -> BackupResult:
    """Snapshot the database and MEDIA_ROOT into one sealed file at ``destination``.

    ``destination`` may be a directory: the file is then named by the UTC time. The file appears
    under its final name only when complete (it is written as ``….partial`` first).
    """
    vendor = _vendor()
    created = timezone.now().astimezone(UTC)
    if destination.is_dir():
        destination = destination / f"fengqiao-{created:%Y%m%dT%H%M%SZ}{SUFFIX}"
    if destination.exists():
        raise BackupError(f"{destination} already exists; a backup never overwrites a file")
    partial = destination.with_name(destination.name + ".partial")
    digest_name = _digest_name()
    provider = crypto.provider()
    with _private_dir(Path(settings.VAR_DIR), ".backup-") as work:
        dump = work / DATABASE_MEMBERS[vendor]
        if vendor == db.SQLITE:
            db.snapshot_sqlite(_sqlite_path(), dump)
            with closing(db.sqlite_connect(dump)) as conn:
                tables = db.table_digests(conn, vendor, digest_name)
                migrations = db.applied_migrations(conn, vendor)
        else:
            tables, migrations = db.snapshot_postgres(_server(), dump, digest_name)
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise BackupError(f"{partial} exists: another backup is being written") from exc
        except OSError as exc:
            raise BackupError(f"cannot create {partial}: {exc.strerror}") from exc
        try:
            with os.fdopen(fd, "wb") as out:
                sealed = SealedWriter(out, chunk_bytes=chunk_bytes)
                archive = ArchiveWriter(sealed)
                database = {"name": dump.name, **archive.add_file(dump.name, dump)}
                media = []
                # After the database snapshot: a file uploaded meanwhile is an unreferenced extra,
                # never a reference without its file.
                for name, path in media_files(Path(settings.MEDIA_ROOT)):
                    media.append({"path": name, **archive.add_file(MEDIA_PREFIX + name, path)})
                manifest = {
                    "format": MANIFEST_FORMAT,
                    "backup_id": uuid.uuid4().hex,
                    "created_at": created.isoformat(),
                    "backend": vendor,
                    "versions": {"fengqiao": _version(), "django": django.get_version()},
                    "crypto": {
                        "suite": provider.alg,
                        "field_key_ids": list(provider.key_ids),
                        "active_field_key_id": provider.active_key_id,
                    },
                    "digest": digest_name,
                    "migrations": migrations,
                    "tables": {
                        name: {"rows": t.rows, "digest": t.digest} for name, t in tables.items()
                    },
                    "database": database,
                    "media": media,
                }
                text = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True)
                archive.add_bytes(MANIFEST, text.encode("utf-8"))
                archive.close()
                sealed.close()
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, destination)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    size = destination.stat().st_size
    audit.record("backup.created", detail={**_summary(manifest), "bytes": size})
    return BackupResult(path=destination, size=size, manifest=manifest)


# --- verification -------------------------------------------------------------------------------


def _verify(conn: Any, vendor: str, unpacked: Unpacked) -> Verification:
    manifest = unpacked.manifest
    expected = {
        name: db.TableDigest(rows=entry["rows"], digest=entry["digest"])
        for name, entry in manifest["tables"].items()
    }
    actual = db.table_digests(conn, vendor, manifest["digest"])
    checks = [
        TableCheck(name, expected.get(name), actual.get(name))
        for name in sorted(expected.keys() | actual.keys())
    ]
    missing = sorted(db.file_references(conn, vendor) - unpacked.media.keys())
    return Verification(tables=checks, media_files=len(unpacked.media), missing_media=missing)


def _verify_sqlite(path: Path, unpacked: Unpacked) -> Verification:
    with closing(db.sqlite_connect(path)) as conn:
        return _verify(conn, db.SQLITE, unpacked)


def _verify_postgres(server: db.PgServer, unpacked: Unpacked) -> Verification:
    with db.postgres_reader(server) as conn:
        return _verify(conn, db.POSTGRESQL, unpacked)


def _open(source: Path, *, database_dir: Path, media_dir: Path) -> Unpacked:
    try:
        handle = source.open("rb")
    except OSError as exc:
        raise BackupError(f"cannot read {source}: {exc.strerror}") from exc
    with handle:
        return unpack(handle, database_dir=database_dir, media_dir=media_dir)


# --- restore ------------------------------------------------------------------------------------


def _target_tables(vendor: str) -> int:
    if vendor == db.SQLITE:
        return db.sqlite_table_count(_sqlite_path())
    return db.postgres_table_count(_server())


def _refuse_non_empty(vendor: str, media_root: Path) -> None:
    tables = _target_tables(vendor)
    if tables:
        raise BackupError(
            f"the database already has {tables} tables: restore replaces them only with --force"
        )
    if any(True for _ in media_files(media_root)):
        raise BackupError(
            f"{media_root} already holds files: restore replaces them only with --force"
        )


def _install_media(staged: Path, root: Path) -> None:
    """Swap the staged media directory in by renames (same file system, beside MEDIA_ROOT)."""
    replaced = None
    if root.exists():
        replaced = root.with_name(f".{root.name}-replaced-{uuid.uuid4().hex[:8]}")
        os.replace(root, replaced)
    os.replace(staged, root)
    if replaced is not None:
        shutil.rmtree(replaced, ignore_errors=True)


def _migration_differences(manifest: dict[str, Any]) -> tuple[list[str], list[str]]:
    on_disk = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    in_backup = {(app, name) for app, names in manifest["migrations"].items() for name in names}
    pending = sorted(f"{app}.{name}" for app, name in on_disk - in_backup)
    unknown = sorted(f"{app}.{name}" for app, name in in_backup - on_disk)
    return pending, unknown


def restore_backup(source: Path, *, force: bool = False) -> RestoreResult:
    """Restore ``source`` into the configured database and MEDIA_ROOT.

    The whole file is decrypted, authenticated and unpacked into staging directories first; a
    tampered, truncated or foreign file is refused before the target is touched. SQLite: the
    staged copy is also checked against the manifest's row digests, then renamed over the
    database file. PostgreSQL: the dump replaces the schema in one transaction and is checked
    afterwards. A non-empty target is refused unless ``force``.
    """
    vendor = _vendor()
    media_root = Path(settings.MEDIA_ROOT)
    try:
        if not force:
            _refuse_non_empty(vendor, media_root)
        target_dir = _sqlite_path().parent if vendor == db.SQLITE else Path(settings.VAR_DIR)
        with (
            _private_dir(target_dir, ".restore-") as work,
            _private_dir(media_root.parent, f".{media_root.name}-restore-") as media_stage,
        ):
            staged_media = media_stage / "media"
            staged_media.mkdir(mode=0o700)
            unpacked = _open(source, database_dir=work, media_dir=staged_media)
            if unpacked.backend != vendor:
                raise BackupError(
                    f"this is a {unpacked.backend} backup but the configured database is "
                    f"{vendor}: restore it on the backend it was made on"
                )
            if not force:  # again: the target may have changed while we decrypted
                _refuse_non_empty(vendor, media_root)
            if vendor == db.SQLITE:
                verification = _verify_sqlite(unpacked.database, unpacked)
                if not verification.ok:
                    raise BackupError(
                        "the backup's database does not match its manifest "
                        f"({len(verification.mismatched)} tables, "
                        f"{len(verification.missing_media)} missing files): nothing was restored"
                    )
                connections.close_all()
                db.install_sqlite(unpacked.database, _sqlite_path())
            else:
                connections.close_all()
                db.restore_postgres(_server(), unpacked.database)
                verification = _verify_postgres(_server(), unpacked)
            _install_media(staged_media, media_root)
    except BackupError:
        connections.close_all()
        _record("backup.restored", outcome="refused", detail={"forced": force})
        raise
    connections.close_all()
    pending, unknown = _migration_differences(unpacked.manifest)
    _record(
        "backup.restored",
        outcome="ok" if verification.ok else "failed",
        detail={**_summary(unpacked.manifest), "forced": force},
    )
    return RestoreResult(unpacked.manifest, verification, pending, unknown)


# --- drill --------------------------------------------------------------------------------------


def drill_backup(source: Path) -> DrillResult:
    """Restore ``source`` into a throw-away database and compare it with the manifest.

    SQLite backups are restored into a temporary file, PostgreSQL backups into a database
    created for the drill on the configured server and dropped afterwards.
    """
    try:
        with _private_dir(Path(settings.VAR_DIR), ".drill-") as work:
            unpacked = _open(source, database_dir=work, media_dir=work / "media")
            if unpacked.backend == db.SQLITE:
                scratch = work / "drill.sqlite3"
                db.install_sqlite(unpacked.database, scratch)
                verification = _verify_sqlite(scratch, unpacked)
            elif connection.vendor != db.POSTGRESQL:
                raise BackupError(
                    "a PostgreSQL backup is drilled on a PostgreSQL server: set DATABASE_URL"
                )
            else:
                with db.throwaway_postgres(_server()) as scratch_server:
                    db.restore_postgres(scratch_server, unpacked.database, privileges=False)
                    verification = _verify_postgres(scratch_server, unpacked)
    except BackupError:
        _record("backup.drilled", outcome="refused", detail={})
        raise
    _record(
        "backup.drilled",
        outcome="ok" if verification.ok else "failed",
        detail={
            **_summary(unpacked.manifest),
            "mismatched_tables": len(verification.mismatched),
            "missing_media": len(verification.missing_media),
        },
    )
    return DrillResult(unpacked.manifest, verification)
