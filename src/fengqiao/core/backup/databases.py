"""Snapshots, restores and row digests of the two database backends (SECURITY.md 27).

SQLite is copied with the online backup API in one step: the copy is one read transaction, so it
is consistent while the server goes on writing (WAL lets writers continue beside the reader).
PostgreSQL is dumped with ``pg_dump -Fc`` inside a snapshot exported from our own REPEATABLE READ
transaction, and the row digests are computed in that same transaction: the manifest describes
exactly the rows the dump holds.

Row digests are computed on raw DB-API connections (not the ORM), table by table in primary-key
order, over a length-prefixed, type-tagged encoding of each value, so the backup side and the
drill side run the very same code. Values are taken as each driver returns them; comparing
across backends would need a normalisation this format does not attempt.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import struct
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import psycopg
from cryptography.hazmat.primitives import hashes
from django.apps import apps
from django.db import models
from psycopg.conninfo import make_conninfo

from fengqiao.core.backup.sealing import BackupError

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
DIGESTS = {"sm3": hashes.SM3, "sha256": hashes.SHA256}
FETCH_ROWS = 2000
_FRAME = struct.Struct(">I")
# libpq parameters Django's OPTIONS may carry that also matter to pg_dump, pg_restore and psql.
_LIBPQ_OPTIONS = (
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "connect_timeout",
    "application_name",
    "passfile",
    "service",
    "options",
)


@dataclass(frozen=True)
class TableDigest:
    """How many rows a table holds and the digest over them in primary-key order."""

    rows: int
    digest: str


# --- row digests ------------------------------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _value_bytes(value: Any) -> bytes:
    # Tagged, so 1, "1", 1.0 and True never encode alike.
    if value is None:
        return b"N"
    if isinstance(value, bool):
        return b"B1" if value else b"B0"
    if isinstance(value, int):
        return b"I" + str(value).encode()
    if isinstance(value, float):
        return b"F" + repr(value).encode()
    if isinstance(value, str):
        return b"S" + value.encode("utf-8", "surrogatepass")
    if isinstance(value, bytes | bytearray | memoryview):
        return b"X" + bytes(value)
    if isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return b"J" + text.encode()
    if isinstance(value, datetime | date | time):
        return b"T" + value.isoformat().encode()
    return b"O" + type(value).__name__.encode() + b":" + str(value).encode()


def row_bytes(row: tuple) -> bytes:
    parts = [_FRAME.pack(len(row))]
    for value in row:
        encoded = _value_bytes(value)
        parts.append(_FRAME.pack(len(encoded)))
        parts.append(encoded)
    return b"".join(parts)


def table_names(conn: Any, vendor: str) -> list[str]:
    if vendor == SQLITE:
        sql = (
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        )
    else:
        sql = (
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY c.relname"
        )
    with closing(conn.cursor()) as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def _columns(conn: Any, vendor: str, table: str) -> tuple[list[str], list[str]]:
    """All columns in definition order, and the primary-key columns in key order."""
    with closing(conn.cursor()) as cursor:
        if vendor == SQLITE:
            cursor.execute(f"PRAGMA table_info({_quote(table)})")
            info = cursor.fetchall()
            columns = [row[1] for row in info]
            key = [row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5])]
            return columns, key
        cursor.execute(
            "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = %s::regclass "
            "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            [_quote(table)],
        )
        columns = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = %s::regclass AND i.indisprimary "
            "ORDER BY array_position(i.indkey::int2[], a.attnum)",
            [_quote(table)],
        )
        return columns, [row[0] for row in cursor.fetchall()]


def table_digests(conn: Any, vendor: str, digest_name: str) -> dict[str, TableDigest]:
    """Row count and digest of every table of the connection's schema.

    PostgreSQL connections must be inside a transaction (the rows stream through a server-side
    cursor) with the session time zone set to UTC, so timestamps read back alike.
    """
    result: dict[str, TableDigest] = {}
    for table in table_names(conn, vendor):
        columns, key = _columns(conn, vendor, table)
        # Tables without a primary key (the test-only audit guard release) sort by every column.
        order = ", ".join(_quote(c) for c in key) or ", ".join(
            str(i) for i in range(1, len(columns) + 1)
        )
        sql = (
            f"SELECT {', '.join(_quote(c) for c in columns)} FROM {_quote(table)} "  # noqa: S608
            f"ORDER BY {order}"
        )
        h = hashes.Hash(DIGESTS[digest_name]())
        h.update(row_bytes(tuple(columns)))  # a renamed or reordered column changes the digest
        rows = 0
        cursor = conn.cursor() if vendor == SQLITE else conn.cursor(name=f"fq_{uuid.uuid4().hex}")
        with closing(cursor):
            cursor.execute(sql)
            while batch := cursor.fetchmany(FETCH_ROWS):
                rows += len(batch)
                for row in batch:
                    h.update(row_bytes(tuple(row)))
        result[table] = TableDigest(rows=rows, digest=h.finalize().hex())
    return result


def applied_migrations(conn: Any, vendor: str) -> dict[str, list[str]]:
    if "django_migrations" not in table_names(conn, vendor):
        return {}
    applied: dict[str, list[str]] = {}
    with closing(conn.cursor()) as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        for app, name in cursor.fetchall():
            applied.setdefault(app, []).append(name)
    return applied


def file_references(conn: Any, vendor: str) -> set[str]:
    """Storage names held by every FileField column: each must exist among the media files."""
    present = set(table_names(conn, vendor))
    names: set[str] = set()
    for model in apps.get_models():
        table = model._meta.db_table
        if table not in present:
            continue
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, models.FileField):
                column = _quote(model_field.column)
                with closing(conn.cursor()) as cursor:
                    cursor.execute(
                        f"SELECT {column} FROM {_quote(table)} "  # noqa: S608
                        f"WHERE {column} IS NOT NULL AND {column} <> ''"
                    )
                    names.update(row[0] for row in cursor.fetchall())
    return names


# --- SQLite -----------------------------------------------------------------------------------


def sqlite_connect(path: Path, *, readonly: bool = True) -> sqlite3.Connection:
    if readonly:
        return sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=20)
    return sqlite3.connect(path, timeout=20)


def snapshot_sqlite(live: Path, copy: Path) -> None:
    """Copy the live database to ``copy`` with the online backup API, in one consistent step."""
    if not live.is_file():
        raise BackupError(f"there is no SQLite database at {live}")
    source = sqlite_connect(live, readonly=False)
    target = sqlite3.connect(copy)
    with closing(source), closing(target):
        source.backup(target)  # pages=-1: all at once, inside one read transaction
        # The copy inherits WAL mode from the page header; a single file travels better.
        target.execute("PRAGMA journal_mode=DELETE")
    check_sqlite(copy)


def check_sqlite(path: Path) -> None:
    with closing(sqlite_connect(path)) as conn:
        result = conn.execute("PRAGMA integrity_check").fetchall()
    if result != [("ok",)]:
        raise BackupError(f"SQLite integrity check failed: {result[0][0]}")


def sqlite_table_count(path: Path) -> int:
    if not path.is_file() or path.stat().st_size == 0:
        return 0
    with closing(sqlite_connect(path, readonly=False)) as conn:
        return len(table_names(conn, SQLITE))


def install_sqlite(staged: Path, target: Path) -> None:
    """Put a verified database file in place of ``target`` in one rename.

    The old database's write-ahead log is checkpointed empty first and removed after: a stale
    -wal beside the new file would be replayed into it by the next connection.
    """
    check_sqlite(staged)
    with staged.open("rb") as handle:
        os.fsync(handle.fileno())
    if target.exists():
        try:
            with closing(sqlite_connect(target, readonly=False)) as old:
                old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.DatabaseError:
            pass  # a damaged file is what --force replaces; its log goes with it
    _remove_sidecars(target)
    os.replace(staged, target)
    _remove_sidecars(target)
    _fsync_dir(target.parent)


def _remove_sidecars(target: Path) -> None:
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- PostgreSQL -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PgServer:
    """Where a PostgreSQL database lives, from Django's settings; the password never goes on a
    command line (child processes get it in PGPASSWORD)."""

    dbname: str
    params: dict[str, str] = field(default_factory=dict)
    password: str = ""

    @classmethod
    def from_settings(cls, settings_dict: dict[str, Any]) -> PgServer:
        params = {
            key: str(value)
            for key, value in (
                ("host", settings_dict.get("HOST")),
                ("port", settings_dict.get("PORT")),
                ("user", settings_dict.get("USER")),
            )
            if value
        }
        options = settings_dict.get("OPTIONS") or {}
        params.update({k: str(options[k]) for k in _LIBPQ_OPTIONS if options.get(k) is not None})
        return cls(str(settings_dict["NAME"]), params, str(settings_dict.get("PASSWORD") or ""))

    def with_database(self, dbname: str) -> PgServer:
        return replace(self, dbname=dbname)

    @property
    def conninfo(self) -> str:
        return make_conninfo(dbname=self.dbname, **self.params)

    def connect(self, *, autocommit: bool = False) -> psycopg.Connection:
        return psycopg.connect(self.conninfo, password=self.password or None, autocommit=autocommit)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


def _run(argv: list[str], server: PgServer, what: str) -> None:
    try:
        done = subprocess.run(  # noqa: S603  (fixed argv, no shell)
            argv, env=server.env(), capture_output=True, check=False
        )
    except FileNotFoundError as exc:
        raise BackupError(f"{argv[0]} is not installed (postgresql-client)") from exc
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.decode('utf-8', 'replace').strip()}")


@contextmanager
def postgres_reader(server: PgServer) -> Iterator[psycopg.Connection]:
    """A connection inside one REPEATABLE READ, read-only transaction: one snapshot throughout."""
    with closing(server.connect(autocommit=True)) as conn:
        conn.execute("SET TIME ZONE 'UTC'")  # timestamps read back alike on both sides
        conn.autocommit = False
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        yield conn
        conn.rollback()


def snapshot_postgres(
    server: PgServer, dump: Path, digest_name: str
) -> tuple[dict[str, TableDigest], dict[str, list[str]]]:
    """``pg_dump -Fc`` to ``dump`` and the row digests, both from one exported snapshot."""
    with postgres_reader(server) as conn:
        (snapshot_id,) = conn.execute("SELECT pg_export_snapshot()").fetchone() or ("",)
        # The exporting transaction stays open while pg_dump imports its snapshot.
        _run(
            [
                "pg_dump",
                "--format=custom",
                f"--snapshot={snapshot_id}",
                "--no-password",
                f"--file={dump}",
                f"--dbname={server.conninfo}",
            ],
            server,
            "pg_dump",
        )
        return table_digests(conn, POSTGRESQL, digest_name), applied_migrations(conn, POSTGRESQL)


def postgres_digests(server: PgServer, digest_name: str) -> dict[str, TableDigest]:
    with postgres_reader(server) as conn:
        return table_digests(conn, POSTGRESQL, digest_name)


def postgres_table_count(server: PgServer) -> int:
    with closing(server.connect(autocommit=True)) as conn:
        return len(table_names(conn, POSTGRESQL))


# Run before the dump's own SQL, in the same transaction: the schema is emptied of everything
# ours (extension members stay), so tables added by a newer release cannot survive a restore.
_CLEAR_SCHEMA = """
SET lock_timeout = '10s';
SET client_min_messages = warning;
DO $$
DECLARE r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS name,
               CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                              WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                              ELSE 'TABLE' END AS kind
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
        ORDER BY c.relkind DESC
    LOOP
        IF EXISTS (SELECT 1 FROM pg_class WHERE oid = r.name) THEN
            EXECUTE format('DROP %s %s CASCADE', r.kind, r.name);
        END IF;
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS name FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = current_schema()
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
    LOOP
        EXECUTE format('DROP ROUTINE %s CASCADE', r.name);
    END LOOP;
END
$$;
"""


def restore_postgres(server: PgServer, dump: Path, *, privileges: bool = True) -> None:
    """Replace the database's schema with the dump, all in one transaction (psql -1).

    Objects are owned by the restoring role (``--no-owner``); grants are restored unless
    ``privileges`` is off (the drill: its throw-away database may live where the roles do not).
    """
    restore_argv = ["pg_restore", "--no-owner", "--file=-", str(dump)]
    if not privileges:
        restore_argv.insert(2, "--no-acl")
    psql_argv = [
        "psql",
        "--no-psqlrc",
        "--quiet",
        "--no-password",
        "--single-transaction",
        "--set=ON_ERROR_STOP=1",
        f"--dbname={server.conninfo}",
        "--file=-",
    ]
    for tool in ("psql", "pg_restore"):
        if shutil.which(tool) is None:
            raise BackupError(f"{tool} is not installed (postgresql-client)")
    # Error output goes to files, not pipes: nothing can fill a pipe and stall the other side.
    with tempfile.TemporaryFile() as psql_err, tempfile.TemporaryFile() as restore_err:
        psql = subprocess.Popen(  # noqa: S603  (fixed argv, no shell)
            psql_argv,
            env=server.env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=psql_err,
        )
        feed = psql.stdin
        restore_code = None
        try:
            feed.write(_CLEAR_SCHEMA.encode())
            feed.flush()
            restore = subprocess.Popen(  # noqa: S603
                restore_argv, env=server.env(), stdout=feed, stderr=restore_err
            )
            restore_code = restore.wait()
        except BrokenPipeError:
            pass  # psql stopped on an error; its own message says which
        finally:
            if restore_code != 0 and psql.poll() is None:
                # psql commits when its input ends: stop it first, so the half-fed transaction
                # dies with the connection instead.
                psql.kill()
            with suppress(BrokenPipeError):
                feed.close()
            psql.wait()
        if restore_code not in (None, 0):
            restore_err.seek(0)
            raise BackupError(
                "pg_restore failed, nothing was changed: "
                + restore_err.read().decode("utf-8", "replace").strip()
            )
        if psql.returncode != 0:
            psql_err.seek(0)
            raise BackupError(
                "PostgreSQL restore failed and was rolled back: "
                + psql_err.read().decode("utf-8", "replace").strip()
            )


@contextmanager
def throwaway_postgres(server: PgServer) -> Iterator[PgServer]:
    """A fresh, empty database on the same server, dropped afterwards whatever happens."""
    name = f"fengqiao_drill_{uuid.uuid4().hex[:12]}"
    with closing(server.connect(autocommit=True)) as admin:
        try:
            admin.execute(f"CREATE DATABASE {_quote(name)} TEMPLATE template0")
        except psycopg.Error as exc:
            raise BackupError(
                f"cannot create a throw-away database for the drill (CREATEDB needed): {exc}"
            ) from exc
        try:
            yield server.with_database(name)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
