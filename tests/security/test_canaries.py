"""Canaries (SECURITY 17, 18, 19): personal data, tip content and the reporter's client address,
sent through the real entry points, are found in the clear nowhere.

Every canary is unique to the run: Chinese names, 18-digit ID numbers with a valid check digit,
mobiles, addresses, tip text, file names and picture metadata (EXIF, XPAuthor, GPS, comment),
and client addresses in ``REMOTE_ADDR``, ``X-Forwarded-For`` and ``X-Real-IP``. The tests commit
for real (transactional), then search:

- the database as stored: the SQLite file with its ``-wal`` and ``-shm`` (before and after a
  checkpoint) or a plain ``pg_dump`` on PostgreSQL, for the UTF-8 bytes and, for Chinese, the
  UTF-16-LE bytes and the JSON ``\\uXXXX`` escapes; session data is decoded and searched too;
- everything ``logging`` emits with the root at DEBUG (a handler at the root and at every
  logger that does not propagate), and every SQL statement with its parameters;
- job payloads: the Huey queue's own storage (``huey.sqlite3``: tasks really go through it and
  a drain runs them, as a worker would) and every serialised task, plus the outbox table;
- the audit rows, the file cache (unpacked), and the stored case pictures.

Plaintext by design, and used as controls that prove the scan sees committed rows: a case's
description and an attachment's file name (SECURITY 17 seals the parties' identifiers, not the
account of the matter), a tip's staff reference. For cases the client address serves only as a
hashed rate-limit key (``cases.views.public``) and must not reach the database, the queue or the
audit rows; the access log the law asks for is the proxy's (``fengqiao serve`` starts gunicorn
without one). The tip line's address and browser string must be nowhere, logs and cache included.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import pickle
import re
import secrets
import subprocess
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from huey.contrib.djhuey import HUEY
from huey.storage import SqliteStorage
from PIL import Image

from fengqiao.accounts.roles import Role
from fengqiao.api import services as key_services
from fengqiao.cases import services as case_services
from fengqiao.cases.models import Attachment, Case, Category, Channel, Party, PartyRole
from fengqiao.core import crypto
from fengqiao.core.management.commands import serve
from fengqiao.core.models import AuditEvent
from fengqiao.core.validators import id_number_check_char
from fengqiao.regions.models import UnitKind
from fengqiao.tips import receipts
from fengqiao.tips import services as tip_services
from fengqiao.tips.models import Accused, Tip, TipAttachment, TipMessage
from personas import FENGQIAO_TOWN, FENGYUAN_VILLAGE, SHAOXING, ZHUJI, make_persona

# Committed for real, so what would reach the disk does (the teardown flushes every table).
committed = pytest.mark.django_db(transaction=True)

# Routed to the 枫桥镇 command room, so the town operator owns and may reveal its parties.
HAZARD = "hazard.public_safety"
SAME_ORIGIN = {"HTTP_SEC_FETCH_SITE": "same-origin"}
RECEIPT = re.compile(r"\d{4}-\d{4}-\d{4}-\d{4}-\d{4}-\d")
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
REPLY_TOKEN = re.compile(
    r'action="/tips/public/lookup/reply/".*?name="form_token" value="([^"]+)"', re.S
)
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"


# --- canaries -----------------------------------------------------------------------------------


def cjk(length: int) -> str:
    """Random characters of the CJK Unified Ideographs block: found nowhere by chance."""
    return "".join(chr(0x4E00 + secrets.randbelow(0x9FA5 - 0x4E00)) for _ in range(length))


def person_name() -> str:
    return secrets.choice(SURNAMES) + cjk(3)


def id_number() -> str:
    """An 18-character resident ID number of 诸暨市 whose GB 11643 check character is right."""
    born = date(1950, 1, 1) + timedelta(days=secrets.randbelow(365 * 50))
    first17 = f"330681{born:%Y%m%d}{secrets.randbelow(1000):03d}"
    return first17 + id_number_check_char(first17)


def mobile() -> str:
    return "1" + secrets.choice("3456789") + f"{secrets.randbelow(10**9):09d}"


def spaced(phone: str) -> str:
    """A mobile as people type it (138 1234 5678)."""
    return f"{phone[:3]} {phone[3:7]} {phone[7:]}"


def home_address() -> str:
    return f"诸暨市枫桥镇{cjk(3)}路{secrets.randbelow(900) + 100}号{cjk(2)}"


def ipv6() -> str:
    """A unique documentation address, written as a database would normalise it."""
    a, b, c = (secrets.randbelow(0xFFFF) + 1 for _ in range(3))
    return f"2001:db8:{a:x}:{b:x}::{c:x}"


def token() -> str:
    return secrets.token_hex(8)


@dataclass
class ClientTrace:
    """The identifying parts of one client's requests, and the markers they must not leave."""

    address: str = field(default_factory=ipv6)
    forwarded: str = field(default_factory=ipv6)
    real_ip: str = field(default_factory=ipv6)
    browser: str = field(default_factory=lambda: f"CanaryBrowser/{token()}")

    def headers(self) -> dict[str, str]:
        return {
            "REMOTE_ADDR": self.address,
            "HTTP_X_FORWARDED_FOR": f"{self.forwarded}, 203.0.113.7",
            "HTTP_X_REAL_IP": self.real_ip,
            "HTTP_USER_AGENT": self.browser,
        }

    def markers(self, prefix: str) -> dict[str, str]:
        return {
            f"{prefix} REMOTE_ADDR": self.address,
            f"{prefix} X-Forwarded-For": self.forwarded,
            f"{prefix} X-Real-IP": self.real_ip,
            f"{prefix} browser string": self.browser,
        }


def picture(*, ascii_marker: str, cjk_marker: str) -> bytes:
    """A JPEG carrying the markers where phones and editors put metadata: EXIF description and
    artist, the Windows XPAuthor tag (UTF-16-LE), a GPS block and a JPEG comment (UTF-8)."""
    image = Image.new("RGB", (24, 16), (180, 90, 40))
    exif = Image.Exif()
    exif[0x010E] = ascii_marker  # ImageDescription
    exif[0x013B] = ascii_marker  # Artist
    exif[0x9C9D] = (cjk_marker + "\0").encode("utf-16-le")  # XPAuthor
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (29.0, 39.0, 51.0)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif, comment=cjk_marker.encode())
    raw = buffer.getvalue()
    # The carrier works: the markers are in the file as sent.
    assert ascii_marker.encode() in raw and cjk_marker.encode() in raw
    assert cjk_marker.encode("utf-16-le") in raw
    return raw


# --- where plaintext could land -----------------------------------------------------------------


def byte_forms(value: str) -> dict[str, bytes]:
    """The ways a string can sit in a file: UTF-8, UTF-16-LE, and for non-ASCII text the JSON
    escapes (lower- and upper-case hex, and doubled backslashes as COPY writes them)."""
    forms = {"utf-8": value.encode(), "utf-16-le": value.encode("utf-16-le")}
    if not value.isascii():
        escaped = json.dumps(value)[1:-1]
        forms["json-escaped"] = escaped.encode()
        forms["JSON-ESCAPED"] = re.sub(
            r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), escaped
        ).encode()
        forms["copy-escaped"] = escaped.replace("\\", "\\\\").encode()
    return forms


def text_forms(value: str) -> dict[str, str]:
    """The ways a string can sit in text: as itself, and for non-ASCII text JSON-escaped or as
    the repr of its encoded bytes (a log line quoting ``b'...'``)."""
    forms = {"text": value}
    if not value.isascii():
        forms["json-escaped"] = json.dumps(value)[1:-1]
        for encoding in ("utf-8", "utf-16-le"):
            inner = repr(value.encode(encoding))[2:-1]
            forms[f"{encoding} bytes repr"] = inner
            if "\\'" in inner:
                forms[f"{encoding} bytes repr, quote unescaped"] = inner.replace("\\'", "'")
    return forms


@dataclass
class Leaks:
    """Every plaintext hit, collected so one failure lists all of them."""

    found: list[str] = field(default_factory=list)

    def in_bytes(self, where: str, blob: bytes, markers: dict[str, str]) -> None:
        for label, value in markers.items():
            for form, needle in byte_forms(value).items():
                if needle in blob:
                    self.found.append(f"{where}: {label} ({form})")

    def in_text(self, where: str, text: str, markers: dict[str, str]) -> None:
        for label, value in markers.items():
            for form, needle in text_forms(value).items():
                if needle in text:
                    self.found.append(f"{where}: {label} ({form})")

    def assert_none(self) -> None:
        assert not self.found, "plaintext found:\n" + "\n".join(self.found)


def checkpoint() -> None:
    """Move the WAL into the database file and empty it (SQLite); nothing on PostgreSQL."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        busy, _log, _done = cursor.fetchone()
    assert busy == 0, "a reader kept the WAL from being checkpointed"


def sqlite_files() -> list[Path]:
    path = Path(connection.settings_dict["NAME"])
    return [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")]


def read_files(paths: list[Path]) -> bytes:
    return b"".join(p.read_bytes() for p in paths if p.exists())


def pg_dump() -> bytes:
    """A plain-format dump of the test database, as a backup or an attacker would read it."""
    db = connection.settings_dict
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    command = ["pg_dump", "--format=plain", "--no-owner", "--no-privileges"]
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            command += [option, str(db[key])]
    command.append(str(db["NAME"]))
    return subprocess.run(command, env=env, check=True, capture_output=True, timeout=300).stdout  # noqa: S603


def stored_database(*, unmerged_wal: bool = True) -> bytes:
    """The database as it sits on disk (SQLite: the files, before and after a checkpoint) or as
    a dump takes it (PostgreSQL), followed by every session's decoded data.

    ``unmerged_wal=False`` reads the SQLite files only after the checkpoint: before it, the
    database file still holds the pages as they were before the WAL's latest writes.
    """
    if connection.vendor == "sqlite":
        before = read_files(sqlite_files()) if unmerged_wal else b""
        checkpoint()
        blob = before + read_files(sqlite_files())
    else:
        blob = pg_dump()
    sessions = [json.dumps(s.get_decoded(), ensure_ascii=False) for s in Session.objects.all()]
    return blob + "\n".join(sessions).encode()


def audit_text() -> str:
    rows = AuditEvent.objects.order_by("id").values()
    return json.dumps(list(rows), default=str, ensure_ascii=False)


def outbox_text() -> str:
    """The outbox rows (name, key, args …), or "" while the table does not exist."""
    try:
        model = apps.get_model("core", "OutboxJob")
    except LookupError:
        model = None
    if model is not None:
        return json.dumps(list(model.objects.values()), default=str, ensure_ascii=False)
    with connection.cursor() as cursor:
        if "core_outboxjob" not in connection.introspection.table_names(cursor):
            return ""
        cursor.execute("SELECT * FROM core_outboxjob")
        return repr(cursor.fetchall())


def cache_bytes() -> bytes:
    """The file cache's entries as stored and unpacked: each file is a pickled expiry followed
    by the zlib-compressed pickled value, which a byte search of the file alone cannot see."""
    location = Path(settings.CACHES["default"].get("LOCATION", ""))
    if not location.is_dir():
        return b""
    contents = []
    for path in sorted(p for p in location.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        contents.append(raw)
        with io.BytesIO(raw) as entry:
            try:
                pickle.load(entry)  # noqa: S301  (our own cache files)
                contents.append(zlib.decompress(entry.read()))
            except (pickle.UnpicklingError, EOFError, zlib.error):
                continue
    return b"\n".join(contents)


# --- logs ---------------------------------------------------------------------------------------

_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class LogCollector(logging.Handler):
    """Every record that reaches a handler, formatted, with any extra attributes it carries."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record) -> None:
        extras = {k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS}
        self.lines.append(f"{self.format(record)} {extras!r}")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def captured_logs() -> Iterator[LogCollector]:
    """Attach a collector at the root and at every logger that does not pass records up, with
    the root at DEBUG: as verbose as FENGQIAO_LOG_LEVEL=DEBUG makes it (loggers the settings
    pin keep their level)."""
    collector = LogCollector()
    root = logging.getLogger()
    loggers = [root] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    for logger in loggers:
        logger.addHandler(collector)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        logging.getLogger("fengqiao.canary").warning("log capture control")
        yield collector
    finally:
        root.setLevel(level)
        for logger in loggers:
            logger.removeHandler(collector)
    assert "log capture control" in collector.text


@dataclass
class Statements:
    """Every SQL statement sent, with its parameters: what a database server's statement log
    (``log_min_duration_statement``, ``auto_explain``) would keep."""

    lines: list[str] = field(default_factory=list)

    def __call__(self, execute, sql, params, many, context):
        self.lines.append(f"{sql} {params!r}")
        return execute(sql, params, many, context)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def captured_statements() -> Iterator[Statements]:
    statements = Statements()
    with connection.execute_wrapper(statements):
        yield statements
    assert "INSERT INTO" in statements.text


# --- jobs ---------------------------------------------------------------------------------------


@dataclass
class JobQueue:
    """Tasks go through the configured Huey storage (``huey.sqlite3``) and are run by draining
    it, as a worker would; every task is also kept serialised, as a worker would read it."""

    payloads: list[bytes] = field(default_factory=list)
    ran: int = 0

    @property
    def storage_files(self) -> list[Path]:
        storage = HUEY.storage
        if not isinstance(storage, SqliteStorage):
            return []
        return [Path(f"{storage.filename}{suffix}") for suffix in ("", "-wal", "-shm")]

    def drain(self) -> None:
        if HUEY.immediate:
            return
        for _ in range(200):
            task = HUEY.dequeue()
            if task is None:
                return
            HUEY.execute(task)
            self.ran += 1
        raise AssertionError("the job queue did not drain")

    def stored(self) -> bytes:
        return b"\n".join(self.payloads) + read_files(self.storage_files)


@pytest.fixture
def job_queue(monkeypatch) -> Iterator[JobQueue]:
    queue = JobQueue()
    original = HUEY.enqueue

    def enqueue(task):
        queue.payloads.append(HUEY.serialize_task(task))
        return original(task)

    monkeypatch.setattr(HUEY, "enqueue", enqueue)
    was_immediate = HUEY.immediate
    # Tests run Huey in immediate mode (in memory). The SqliteHuey file lives under this run's
    # FENGQIAO_VAR_DIR, one per parallel test process as the cache is; a Redis queue may be
    # shared with others, so it stays immediate there.
    if HUEY.storage_class is SqliteStorage:
        filename = Path(settings.HUEY["filename"])
        if worker := os.environ.get("PYTEST_XDIST_WORKER"):
            filename = filename.with_name(f"{filename.stem}-{worker}{filename.suffix}")
        monkeypatch.setattr(
            HUEY, "storage_kwargs", {**HUEY.storage_kwargs, "filename": str(filename)}
        )
        HUEY.immediate = False
        HUEY.flush()  # nothing left over from an interrupted run
    try:
        yield queue
        queue.drain()
    finally:
        HUEY.immediate = was_immediate


# --- scans --------------------------------------------------------------------------------------


@pytest.fixture
def generous_limits(settings):
    settings.CASES_REPORT_RATE = "1000/m"
    settings.CASES_REPORT_RATE_TOTAL = "1000/m"
    settings.TIPS_SUBMIT_RATE = "1000/m"
    settings.TIPS_LOOKUP_RATE = "1000/m"


def stored_case_files() -> bytes:
    contents = []
    for attachment in Attachment.objects.all():
        with attachment.file.open("rb") as handle:
            contents.append(handle.read())
    return b"".join(contents)


def remove_case_files() -> None:
    for attachment in Attachment.objects.all():
        attachment.file.delete(save=False)


def personal_markers(prefix: str, values: dict[str, str]) -> dict[str, str]:
    return {f"{prefix} {label}": value for label, value in values.items()}


# --- cases --------------------------------------------------------------------------------------


def party_fields(role: str = "applicant") -> dict[str, str]:
    return {"role": role, "name": person_name(), "id_number": id_number(), "phone": mobile(),
            "address": home_address()}  # fmt: skip


@committed
def test_case_intake_keeps_parties_sealed_and_the_citizens_address_nowhere(
    job_queue, generous_limits
):
    """Citizen form, operator intake with parties, API create, Open311 POST, a reveal."""
    operator = make_persona(
        f"canary_op_{token()}", Role.TOWN_OPERATOR, UnitKind.COMMAND_ROOM, FENGQIAO_TOWN
    )
    citizen, system = ClientTrace(), ClientTrace()
    personal: dict[str, str] = {}
    controls = {
        "description": f"CANARY-CASE-DESCRIPTION-{token()} 路灯不亮{cjk(4)}",
        "attachment name": f"CANARY-FILE-{token()}-{cjk(3)}",
    }
    exif = {"EXIF ascii": f"CANARY-EXIF-{token()}", "EXIF cjk": cjk(6)}
    codes: list[str] = []
    try:
        with captured_logs() as logs, captured_statements() as sql:
            # 1. The citizen's form: reporter's name and phone, a photo full of metadata.
            reporter = {"name": person_name(), "phone": mobile()}
            personal |= personal_markers("citizen form", reporter)
            photo = SimpleUploadedFile(
                f"{controls['attachment name']}.jpg",
                picture(ascii_marker=exif["EXIF ascii"], cjk_marker=exif["EXIF cjk"]),
                content_type="image/jpeg",
            )
            response = Client().post(
                "/report/",
                {
                    "category": HAZARD,
                    "description": controls["description"],
                    "county": ZHUJI,
                    "town": FENGQIAO_TOWN,
                    "village": FENGYUAN_VILLAGE,
                    "contact_name": reporter["name"],
                    "contact_phone": spaced(reporter["phone"]),
                    "photo": photo,
                },
                **citizen.headers(),
            )
            assert response.status_code == 302, response.content.decode()[:2000]
            codes.append(response["Location"].split("/")[2])
            personal["citizen form phone as typed"] = spaced(reporter["phone"])

            # 2. The operator's form with two parties (as typed: spaces in the numbers).
            first, second = party_fields(), party_fields("respondent")
            data = {
                "channel": "walk_in",
                "category": HAZARD,
                "title": "宅基地纠纷",
                "description": controls["description"],
                "region_code": FENGYUAN_VILLAGE,
                "severity": "1",
                "urgency": "normal",
                "party-TOTAL_FORMS": "2",
                "party-INITIAL_FORMS": "0",
                "party-MIN_NUM_FORMS": "0",
                "party-MAX_NUM_FORMS": "10",
            }
            for index, party in enumerate((first, second)):
                for key in ("role", "name", "id_number", "address"):
                    data[f"party-{index}-{key}"] = party[key]
                data[f"party-{index}-phone"] = spaced(party["phone"])
                personal |= personal_markers(
                    f"operator party {index}",
                    {k: v for k, v in party.items() if k != "role"}
                    | {"phone as typed": spaced(party["phone"])},
                )
            response = operator.client.post("/cases/new/", data, **system.headers())
            assert response.status_code == 302, response.content.decode()[:3000]
            case = Case.objects.filter(channel=Channel.WALK_IN).get()
            codes.append(case.code)

            # 3. A reveal of the first party's ID number: shown once, audited without the value.
            party = Party.objects.filter(case=case).order_by("id").first()
            revealed = operator.client.post(
                f"/cases/{case.code}/parties/{party.public_id}/reveal/",
                {"field": "id_number"},
                **system.headers(),
            )
            assert revealed.status_code == 200 and first["id_number"] in revealed.content.decode()

            # 4. The API with a party and an Idempotency-Key.
            api_party = party_fields()
            personal |= personal_markers(
                "api party", {k: v for k, v in api_party.items() if k != "role"}
            )
            response = operator.client.post(
                "/api/v1/cases",
                {
                    "category": HAZARD,
                    "title": "路灯损坏",
                    "description": controls["description"],
                    "region_code": FENGYUAN_VILLAGE,
                    "parties": [api_party],
                },
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=f"canary-{token()}",
                **system.headers(),
            )
            assert response.status_code == 201, response.content
            codes.append(response.json()["code"])

            # 5. Open311: the reporter's name in two halves, a phone, an e-mail nobody keeps.
            _key_client, api_key = key_services.create_client(
                name="12345 热线平台", region_code=SHAOXING, actor=None, membership=None
            )
            open311 = {"last_name": secrets.choice(SURNAMES), "first_name": cjk(3)}
            personal |= {
                "open311 name": open311["last_name"] + open311["first_name"],
                "open311 phone": mobile(),
                "open311 e-mail": f"canary-{token()}@example.com",
            }
            response = Client().post(
                "/open311/v2/requests.json",
                {
                    "api_key": api_key,
                    "service_code": HAZARD,
                    "address_id": FENGYUAN_VILLAGE,
                    "description": controls["description"],
                    **open311,
                    "phone": personal["open311 phone"],
                    "email": personal["open311 e-mail"],
                },
                **citizen.headers(),
            )
            assert response.status_code == 201, response.content
            codes.append(response.json()[0]["service_request_id"])
            job_queue.drain()

        assert Case.objects.filter(code__in=codes).count() == 4
        assert Party.objects.count() == 5
        # Every sealed value reads back: what is searched for is what was stored.
        stored = {p.name for p in Party.objects.all()} | {p.phone for p in Party.objects.all()}
        assert {personal["open311 name"], reporter["name"], first["phone"]} <= stored

        leaks = Leaks()
        database = stored_database()
        # Controls: the scan sees the committed rows (plaintext by design, SECURITY 17).
        for label, value in controls.items():
            assert value.encode() in database, f"control not found: {label}"
        content = personal | exif
        leaks.in_bytes("database", database, content)
        leaks.in_bytes("stored pictures", stored_case_files(), exif)
        leaks.in_text("logs", logs.text, content)
        leaks.in_text("SQL parameters", sql.text, content)
        leaks.in_bytes("job payloads", job_queue.stored(), content)
        leaks.in_text("outbox", outbox_text(), content)
        leaks.in_text("audit rows", audit_text(), content)
        # The citizen's address: a hashed rate-limit key only, never stored with the case.
        addresses = citizen.markers("citizen")
        leaks.in_bytes("database", database, addresses)
        leaks.in_text("SQL parameters", sql.text, addresses)
        leaks.in_bytes("job payloads", job_queue.stored(), addresses)
        leaks.in_text("outbox", outbox_text(), addresses)
        leaks.in_text("audit rows", audit_text(), addresses)
        leaks.in_bytes("cache", cache_bytes(), addresses | content)
        leaks.assert_none()
    finally:
        remove_case_files()


# --- tips ---------------------------------------------------------------------------------------


@committed
def test_tip_content_is_sealed_and_the_reporter_leaves_no_trace(job_queue, generous_limits):
    """Tip form with accused, officials, real name and a picture; API tip with a picture; the
    reporter's reply with a picture; a handler's message and internal note."""
    handler = make_persona(
        f"canary_ag_{token()}", Role.ANTI_GANG_HANDLER, UnitKind.ANTI_GANG_OFFICE, ZHUJI
    )
    reporter, api_reporter, staff = ClientTrace(), ClientTrace(), ClientTrace()
    tip_text = {
        "description": f"CANARY-TIP-{token()} {cjk(8)}",
        "place": f"{cjk(4)}桥头CANARY-PLACE-{token()}",
        "officials": f"{cjk(3)}副所长CANARY-OFFICIAL-{token()}",
        "reporter name": person_name(),
        "reporter contact": mobile(),
        "accused name": person_name(),
        "accused nickname": f"{cjk(2)}哥",
        "accused ID number": id_number(),
        "accused address": home_address(),
        "accused workplace": f"{cjk(4)}建筑公司",
        "file name": f"IMG_CANARY_{token()}_{cjk(3)}",
        "EXIF ascii": f"CANARY-EXIF-{token()}",
        "EXIF cjk": cjk(6),
        "api description": f"{cjk(10)} CANARY-API-{token()}",
        "api accused name": person_name(),
        "api accused ID number": id_number(),
        "api file name": f"CANARY-API-FILE-{token()}-{cjk(2)}",
        "reply": f"{cjk(6)} CANARY-REPLY-{token()}",
        "reply file name": f"CANARY-REPLY-FILE-{token()}",
        "message": f"{cjk(6)} CANARY-MESSAGE-{token()}",
        "note": f"{cjk(6)} CANARY-NOTE-{token()}",
    }
    idempotency_key = f"canary-idempotency-{token()}"
    anonymous = Client()
    with captured_logs() as logs, captured_statements() as sql:
        # 1. The tip form, as a browser fills it (the token comes from the page).
        page = anonymous.get("/tips/public/report/", **reporter.headers())
        form_token = FORM_TOKEN.search(page.content.decode()).group(1)
        jpeg = picture(ascii_marker=tip_text["EXIF ascii"], cjk_marker=tip_text["EXIF cjk"])
        response = anonymous.post(
            "/tips/public/report/",
            {
                "form_token": form_token,
                "category": "industry_monopoly",
                "county": ZHUJI,
                "town": FENGQIAO_TOWN,
                "village": FENGYUAN_VILLAGE,
                "place_text": tip_text["place"],
                "description": tip_text["description"],
                "officials_involved": "on",
                "officials_level": "village",
                "officials_text": tip_text["officials"],
                "is_real_name": "on",
                "reporter_name": tip_text["reporter name"],
                "reporter_contact": tip_text["reporter contact"],
                "accused-TOTAL_FORMS": "1",
                "accused-INITIAL_FORMS": "0",
                "accused-MIN_NUM_FORMS": "0",
                "accused-MAX_NUM_FORMS": "20",
                "accused-0-name": tip_text["accused name"],
                "accused-0-nickname": tip_text["accused nickname"],
                "accused-0-id_number": tip_text["accused ID number"],
                "accused-0-address": tip_text["accused address"],
                "accused-0-workplace": tip_text["accused workplace"],
                "files": [SimpleUploadedFile(f"{tip_text['file name']}.jpg", jpeg, "image/jpeg")],
            },
            **reporter.headers(),
            **SAME_ORIGIN,
        )
        assert response.status_code == 200, response.content.decode()[:2000]
        receipt = RECEIPT.search(response.content.decode()).group(0)

        # 2. The API, with an accused person, a picture and an Idempotency-Key.
        response = Client().post(
            "/api/v1/tips",
            {
                "description": tip_text["api description"],
                "region_code": FENGYUAN_VILLAGE,
                "accused": [
                    {
                        "name": tip_text["api accused name"],
                        "id_number": tip_text["api accused ID number"],
                    }
                ],
                "attachments": [
                    {
                        "filename": f"{tip_text['api file name']}.jpg",
                        "content_base64": base64.b64encode(jpeg).decode(),
                    }
                ],
            },
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=idempotency_key,
            **api_reporter.headers(),
        )
        assert response.status_code == 201, response.content
        api_receipt = response.json()["receipt"]

        # 3. The reporter checks back and replies with a picture.
        page = anonymous.get("/tips/public/lookup/", **reporter.headers())
        status = anonymous.post(
            "/tips/public/lookup/",
            {"form_token": FORM_TOKEN.search(page.content.decode()).group(1), "receipt": receipt},
            **reporter.headers(),
            **SAME_ORIGIN,
        )
        assert status.status_code == 200
        response = anonymous.post(
            "/tips/public/lookup/reply/",
            {
                "form_token": REPLY_TOKEN.search(status.content.decode()).group(1),
                "receipt": receipt,
                "body": tip_text["reply"],
                "files": [SimpleUploadedFile(f"{tip_text['reply file name']}.jpg", jpeg)],
            },
            **reporter.headers(),
            **SAME_ORIGIN,
        )
        assert response.status_code == 200, response.content.decode()[:2000]

        # 4. The handler writes to the reporter and adds an internal note.
        tip = Tip.objects.unscoped_all().filter(channel="web").get()
        for path, field_name, text in (
            ("messages", "message-body", tip_text["message"]),
            ("notes", "note-body", tip_text["note"]),
        ):
            response = handler.client.post(
                f"/tips/{tip.public_id}/{path}/", {field_name: text}, **staff.headers()
            )
            assert response.status_code == 302, response.content.decode()[:2000]
        assert handler.client.get(f"/tips/{tip.public_id}/").status_code == 200
        job_queue.drain()

    # What was searched for is what was stored (sealed, readable with the tip's key).
    assert Tip.objects.unscoped_all().count() == 2
    assert tip.description == tip_text["description"]
    assert Accused.objects.filter(tip=tip).get().id_number == tip_text["accused ID number"]
    assert TipAttachment.objects.count() == 3
    assert TipMessage.objects.filter(tip=tip).count() == 2

    database = stored_database()
    assert tip.reference.encode() in database, "control not found: the tip's reference"
    client_markers = (
        reporter.markers("reporter")
        | api_reporter.markers("API reporter")
        | {"receipt": receipt, "API receipt": api_receipt, "Idempotency-Key": idempotency_key}
        | {"receipt digits": receipts.canonical(receipt)}
    )
    leaks = Leaks()
    markers = tip_text | client_markers
    leaks.in_bytes("database", database, markers)
    leaks.in_text("logs", logs.text, markers)
    leaks.in_text("SQL parameters", sql.text, markers)
    leaks.in_bytes("job payloads", job_queue.stored(), markers)
    leaks.in_text("outbox", outbox_text(), markers)
    leaks.in_text("audit rows", audit_text(), markers)
    leaks.in_bytes("cache", cache_bytes(), markers)
    leaks.assert_none()


# --- deleted canaries (SECURITY 18) -------------------------------------------------------------


def raw_values(table: str, columns: list[str], pk: int) -> list[str]:
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quoted} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return [str(v) for v in cursor.fetchone() if v]


@committed
def test_deleted_parties_and_tips_are_gone_from_disk_after_a_checkpoint():
    """No service removes a party or purges a tip yet: the rows are deleted directly (the tip
    after its data key was destroyed, as crypto-shredding does). With secure_delete and a
    truncating checkpoint, neither the ciphertexts nor the plain columns of the deleted rows are
    left in the SQLite file; a dump taken after the deletion has none of them either."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete")
            assert cursor.fetchone()[0] == 1
    description = f"CANARY-DELETED-CASE-{token()} {cjk(4)}"
    party = case_services.PartyData(
        role=PartyRole.APPLICANT,
        name=person_name(),
        id_number=id_number(),
        phone=mobile(),
        address=home_address(),
    )
    case = case_services.report_case(
        data=case_services.IntakeData(
            category=Category.objects.get(code=HAZARD),
            channel=Channel.WALK_IN,
            title="待删除",
            description=description,
            region_code=FENGYUAN_VILLAGE,
            parties=[party],
        )
    )
    stored_party = Party.objects.get(case=case)
    submission = tip_services.submit_tip(
        description=f"CANARY-DELETED-TIP-{token()} {cjk(6)}",
        region_code=FENGYUAN_VILLAGE,
        accused=[tip_services.AccusedInput(name=person_name(), id_number=id_number())],
    )
    tip = submission.tip
    accused = Accused.objects.get(tip=tip)
    # What stays on disk for these rows: the plain columns and the ciphertexts.
    remnants = {
        "case description": description,
        "tip reference": tip.reference,
        "tip receipt HMAC": tip.receipt_hmac,
    }
    for column, value in zip(
        ["name", "id_number", "phone", "address"],
        raw_values("cases_party", ["name", "id_number", "phone", "address"], stored_party.pk),
        strict=True,
    ):
        remnants[f"party {column} ciphertext"] = value
    for column, value in zip(
        ["description", "data_key"],
        raw_values("tips_tip", ["description", "data_key"], tip.pk),
        strict=True,
    ):
        remnants[f"tip {column} ciphertext"] = value
    remnants["accused name ciphertext"] = raw_values("tips_accused", ["name"], accused.pk)[0]
    plaintext = {
        "party name": party.name,
        "party ID number": party.id_number,
        "accused name": accused.name,
        "tip description": tip.description,
    }

    before = stored_database()
    missing = [label for label, value in remnants.items() if value.encode() not in before]
    assert not missing, f"the scan does not see the committed rows: {missing}"
    leaks = Leaks()
    leaks.in_bytes("database before deletion", before, plaintext)
    leaks.assert_none()

    # Party removal, then the case; the tip is shredded (its key destroyed), then deleted.
    stored_party.delete()
    Case.objects.filter(pk=case.pk).delete()
    Tip.objects.filter(pk=tip.pk).update(data_key=None)
    with pytest.raises(crypto.CryptoError):
        _ = Tip.objects.unscoped_all().get(pk=tip.pk).description
    Tip.objects.filter(pk=tip.pk).delete()

    after = stored_database(unmerged_wal=False)
    left = [label for label, value in remnants.items() if value.encode() in after]
    assert not left, f"deleted data still on disk: {left}"


# --- access logs --------------------------------------------------------------------------------


def test_the_web_server_writes_no_access_log(monkeypatch):
    """Request lines carry client addresses: ``fengqiao serve`` starts gunicorn without an
    access log (the law's log is the proxy's, per route; never for the tip line)."""
    started: list[list[str]] = []

    class Exited:
        returncode = 0

        def __init__(self, argv: list[str]) -> None:
            started.append(argv)

        def poll(self) -> int:
            return 0

        def wait(self, timeout: float | None = None) -> int:
            return 0

    monkeypatch.setattr(serve.subprocess, "Popen", Exited)
    monkeypatch.setattr(serve.signal, "signal", lambda *args: None)
    call_command("serve", "--no-worker", "--bind", "127.0.0.1:8230")
    [argv] = started
    assert "gunicorn" in argv
    assert not [a for a in argv if a.startswith(("--access-log", "--log-config"))], argv
    assert "--access-logfile" not in os.environ.get("GUNICORN_CMD_ARGS", "")
    # gunicorn reads ./gunicorn.conf.py by default; the project ships none.
    assert not (settings.PROJECT_DIR / "gunicorn.conf.py").exists()
