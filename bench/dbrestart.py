"""Database restart under load: PostgreSQL goes away mid-traffic and comes back (SECURITY 25).

Run:  .venv/bin/python bench/dbrestart.py [--seconds 30] [--outage 5] [--restarts 2]

Needs root (or the postgres tools' rights) on a Debian-style PostgreSQL install: it creates its own
throw-away cluster (``pg_createcluster <version> fqdrill`` on a free port, trust auth on
loopback) so the machine's main cluster and anyone using it are never touched, and drops the
cluster at the end (``--keep`` leaves it).

The server is the one of ``bench/killtest.py`` (gunicorn, 2 sync workers, plus the Huey consumer)
on a fresh database. Client threads submit cases and tips with ``Idempotency-Key``s and retries,
and a prober reads ``/api/v1/ping`` and the public report page, while the cluster is stopped
with ``pg_ctlcluster … stop -m immediate`` (a crash, not a shutdown) and started again after
``--outage`` seconds, ``--restarts`` times; the last round uses ``pg_ctlcluster … restart``.

It checks and prints:
- every answer during an outage is 503 with the structured error (``{"code":
  "service_unavailable", …}`` for the API, the 503 page for HTML) — never a 500, never a stack
  trace;
- seconds from the database accepting connections again to the first acknowledged submission
  (target ≤ 10 s);
- at the end, every acknowledged submission is in the database exactly once, the audit chain
  verifies and every outbox job is done once (as the kill test checks).
Exit status non-zero when any of it fails.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import killtest  # noqa: E402
from generate import configure  # noqa: E402

CLUSTER = "fqdrill"


def pg_version() -> str:
    return sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]


def cluster(version: str, *args: str) -> None:
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, CLUSTER, *args],
                   check=True)  # fmt: skip


def create_cluster(version: str, port: int) -> None:
    subprocess.run(["pg_dropcluster", "--stop", version, CLUSTER], capture_output=True)
    subprocess.run(
        ["pg_createcluster", version, CLUSTER, "--port", str(port), "--", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    cluster(version, "start")


def accepting(port: int) -> bool:
    return (
        subprocess.run(
            ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)], check=False
        ).returncode
        == 0
    )


class Watch:
    """Every answer the clients and the prober saw, by phase; and what a bad one looked like."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down = False
        self.by_phase: dict[str, Counter] = {"up": Counter(), "down": Counter()}
        self.bad: list[str] = []
        self.first_ack_after: float | None = None
        self.back_at: float | None = None

    def saw(self, status, body: bytes, content_type: str) -> None:
        with self.lock:
            phase = "down" if self.down else "up"
            self.by_phase[phase][status] += 1
            trace = b"Traceback" in body or b'File "' in body
            if status == 500 or trace:
                self.bad.append(f"{status} {content_type} {body[:160]!r}")
            elif (
                status == 503
                and "json" in content_type
                and json.loads(body).get("code") != "service_unavailable"
            ):
                self.bad.append(f"503 without the structured code: {body[:160]!r}")
            if status in (200, 201) and self.back_at and self.first_ack_after is None:
                self.first_ack_after = time.monotonic() - self.back_at


def client(server, items, lock, watch: Watch, stop, seed: int) -> None:
    rng = random.Random(seed)
    while not stop():
        with lock:
            if not items:
                return
            item = items.pop()
        path, headers = killtest._request_target(server, item)
        delay = 0.05
        while not stop():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                conn.request("POST", path, body=item.body, headers=headers)
                response = conn.getresponse()
                body = response.read()
                status, kind = response.status, response.getheader("Content-Type", "")
                conn.close()
            except (OSError, http.client.HTTPException):
                status, body, kind = "transport", b"", ""
            watch.saw(status, body, kind)
            if status in (200, 201):
                item.answer = json.loads(body)
                break
            time.sleep(delay + rng.uniform(0, 0.05))
            delay = min(delay * 2, 0.5)


def prober(server, watch: Watch, stop) -> None:
    while not stop():
        for path, headers in (("/api/v1/ping", server.auth()), ("/report/", {})):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                watch.saw(response.status, response.read(), response.getheader("Content-Type", ""))
                conn.close()
            except (OSError, http.client.HTTPException):
                watch.saw("transport", b"", "")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="load before and between outages"
    )
    parser.add_argument("--outage", type=float, default=5.0, help="seconds the database is down")
    parser.add_argument("--restarts", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the throw-away cluster")
    args = parser.parse_args()

    version = pg_version()
    port = killtest.free_port()
    create_cluster(version, port)
    var_dir = Path(tempfile.mkdtemp(prefix="fq-dbrestart-"))
    url = f"postgres://postgres@127.0.0.1:{port}/fq_drill"
    configure(str(var_dir), url)
    target = killtest.Target(var_dir=var_dir, database_url=url)
    killtest.prepare(target)
    killtest.reset(target)
    items = killtest.make_submissions(target, 100_000, random.Random(2026))
    pending = list(items)
    server = killtest.Server(target, killtest.free_port(), "correct")
    server.start()
    server.wait_ready()
    watch = Watch()
    lock = threading.Lock()
    finished = threading.Event()
    threads = [
        threading.Thread(
            target=client, args=(server, pending, lock, watch, finished.is_set, n), daemon=True
        )
        for n in range(args.clients)
    ]
    threads.append(threading.Thread(target=prober, args=(server, watch, finished.is_set)))
    for thread in threads:
        thread.start()

    recoveries: list[float] = []
    try:
        phase = args.seconds / (args.restarts + 1)
        for round_ in range(args.restarts):
            time.sleep(phase)
            crash = round_ < args.restarts - 1
            with watch.lock:
                watch.down, watch.back_at, watch.first_ack_after = True, None, None
            if crash:
                cluster(version, "stop", "-m", "immediate")
                time.sleep(args.outage)
                cluster(version, "start")
            else:
                # A restart is quick; wait out the outage length first so requests do hit it.
                cluster(version, "stop", "-m", "immediate")
                time.sleep(args.outage)
                cluster(version, "restart")
            while not accepting(port):
                time.sleep(0.05)
            with watch.lock:
                watch.down, watch.back_at = False, time.monotonic()
            deadline = time.monotonic() + 60
            while watch.first_ack_after is None and time.monotonic() < deadline:
                time.sleep(0.05)
            recoveries.append(watch.first_ack_after if watch.first_ack_after is not None else 99)
        time.sleep(phase)
    finally:
        finished.set()
        for thread in threads:
            thread.join(timeout=60)
        server.kill()
    acknowledged = [i for i in items if i.answer]
    result = killtest.verify(target, "correct", acknowledged, killtest.Tally(), args.seconds, 0)
    from django.db import connection

    connection.close()
    if not args.keep:
        subprocess.run(["pg_dropcluster", "--stop", version, CLUSTER], check=False)

    down = watch.by_phase["down"]
    print(
        f"dbrestart: PostgreSQL {version}, {args.restarts} outages of {args.outage:.0f} s"
        f" (stop -m immediate; last one then restart), {len(acknowledged)} submissions"
        f" acknowledged"
    )
    print("answers while the database was down: " + ", ".join(f"{k}×{v}" for k, v in
          sorted(down.items(), key=str)))  # fmt: skip
    print("answers while it was up: " + ", ".join(f"{k}×{v}" for k, v in
          sorted(watch.by_phase["up"].items(), key=str)))  # fmt: skip
    print("back after the database: " + ", ".join(f"{s:.2f} s" for s in recoveries))
    for line in watch.bad[:5]:
        print(f"BAD ANSWER: {line}")
    print(
        f"audit_chain={'ok' if result.audit_ok else 'BROKEN'} outbox jobs={result.jobs}"
        f" done={result.jobs_done}"
    )
    print(
        f"reproduce: .venv/bin/python bench/dbrestart.py --seconds {args.seconds:.0f}"
        f" --outage {args.outage:.0f} --restarts {args.restarts}"
    )
    print(f"lost={result.lost} duplicates={result.duplicates} errors500={len(watch.bad)}")
    ok = (
        result.lost == 0
        and result.duplicates == 0
        and not watch.bad
        and down.get(503, 0) > 0
        and all(s <= 10 for s in recoveries)
        and result.audit_ok
        and result.jobs_done == result.jobs
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
