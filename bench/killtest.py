"""Kill test: SIGKILL the server at random during submissions; nothing acknowledged may be lost.

Run:  .venv/bin/python bench/killtest.py [--submissions 300] [--kills 5] [--prove]
          [--database-url postgres://postgres@127.0.0.1:5432/fq_killtest]

What it does (SECURITY 24–26):

- builds a fresh database (SQLite in a temp dir, or the named PostgreSQL database, dropped and
  created): migrations, the shipped Shaoxing divisions, demo units, an API token of a town
  command room;
- starts gunicorn (2 sync workers) and the Huey consumer, each in its own process group;
- client threads submit cases (``POST /api/v1/cases`` with the token) and anonymous tips
  (``POST /api/v1/tips``), each with its own ``Idempotency-Key`` and a marker in its text, and
  retry the same request until they get an acknowledgement (201). One request in ten is sent and
  then abandoned without reading the answer — a lost acknowledgement — so the retry is a replay;
- at evenly spread moments (plus random jitter) the server and the consumer are SIGKILLed and
  restarted;
- at the end, the outbox is drained once and the database is checked: every acknowledged case
  code and tip receipt is there exactly once (markers counted), ``PRAGMA integrity_check`` is ok,
  the audit chain verifies, and every outbox job (one per tip) is done once.

``--prove`` first runs two deliberately broken servers in the same harness — one that acknowledges
before it commits, one that ignores the key — and fails unless the harness catches both (lost > 0,
duplicates > 0): the test is shown able to fail. The last line is always ``lost=N duplicates=M``
for the real server; the exit status is non-zero when anything is wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import ROOT, configure  # noqa: E402

MARKER = re.compile(r"KT-[0-9a-f]{32}")
# Share of submissions whose first answer the client throws away, so that its retry is a replay.
ABANDON_SHARE = 0.1


# --- the database -------------------------------------------------------------------------------


@dataclass
class Target:
    """Where the run's database lives, and how to reset it from the prepared template."""

    var_dir: Path
    database_url: str  # "" for SQLite under var_dir
    token: str = ""
    village: str = ""

    @property
    def sqlite_path(self) -> Path:
        return self.var_dir / "fengqiao.sqlite3"

    @property
    def template_path(self) -> Path:
        return self.var_dir / "template.sqlite3"

    def pg_params(self) -> tuple[dict, str]:
        from django.db import connection

        params = connection.settings_dict
        admin = {
            "host": params["HOST"] or "127.0.0.1",
            "port": params["PORT"] or 5432,
            "user": params["USER"],
            "password": params["PASSWORD"] or None,
            "dbname": "postgres",
            "autocommit": True,
        }
        return admin, params["NAME"]


def prepare(target: Target) -> None:
    """Migrate and load the spine once; later runs start from a copy of this state."""
    from django.core.management import call_command
    from django.db import connection

    from fengqiao.accounts import services as accounts
    from fengqiao.accounts.models import Membership, User
    from fengqiao.regions import services as regions
    from fengqiao.regions.models import Region, Unit

    if target.database_url:
        import psycopg

        admin, name = target.pg_params()
        connection.close()
        with psycopg.connect(**admin) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}_template" WITH (FORCE)')
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            db.execute(f'CREATE DATABASE "{name}"')
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target.sqlite_path}{suffix}").unlink(missing_ok=True)
    call_command("migrate", verbosity=0)
    regions.load_shipped_divisions()
    regions.build_demo_structure()
    unit = Unit.objects.filter(kind="command_room", level="town", region_code="330681109").first()
    user = User.objects.create_user(username="killtest", password=uuid.uuid4().hex)
    membership = Membership.objects.create(
        user=user, unit=unit, role="town_operator", region_code=unit.region_code
    )
    _token, target.token = accounts.create_token(
        user=user, membership=membership, name="killtest", lifetime_days=30
    )
    target.village = (
        Region.objects.filter(level="village").within(unit.region_code).order_by("code")[0].code
    )
    connection.close()
    if target.database_url:
        import psycopg

        admin, name = target.pg_params()
        with psycopg.connect(**admin) as db:
            db.execute(f'CREATE DATABASE "{name}_template" TEMPLATE "{name}"')
    else:
        with (
            sqlite3.connect(target.sqlite_path) as source,
            sqlite3.connect(target.template_path) as copy,
        ):
            source.backup(copy)


def reset(target: Target) -> None:
    """A fresh copy of the prepared database for one run."""
    from django.db import connection

    connection.close()
    if target.database_url:
        import psycopg

        admin, name = target.pg_params()
        with psycopg.connect(**admin) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            db.execute(f'CREATE DATABASE "{name}" TEMPLATE "{name}_template"')
        return
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target.sqlite_path}{suffix}").unlink(missing_ok=True)
    (target.var_dir / "huey.sqlite3").unlink(missing_ok=True)
    with (
        sqlite3.connect(target.template_path) as source,
        sqlite3.connect(target.sqlite_path) as copy,
    ):
        source.backup(copy)


def cleanup(target: Target, *, keep_dir: bool) -> None:
    from django.db import connection

    connection.close()
    if target.database_url:
        import psycopg

        admin, name = target.pg_params()
        with psycopg.connect(**admin) as db:
            for database in (name, f"{name}_template"):
                db.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    if not keep_dir:
        shutil.rmtree(target.var_dir, ignore_errors=True)


# --- the server -------------------------------------------------------------------------------


class Server:
    """gunicorn (2 sync workers) and the Huey consumer, killed and restarted as a unit."""

    def __init__(self, target: Target, port: int, variant: str, extra_env: dict | None = None):
        self.target, self.port, self.variant = target, port, variant
        self.env = {
            **os.environ,
            "FENGQIAO_VAR_DIR": str(target.var_dir),
            # Tips are anonymous and globally rate-limited; the harness sends far more than a
            # city would in a minute.
            "FENGQIAO_TIPS_SUBMIT_RATE": "1000000/m",
            "KILLTEST_VARIANT": variant,
            **(extra_env or {}),
        }
        self.env.pop("FENGQIAO_TESTING", None)
        self.env.pop("FENGQIAO_HUEY_IMMEDIATE", None)
        if target.database_url:
            self.env["DATABASE_URL"] = target.database_url
        else:
            self.env.pop("DATABASE_URL", None)
        self.processes: list[subprocess.Popen] = []
        self.log = open(target.var_dir / f"server-{variant}.log", "ab")  # noqa: SIM115

    def start(self) -> None:
        app = "fengqiao.wsgi" if self.variant == "correct" else "killtest_wsgi:application"
        gunicorn = [
            str(ROOT / ".venv/bin/gunicorn"), app,
            "--pythonpath", str(ROOT / "bench"),
            "--workers", "2",
            "--bind", f"127.0.0.1:{self.port}",
            "--log-level", "warning",
            "--timeout", "60",
            # Import once in the master and fork: a restart costs one Django start, not two
            # competing for the same two cores.
            "--preload",
        ]  # fmt: skip
        consumer = [str(ROOT / ".venv/bin/fengqiao"), "run_huey", "--quiet", "--skip-checks"]
        for command in (gunicorn, consumer):
            self.processes.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=self.env,
                    stdout=self.log,
                    stderr=self.log,
                    start_new_session=True,  # its own group: SIGKILL reaches every worker
                )
            )

    def kill(self) -> None:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        self.processes = []

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/api/v1/ping", headers=self.auth())
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"the server did not come up; see {self.log.name}")

    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.target.token}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the clients ------------------------------------------------------------------------------


@dataclass
class Submission:
    kind: str  # "case" or "tip"
    marker: str
    key: str
    body: bytes
    answer: dict | None = None
    attempts: int = 0


@dataclass
class Tally:
    retries: int = 0
    abandoned: int = 0  # requests sent and not read: acknowledgements lost on purpose
    statuses: Counter = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def make_submissions(target: Target, n: int, rng: random.Random) -> list[Submission]:
    items = []
    for i in range(n):
        marker = f"KT-{uuid.UUID(int=rng.getrandbits(128)).hex}"
        if i % 3 == 2:
            body = {
                "description": f"有人在村口收保护费，强行摊派。{marker}",
                "region_code": target.village,
            }
            kind = "tip"
        else:
            body = {
                "category": "dispute.neighbour",
                "title": f"邻里纠纷 {i}",
                "description": f"两户村民因通道堆物争执，请村调委会协调。{marker}",
                "region_code": target.village,
                "parties": [{"role": "applicant", "name": "张三", "phone": "13800138000"}],
            }
            kind = "case"
        key = f"kt-{uuid.UUID(int=rng.getrandbits(128)).hex}"
        items.append(Submission(kind, marker, key, json.dumps(body, ensure_ascii=False).encode()))
    return items


def _request_target(server: Server, item: Submission) -> tuple[str, dict]:
    path = "/api/v1/cases" if item.kind == "case" else "/api/v1/tips"
    headers = {"Content-Type": "application/json", "Idempotency-Key": item.key}
    if item.kind == "case":
        headers.update(server.auth())
    return path, headers


def _abandon(server: Server, item: Submission) -> bool:
    """Send the request whole, then hang up without reading: the acknowledgement is lost."""
    path, headers = _request_target(server, item)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    raw = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(item.body)}\r\n"
        f"Connection: close\r\n{head}\r\n"
    ).encode() + item.body
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(raw)
            # Wait until the server has taken the request: its answer (or the hang-up of a
            # killed worker) arrives; the client reads nothing of it.
            sock.recv(1)
    except OSError:
        return False
    return True


def submit(server: Server, item: Submission, tally: Tally, rng: random.Random, stop) -> None:
    path, headers = _request_target(server, item)
    delay = 0.05
    abandon = rng.random() < ABANDON_SHARE
    while not stop():
        item.attempts += 1
        if abandon:
            abandon = not _abandon(server, item)
            if not abandon:
                with tally.lock:
                    tally.abandoned += 1
            continue
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.request("POST", path, body=item.body, headers=headers)
            response = conn.getresponse()
            text = response.read()
            status = response.status
            conn.close()
        except (OSError, http.client.HTTPException):
            status, text = "transport", b""
        with tally.lock:
            tally.statuses[status] += 1
        if status in (200, 201):
            item.answer = json.loads(text)
            return
        if status not in ("transport", 429, 500, 502, 503):
            with tally.lock:
                tally.unexpected.append(f"{status} {text[:200]!r}")
            return
        with tally.lock:
            tally.retries += 1
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


# --- one run ----------------------------------------------------------------------------------


@dataclass
class Result:
    variant: str
    submissions: int
    acknowledged: int
    lost: int
    duplicates: int
    integrity: str
    audit_ok: bool
    jobs: int
    jobs_done: int
    jobs_rerun: int
    tally: Tally
    seconds: float
    kills: int

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.duplicates == 0
            and self.acknowledged == self.submissions
            and self.integrity in ("ok", "n/a")
            and self.audit_ok
            and self.jobs_done == self.jobs
            and not self.tally.unexpected
        )


def run(target: Target, variant: str, submissions: int, kills: int, clients: int, seed: int):
    rng = random.Random(f"{seed}-{variant}")
    reset(target)
    items = make_submissions(target, submissions, rng)
    server = Server(target, free_port(), variant)
    server.start()
    server.wait_ready()
    tally = Tally()
    work = list(items)
    work_lock = threading.Lock()
    deadline = time.monotonic() + max(120.0, submissions * 0.5)
    started = time.monotonic()

    def stop() -> bool:
        return time.monotonic() > deadline

    def client(n: int) -> None:
        local = random.Random(f"{seed}-{variant}-{n}")
        while True:
            with work_lock:
                if not work:
                    return
                item = work.pop()
            submit(server, item, tally, local, stop)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    done_kills = 0
    for k in range(kills):
        threshold = submissions * (k + 1) / (kills + 1)
        while sum(1 for i in items if i.answer) < threshold and any(t.is_alive() for t in threads):
            time.sleep(0.01)
        if not any(t.is_alive() for t in threads):
            break
        time.sleep(rng.uniform(0, 0.3))  # land anywhere in a request, not at a boundary
        server.kill()
        done_kills += 1
        server.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    server.kill()
    result = verify(target, variant, items, tally, elapsed, done_kills)
    server.log.close()
    return result


def verify(target, variant, items, tally, elapsed, kills) -> Result:
    import datetime

    from django.db import connection
    from django.utils import timezone

    from fengqiao.cases.models import Case
    from fengqiao.core import outbox, services
    from fengqiao.core.models import OutboxJob
    from fengqiao.tips import receipts
    from fengqiao.tips.models import Tip

    connection.close()
    # Drain what the killed consumers left: past every lease, as the periodic job eventually is.
    later = timezone.now() + outbox.LEASE + datetime.timedelta(seconds=1)
    while outbox.run_pending(now=later).done:
        pass

    seen: Counter = Counter()
    for description in Case.objects.unscoped_all().values_list("description", flat=True):
        seen.update(MARKER.findall(description))
    tips = list(Tip.objects.unscoped_all())
    for tip in tips:
        seen.update(MARKER.findall(tip.description))
    by_code = set(Case.objects.unscoped_all().values_list("code", flat=True))
    by_receipt = set(Tip.objects.unscoped_all().values_list("receipt_hmac", flat=True))

    lost = 0
    acknowledged = [i for i in items if i.answer]
    for item in acknowledged:
        if item.kind == "case":
            present = item.answer.get("code") in by_code
        else:
            present = receipts.digest(receipts.canonical(item.answer["receipt"])) in by_receipt
        if not present or seen[item.marker] == 0:
            lost += 1
    duplicates = sum(count - 1 for count in seen.values() if count > 1)

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA integrity_check")
            integrity = ",".join(row[0] for row in cursor.fetchall())
    else:
        integrity = "n/a"  # no file-level check on PostgreSQL; its WAL replay is the guarantee
    audit_ok = services.verify_audit_chain().ok
    jobs = OutboxJob.objects.filter(name="tips.suggest_links")
    tip_ids = {str(tip.pk) for tip in tips}
    job_keys = Counter(jobs.values_list("key", flat=True))
    jobs_done = jobs.filter(done_at__isnull=False).count()
    # One job per tip, each done: a tip without its job, or a job twice, fails the count.
    if set(job_keys) != tip_ids or any(n > 1 for n in job_keys.values()):
        jobs_done = -1
    return Result(
        variant=variant,
        submissions=len(items),
        acknowledged=len(acknowledged),
        lost=lost,
        duplicates=duplicates,
        integrity=integrity,
        audit_ok=audit_ok,
        jobs=len(tip_ids),
        jobs_done=jobs_done,
        jobs_rerun=jobs.filter(attempts__gt=1).count(),
        tally=tally,
        seconds=elapsed,
        kills=kills,
    )


def report(result: Result, backend: str) -> None:
    t = result.tally
    statuses = ", ".join(f"{k}×{v}" for k, v in sorted(t.statuses.items(), key=str))
    print(
        f"[{result.variant}] {backend}: {result.submissions} submissions in {result.seconds:.1f} s,"
        f" {result.kills} kills; acknowledged {result.acknowledged}; retries {t.retries},"
        f" abandoned answers {t.abandoned}; answers: {statuses}"
    )
    print(
        f"[{result.variant}] integrity_check={result.integrity} audit_chain="
        f"{'ok' if result.audit_ok else 'BROKEN'} outbox jobs={result.jobs}"
        f" done={result.jobs_done} rerun={result.jobs_rerun}"
    )
    for line in t.unexpected[:5]:
        print(f"[{result.variant}] unexpected answer: {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--var-dir", default="", help="default: a new temporary directory")
    parser.add_argument(
        "--prove", action="store_true", help="first show that two broken servers are caught"
    )
    args = parser.parse_args()

    var_dir = Path(args.var_dir or tempfile.mkdtemp(prefix="fq-killtest-"))
    var_dir.mkdir(parents=True, exist_ok=True)
    configure(str(var_dir), args.database_url)
    from django.db import connection

    target = Target(var_dir=var_dir, database_url=args.database_url)
    started = time.monotonic()
    prepare(target)
    backend = connection.vendor
    print(f"prepared {backend} database in {time.monotonic() - started:.1f} s ({var_dir})")

    failed = False
    if args.prove:
        size = max(60, args.submissions // 3)
        for variant, caught in (
            ("ack-before-commit", lambda r: r.lost > 0),
            ("ignore-key", lambda r: r.duplicates > 0),
        ):
            result = run(target, variant, size, max(2, args.kills), args.clients, args.seed)
            report(result, backend)
            verdict = "caught" if caught(result) else "NOT CAUGHT"
            print(f"[{variant}] lost={result.lost} duplicates={result.duplicates} → {verdict}")
            failed |= not caught(result)

    result = run(target, "correct", args.submissions, args.kills, args.clients, args.seed)
    report(result, backend)
    flags = f" --database-url {args.database_url}" if args.database_url else ""
    print(
        f"reproduce: .venv/bin/python bench/killtest.py --submissions {args.submissions}"
        f" --kills {args.kills} --clients {args.clients} --seed {args.seed}"
        f"{' --prove' if args.prove else ''}{flags}"
    )
    failed |= not result.ok
    if not failed:
        cleanup(target, keep_dir=bool(args.var_dir))
    else:
        print(f"kept for inspection: {var_dir} (server logs server-*.log)")
    print(f"lost={result.lost} duplicates={result.duplicates}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
