"""SECURITY 27: `fengqiao backup` / `restore` — sealed, authenticated, and proven by a drill.

The tests work on committed data (a case with an attachment on disk, a tip with an encrypted
attachment) because a backup reads the database file or server from outside the test's
connection. The restore into a fresh database runs the real command in a child process, on
SQLite or on PostgreSQL (a database created for the test), whichever the suite runs on.
Transactional tests are slow to tear down, so each test checks several things.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import threading
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from tests.cases.factories import make_category, report
from tests.tips.factories import file_tip

from fengqiao.cases.models import Attachment, Case
from fengqiao.core import audit, backup
from fengqiao.core.backup import archive, databases, sealing
from fengqiao.core.models import AuditEvent
from fengqiao.tips import attachments

pytestmark = pytest.mark.django_db(transaction=True)

FENGYUAN = "330681109290"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# Small chunks, so a test backup has many and chunk-level tampering can be aimed.
SMALL_CHUNKS = 16 * 1024
HEADER_BYTES = struct.calcsize(">8sB3s8s16s4sI")
# Every backup, restore and drill appends to the audit chain: other tables must stay as they were.
AUDIT_TABLES = ("core_auditevent", "core_auditchainhead")


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def data(media_root):
    """A reported case with a PDF on disk and a tip with a sealed attachment, all committed."""
    case = report(
        make_category(),
        region_code=FENGYUAN,
        uploads=[SimpleUploadedFile("调解记录.pdf", PDF, content_type="application/pdf")],
    )
    file_tip(attachments=[attachments.IncomingFile("evidence.txt", b"evidence")])
    return case


@pytest.fixture
def backup_file(data, tmp_path) -> Path:
    return backup.create_backup(tmp_path / "out.fqbackup", chunk_bytes=SMALL_CHUNKS).path


def without_audit(digests: dict) -> dict:
    return {name: value for name, value in digests.items() if name not in AUDIT_TABLES}


def live_digests(digest: str = "sm3") -> dict[str, databases.TableDigest]:
    """The configured (test) database's row digests, read as the drill reads, audit aside."""
    if is_postgres():
        server = databases.PgServer.from_settings(connection.settings_dict)
        return without_audit(databases.postgres_digests(server, digest))
    with closing(databases.sqlite_connect(Path(connection.settings_dict["NAME"]))) as conn:
        return without_audit(databases.table_digests(conn, "sqlite", digest))


def last_event() -> tuple[str, str]:
    return AuditEvent.objects.order_by("-id").values_list("action", "outcome")[0]


def chunks(raw: bytes) -> list[bytes]:
    """The framed chunks of a backup file (length prefix included)."""
    out, at = [], HEADER_BYTES
    while at < len(raw):
        (length,) = struct.unpack(">I", raw[at : at + 4])
        out.append(raw[at : at + 4 + length])
        at += 4 + length
    return out


def drill_databases() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'fengqiao_drill_%'")
        return {row[0] for row in cursor.fetchall()}


# --- backup and drill ---------------------------------------------------------------------------


def test_backup_carries_rows_files_and_manifest_and_the_drill_matches(data, tmp_path):
    result = backup.create_backup(tmp_path)  # a directory: the file is named by the time
    assert result.path.parent == tmp_path and result.path.name.endswith(".fqbackup")
    assert oct(result.path.stat().st_mode & 0o777) == "0o600"
    manifest = result.manifest
    assert manifest["backend"] == connection.vendor
    assert manifest["tables"]["cases_case"]["rows"] == Case.objects.count() >= 1
    assert manifest["tables"]["cases_attachment"]["rows"] == 1
    assert manifest["tables"]["tips_tipattachment"]["rows"] == 1
    assert "0001_initial" in manifest["migrations"]["core"]
    attachment = Attachment.objects.get(case=data)
    assert manifest["media"] == [
        {"path": attachment.file.name, "size": len(PDF), "sha256": attachment.sha256}
    ]
    # The manifest describes exactly the committed database (only the backup's own audit event
    # was written since).
    assert without_audit({k: v["digest"] for k, v in manifest["tables"].items()}) == {
        k: v.digest for k, v in live_digests(manifest["digest"]).items()
    }
    # Nothing readable in the file: not the PDF, not even the table names.
    raw = result.path.read_bytes()
    assert b"%PDF" not in raw and b"cases_case" not in raw

    before = drill_databases() if is_postgres() else set()
    drilled = backup.drill_backup(result.path)
    assert drilled.verification.ok
    assert drilled.verification.media_files == 1
    assert {c.name for c in drilled.verification.tables} == set(manifest["tables"])
    if is_postgres():  # the throw-away database is gone again
        assert drill_databases() == before
    assert list(AuditEvent.objects.order_by("-id").values_list("action", "outcome")[:2]) == [
        ("backup.drilled", "ok"),
        ("backup.created", "ok"),
    ]

    out = io.StringIO()
    call_command("backup", str(tmp_path / "cmd.fqbackup"), "--drill", stdout=out)
    text = out.getvalue()
    assert "backup written:" in text
    table = next(line for line in text.splitlines() if line.startswith("cases_attachment "))
    assert table.split()[1:3] == ["1", "1"] and table.endswith("OK")
    assert "media: 1 files (SHA-256 checked), 0 referenced files missing" in text
    assert "drill OK:" in text


def test_a_backup_taken_while_the_server_writes_is_consistent(data, tmp_path):
    stop = threading.Event()
    written: list[int] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            while not stop.is_set():
                audit.record("test.write_during_backup", detail={"n": len(written)})
                written.append(1)
        except BaseException as error:  # surfaced in the main thread
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 5 and thread.is_alive():  # writing before the snapshot starts
            stop.wait(0.01)
        result = backup.create_backup(tmp_path / "busy.fqbackup", chunk_bytes=SMALL_CHUNKS)
        written_during = len(written)
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert written_during > 5
    assert result.manifest["tables"]["core_auditevent"]["rows"] >= 5
    # Dump and digests come from one snapshot: the drill finds every table equal.
    assert backup.drill_backup(result.path).verification.ok


def repack(source: Path, target: Path, tmp_path: Path, *, edit) -> None:
    """Open a backup, let ``edit`` change its manifest, seal it again with our keys: a file that
    authenticates but whose content disagrees with what its manifest says."""
    work = tmp_path / f"repack-{uuid.uuid4().hex[:6]}"
    work.mkdir()
    with source.open("rb") as handle:
        unpacked = archive.unpack(handle, database_dir=work, media_dir=work / "media")
    edit(unpacked.manifest)
    with target.open("wb") as out:
        sealed = sealing.SealedWriter(out)
        writer = archive.ArchiveWriter(sealed)
        writer.add_file(unpacked.database.name, unpacked.database)
        for entry in unpacked.manifest["media"]:
            writer.add_file("media/" + entry["path"], unpacked.media_dir / entry["path"])
        writer.add_bytes("manifest.json", json.dumps(unpacked.manifest).encode())
        writer.close()
        sealed.close()


def test_the_drill_fails_on_a_table_or_file_that_differs_from_the_manifest(backup_file, tmp_path):
    def one_more_tip_attachment(manifest) -> None:
        manifest["tables"]["tips_tipattachment"]["rows"] = 2

    lying = tmp_path / "lying.fqbackup"
    repack(backup_file, lying, tmp_path, edit=one_more_tip_attachment)
    out = io.StringIO()
    with pytest.raises(CommandError, match="drill FAILED: 1 tables differ"):
        call_command("restore", str(lying), "--drill", stdout=out)
    line = next(x for x in out.getvalue().splitlines() if x.startswith("tips_tipattachment "))
    assert line.split()[1:3] == ["2", "1"] and line.endswith("MISMATCH")
    assert last_event() == ("backup.drilled", "failed")
    if not is_postgres():  # SQLite checks the staged copy before it replaces anything
        before = live_digests()
        with pytest.raises(backup.BackupError, match="nothing was restored"):
            backup.restore_backup(lying, force=True)
        assert live_digests() == before
        assert last_event() == ("backup.restored", "refused")

    def without_files(manifest) -> None:
        manifest["media"] = []

    no_media = tmp_path / "no-media.fqbackup"
    repack(backup_file, no_media, tmp_path, edit=without_files)
    result = backup.drill_backup(no_media)
    assert result.verification.missing_media == [Attachment.objects.get().file.name]
    assert not result.verification.ok


# --- refused files ------------------------------------------------------------------------------


def test_damaged_files_are_refused_before_anything_changes(backup_file, tmp_path):
    raw = backup_file.read_bytes()
    parts = chunks(raw)
    header = raw[:HEADER_BYTES]
    assert len(parts) > 4

    def flipped(offset: int) -> bytes:
        damaged = bytearray(raw)
        damaged[offset] ^= 0x40
        return bytes(damaged)

    middle = HEADER_BYTES + sum(len(p) for p in parts[: len(parts) // 2]) + 100
    cases = {
        "a bit of the salt": (flipped(8 + 1 + 3 + 8 + 3), "chunk 0 failed authentication"),
        "a bit of chunk 0": (flipped(HEADER_BYTES + 14), "chunk 0 failed authentication"),
        "a bit mid-file": (flipped(middle), "failed authentication"),
        "the last byte": (flipped(len(raw) - 1), f"chunk {len(parts) - 1} failed"),
        "a length prefix": (flipped(HEADER_BYTES + 1), "chunk 0 has an impossible length"),
        "no final chunk": (header + b"".join(parts[:-1]), "which is not the final chunk"),
        "cut inside a chunk": (raw[:-7], "truncated inside chunk"),
        "header only": (header, "ends right after its header"),
        "two chunks swapped": (
            header + parts[0] + parts[2] + parts[1] + b"".join(parts[3:]),
            "chunk 1 failed authentication",
        ),
        "a chunk dropped": (header + parts[0] + b"".join(parts[2:]), "chunk 1 failed"),
        "a chunk appended": (raw + parts[1], "data follows the final chunk"),
        "empty": (b"", "not a Fengqiao backup"),
        "random bytes": (os.urandom(4096), "not a Fengqiao backup"),
    }
    before = live_digests()
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name}.fqbackup"
        path.write_bytes(content)
        with pytest.raises(backup.BackupError, match=message):
            backup.restore_backup(path, force=True)  # even forced
        with pytest.raises(backup.BackupError, match=message):
            backup.drill_backup(path)
    assert live_digests() == before
    assert Path(settings.MEDIA_ROOT, Attachment.objects.get().file.name).read_bytes() == PDF
    refused = AuditEvent.objects.filter(outcome="refused")
    assert refused.filter(action="backup.restored").count() == len(cases)
    assert refused.filter(action="backup.drilled").count() == len(cases)
    # No staging directory is left behind, beside the database or the media.
    staging = (".restore-", ".drill-", ".backup-", ".media-restore-")
    leftovers = [
        p.name
        for directory in (Path(settings.VAR_DIR), Path(settings.MEDIA_ROOT).parent)
        for p in directory.iterdir()
        if p.name.startswith(staging)
    ]
    assert leftovers == []

    # The commands say so and exit non-zero.
    with pytest.raises(CommandError, match="restore refused: chunk 0 failed authentication"):
        call_command("restore", str(tmp_path / "a bit of chunk 0.fqbackup"), "--force")
    with pytest.raises(CommandError, match="drill refused the backup: the backup is truncated"):
        call_command("restore", "--drill", str(tmp_path / "no final chunk.fqbackup"))
    # A sound file is refused too while the database has tables and --force is not given.
    with pytest.raises(backup.BackupError, match="restore replaces them only with --force"):
        backup.restore_backup(backup_file)
    assert live_digests() == before


def test_a_backup_is_refused_under_other_keys(backup_file, settings):
    settings.BLIND_INDEX_KEY = "a-completely-different-blind-index-key"
    with pytest.raises(backup.BackupError, match="different FENGQIAO_BLIND_INDEX_KEY"):
        backup.drill_backup(backup_file)
    settings.FENGQIAO_CRYPTO = "aes"
    with pytest.raises(backup.BackupError, match="sealed with SM4-GCM but FENGQIAO_CRYPTO"):
        backup.drill_backup(backup_file)


# --- restore into a fresh database, by the command --------------------------------------------


@pytest.fixture
def fresh_target(tmp_path):
    """Environment of a fresh installation with the same keys: an empty var directory and, on
    PostgreSQL, an empty database created for the test and dropped after it."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FENGQIAO_", "DATABASE_URL", "PYTEST_", "DJANGO_"))
    }
    env.update(
        FENGQIAO_TESTING="1",
        FENGQIAO_VAR_DIR=str(tmp_path / "fresh"),
        FENGQIAO_FIELD_KEYS=settings.FIELD_KEYS,
        FENGQIAO_BLIND_INDEX_KEY=settings.BLIND_INDEX_KEY,
        FENGQIAO_TIP_PEPPER=settings.TIP_RECEIPT_PEPPER,
        FENGQIAO_CRYPTO=settings.FENGQIAO_CRYPTO,
    )
    if not is_postgres():
        yield env, None
        return
    server = databases.PgServer.from_settings(connection.settings_dict)
    name = f"{server.dbname}_restore_{uuid.uuid4().hex[:8]}"
    with closing(server.connect(autocommit=True)) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        try:
            params = server.params
            auth = params.get("user", "postgres")
            if server.password:
                auth += f":{server.password}"
            address = f"{params.get('host', '127.0.0.1')}:{params.get('port', '5432')}"
            env["DATABASE_URL"] = f"postgres://{auth}@{address}/{name}"
            yield env, server.with_database(name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fengqiao(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fengqiao.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_restore_into_a_fresh_database_reproduces_every_table_and_file(
    backup_file, fresh_target, tmp_path
):
    env, server = fresh_target
    fresh = tmp_path / "fresh"

    # First a tampered copy: refused, and the fresh target stays untouched.
    damaged = bytearray(backup_file.read_bytes())
    damaged[len(damaged) // 2] ^= 1
    tampered = tmp_path / "tampered.fqbackup"
    tampered.write_bytes(damaged)
    done = fengqiao(env, "restore", str(tampered))
    assert done.returncode == 1
    assert "failed authentication" in done.stderr
    assert not (fresh / "media").exists()
    if server is None:
        assert not (fresh / "fengqiao.sqlite3").exists()
    else:
        assert databases.postgres_table_count(server) == 0

    done = fengqiao(env, "restore", str(backup_file))
    assert done.returncode == 0, done.stderr
    assert "restore OK" in done.stdout
    manifest = backup.drill_backup(backup_file).manifest
    expected = {k: databases.TableDigest(**v) for k, v in manifest["tables"].items()}
    if server is None:
        restored = fresh / "fengqiao.sqlite3"
        with closing(databases.sqlite_connect(restored)) as conn:
            digests = databases.table_digests(conn, "sqlite", manifest["digest"])
            events = conn.execute("SELECT action, outcome FROM core_auditevent").fetchall()
    else:
        digests = databases.postgres_digests(server, manifest["digest"])
        with closing(server.connect()) as conn:
            events = conn.execute("SELECT action, outcome FROM core_auditevent").fetchall()
    # Every table as it was; the restore then appended its own event to the audit chain.
    assert without_audit(digests) == without_audit(expected)
    assert digests["core_auditevent"].rows == expected["core_auditevent"].rows + 1
    assert tuple(events[-1]) == ("backup.restored", "ok")
    restored_file = fresh / "media" / Attachment.objects.get().file.name
    assert hashlib.sha256(restored_file.read_bytes()).digest() == hashlib.sha256(PDF).digest()
    verify = fengqiao(env, "audit", "verify", "--no-progress")
    assert verify.returncode == 0, verify.stderr

    again = fengqiao(env, "restore", str(backup_file))
    assert again.returncode == 1
    assert "restore replaces them only with --force" in again.stderr


# --- PostgreSQL only ----------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgres_forced_restore_replaces_the_schema_in_one_transaction(data, tmp_path):
    path = backup.create_backup(tmp_path / "pg.fqbackup").path
    rows = backup.drill_backup(path).manifest["tables"]["cases_case"]["rows"]
    report(make_category(), region_code=FENGYUAN)  # written after the backup: must go
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE test_backup_stray (id integer)")
    result = backup.restore_backup(path, force=True)
    assert result.verification.ok
    assert Case.objects.count() == rows
    assert "test_backup_stray" not in connection.introspection.table_names()
    assert last_event() == ("backup.restored", "ok")
    assert audit.verify_chain().ok
    # The append-only guard came back with the schema.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'core_auditevent'::regclass "
            "AND NOT tgisinternal"
        )
        assert cursor.fetchone()[0] == 2
