"""Benchmark the case engine on a generated database: queue pages, the clock sweep, API intake.

Run:  .venv/bin/python bench/cases.py [--var-dir /tmp/fq-bench/sqlite |
          --database-url postgres://postgres@127.0.0.1:5432/fq_bench_cases] [--only queues,sweep,api]

Generate the database first with bench/generate.py (same --var-dir / --database-url). Then:

- queues: the workbench and every ``cases:queue`` page rendered through Django's test client for
  three personas (the busiest town command room, village mediation committee and county centre
  by open cases), each signed in as the test personas are (password + TOTP in the session):
  queries per page and p50/p95 latency over ``--repeat`` renders;
- sweep: ``cases.jobs.run_sweep`` (what the periodic ``sweep_clocks`` task runs) twice over all
  open cases: the first raises what is due, the second must find nothing;
- api: gunicorn (2 sync workers, loopback, a free port) on the same database; 16 client threads
  POST ``/api/v1/cases`` with fresh Idempotency-Keys for ``--seconds``, against the same threads
  on ``GET /api/v1/ping`` (authenticated no-op), the two taking turns in ``--rounds`` windows:
  the median of the rounds' throughput ratios and p50/p99 latency over all windows.

Every figure is printed with the command that reproduces it; nothing here asserts a time.
Targets from issue 3: queue page ≤ 10 queries, p95 ≤ 150 ms; sweep ≤ 10 s; intake ≥ 40% of the
no-op throughput with p99 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import DEFAULT_VAR_DIR, ROOT, configure  # noqa: E402

CLIENTS = 16


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


# --- personas ------------------------------------------------------------------------------------

PERSONAS = (
    # (label, role, unit kind, unit level)
    ("town command room", "town_operator", "command_room", "town"),
    ("village committee", "village_mediator", "mediation_committee", "village"),
    ("county centre", "centre_staff", "governance_centre", "county"),
)


def busiest_unit(kind: str, level: str, cases=None):
    """The unit of this kind with the most open cases it owns or handles (the worst queue),
    counted over ``cases`` (default: all)."""
    from django.db.models import Count

    from fengqiao.cases.models import Case
    from fengqiao.regions.models import Unit

    counts: dict[int, int] = {}
    for field in ("owner_unit", "handler_unit"):
        rows = (
            (Case.objects.unscoped_all() if cases is None else cases)
            .open()
            .filter(**{f"{field}__kind": kind, f"{field}__level": level})
            .values_list(field)
            .annotate(n=Count("id"))
        )
        for unit_id, n in rows:
            counts[unit_id] = counts.get(unit_id, 0) + n
    if not counts:
        return Unit.objects.filter(kind=kind, level=level).order_by("id").first()
    return Unit.objects.get(pk=max(counts, key=counts.get))


def persona(label: str, role: str, unit):
    """A user with a membership in ``unit``, a confirmed TOTP device and a signed-in client."""
    sys.path.insert(0, str(ROOT / "tests"))
    from fengqiao.accounts.models import Membership, TOTPAuthenticator, User
    from personas import PASSWORD, login_client

    username = f"bench_{role}_{unit.pk}"
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(username=username, password=PASSWORD, full_name=label)
    membership, _ = Membership.objects.get_or_create(
        user=user, unit=unit, role=role, defaults={"region_code": unit.region_code}
    )
    device = TOTPAuthenticator.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPAuthenticator.objects.create(user=user, name="bench", confirmed=True)
    return user, membership, login_client(user, membership, device)


# --- a) queue pages ------------------------------------------------------------------------------


class QueryCounter:
    """Counts statements at the cursor (the test client's request signals reset Django's log)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def bench_queues(repeat: int) -> list[tuple]:
    from django.db import connection
    from django.urls import NoReverseMatch, reverse

    try:
        from fengqiao.cases.views.work import QUEUES, queue_queryset
    except ImportError:
        QUEUES, queue_queryset = {}, None

    rows = []
    for label, role, kind, level in PERSONAS:
        unit = busiest_unit(kind, level)
        _user, membership, client = persona(label, role, unit)
        pages = []
        with contextlib.suppress(NoReverseMatch):
            pages.append(("workbench", reverse("accounts:workbench")))
        for key in QUEUES:
            pages.append((key, reverse("cases:queue", kwargs={"queue": key})))
        print(f"  {label}: {unit.name} ({unit.region_code})", flush=True)
        for name, url in pages:
            for _ in range(2):  # warm caches and the session
                client.get(url)
            # Counted at the cursor: the test client's request signals reset Django's query log.
            queries = QueryCounter()
            with connection.execute_wrapper(queries):
                response = client.get(url)
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                client.get(url)
                samples.append((time.perf_counter() - started) * 1e3)
            size = queue_queryset(name, membership).count() if name in QUEUES else None
            rows.append(
                (
                    label,
                    name,
                    response.status_code,
                    size,
                    queries.count,
                    statistics.median(samples),
                    percentile(samples, 0.95),
                )
            )
    return rows


def print_queues(rows: list[tuple]) -> None:
    print(f"{'persona':<18} {'page':<12} {'HTTP':>4} {'cases':>7} {'queries':>7} "
          f"{'p50 ms':>8} {'p95 ms':>8}")  # fmt: skip
    for label, name, status, size, queries, p50, p95 in rows:
        size_text = "" if size is None else f"{size:,}"
        print(
            f"{label:<18} {name:<12} {status:>4} {size_text:>7} {queries:>7} {p50:>8.1f} {p95:>8.1f}"
        )
    worst_queries = max(r[4] for r in rows)
    worst_p95 = max(r[6] for r in rows)
    print(f"worst: {worst_queries} queries (target ≤ 10), p95 {worst_p95:.0f} ms (target ≤ 150)")


# --- b) the clock sweep --------------------------------------------------------------------------


def bench_sweep() -> list[tuple[str, float, dict]]:
    from fengqiao.cases.jobs import run_sweep
    from fengqiao.cases.models import Case

    print(f"  open cases: {Case.objects.unscoped_all().open().count():,}", flush=True)
    results = []
    for name in ("first run", "second run"):
        started = time.perf_counter()
        report = run_sweep()
        seconds = time.perf_counter() - started
        results.append((name, seconds, vars(report)))
    return results


# --- c) API intake -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int, workers: int = 2, log=None) -> subprocess.Popen:
    """gunicorn on loopback; ``log`` (an open file) takes its output instead of the terminal."""
    command = [
        str(ROOT / ".venv/bin/gunicorn"),
        "fengqiao.wsgi",
        "--workers", str(workers),
        "--bind", f"127.0.0.1:{port}",
        "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT if log else None,
    )


def wait_ready(port: int, token: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/ping", headers={"Authorization": f"Bearer {token}"})
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer /api/v1/ping in time")


TICKS = os.sysconf("SC_CLK_TCK")


def machine_time(server_pid: int, database: bool) -> dict[str, float]:
    """CPU seconds so far by who spent them (Linux ``/proc``): the gunicorn master and its
    workers ("web"), PostgreSQL's processes when the bench runs on it ("database"), this
    process's client threads ("client"), everything else ("other"), and the machine's idle time
    ("idle", summed over its cores). The differences over a window, per request, show where an
    endpoint's machine time goes.

    Each process counts its own CPU and that of its children it has reaped (``cutime`` and
    ``cstime``), so a worker or backend that exits within a window still counts: its CPU moves
    to its parent, in the same group. "database" is every PostgreSQL process on the machine:
    run the bench with nothing else using the cluster.
    """
    spent = {"web": 0.0, **({"database": 0.0} if database else {}), "client": 0.0, "other": 0.0}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                line = stat.read()
        except OSError:  # the process ended meanwhile
            continue
        name = line[line.index("(") + 1 : line.rindex(")")]
        fields = line.rsplit(")", 1)[1].split()
        parent = int(fields[1])
        cpu = sum(int(ticks) for ticks in fields[11:15]) / TICKS
        pid = int(entry)
        if pid == os.getpid():
            # Less what it reaped: gunicorn's master is its child, counted as "web".
            spent["client"] += (int(fields[11]) + int(fields[12])) / TICKS
        elif server_pid in (pid, parent):
            spent["web"] += cpu
        elif database and name == "postgres":
            spent["database"] += cpu
        else:
            spent["other"] += cpu
    with open("/proc/stat") as stat:
        counters = [int(x) for x in stat.readline().split()[1:]]
    spent["idle"] = (counters[3] + counters[4]) / TICKS  # idle + iowait
    return spent


def load(port: int, seconds: float, make_request) -> tuple[int, list[float], dict]:
    """CLIENTS threads send requests back to back for ``seconds``; latencies in ms."""
    stop = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    statuses: list[dict] = [{} for _ in range(CLIENTS)]

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            method, path, body, headers = make_request()
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                status = "error"
            latencies[n].append((time.perf_counter() - started) * 1e3)
            statuses[n][status] = statuses[n].get(status, 0) + 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    merged: dict = {}
    for counts in statuses:
        for status, count in counts.items():
            merged[status] = merged.get(status, 0) + count
    flat = [x for per_client in latencies for x in per_client]
    return len(flat) / elapsed, flat, merged


def intake_body(region_code: str, n: int, phone: str = "13800138000") -> dict:
    return {
        "category": "dispute.neighbour",
        "title": f"压测邻里纠纷 {n}",
        "description": "两户村民因宅前通道堆放杂物发生争执，请村调委会协调处理。",
        "place_text": "",
        "region_code": region_code,
        "parties": [{"role": "applicant", "name": "张三", "phone": phone}],
    }


class EndpointResult(NamedTuple):
    """One endpoint's figures over all its rounds."""

    rate: float  # requests/s, the median of the rounds
    p50: float  # ms, over all of its requests
    p99: float
    statuses: dict
    rates: list[float]  # requests/s by round
    per_request: dict[str, float]  # machine time per request by group, ms (``machine_time``)


def bench_api(seconds: float, rounds: int = 3) -> dict[str, EndpointResult]:
    from django.db import connection

    from fengqiao.accounts import services
    from fengqiao.regions.models import Region

    unit = busiest_unit("command_room", "town")
    user, membership, _client = persona("town command room", "town_operator", unit)
    _token, raw = services.create_token(
        user=user, membership=membership, name="bench", lifetime_days=30
    )
    village = Region.objects.filter(level="village").within(unit.region_code).order_by("code")[0]
    postgres = connection.vendor == "postgresql"
    port = free_port()
    server = start_gunicorn(port)
    counter = iter(range(10**9))
    auth = {"Authorization": f"Bearer {raw}"}
    try:
        wait_ready(port, raw)
        probe = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        probe.request(
            "POST",
            "/api/v1/cases",
            body=json.dumps(intake_body(village.code, 0)),
            headers={**auth, "Content-Type": "application/json", "Idempotency-Key": "bench-probe-"
                     + uuid.uuid4().hex},
        )  # fmt: skip
        answer = probe.getresponse()
        text = answer.read().decode()
        if answer.status != 201:
            raise SystemExit(f"POST /api/v1/cases answered {answer.status}: {text[:300]}")

        def ping():
            return "GET", "/api/v1/ping", None, auth

        def create():
            n = next(counter)
            headers = {**auth, "Content-Type": "application/json",
                       "Idempotency-Key": f"bench-{uuid.uuid4().hex}"}  # fmt: skip
            return "POST", "/api/v1/cases", json.dumps(intake_body(village.code, n)), headers

        load(port, 2, ping)  # warm-up
        # The two endpoints take turns in ``rounds`` windows: this machine's speed drifts over
        # minutes, and a ratio of two back-to-back 15-s runs measured the drift as much as the
        # code. Each round's ratio compares windows a few seconds apart; the median is reported.
        endpoints = (("GET /api/v1/ping", ping), ("POST /api/v1/cases", create))
        rates: dict[str, list[float]] = {name: [] for name, _ in endpoints}
        spent: dict[str, dict[str, float]] = {name: {} for name, _ in endpoints}
        pooled: dict[str, list[float]] = {name: [] for name, _ in endpoints}
        counts: dict[str, dict] = {name: {} for name, _ in endpoints}
        window = seconds / rounds
        for n in range(rounds):
            # Ping first in odd rounds, intake first in even ones: a drift that runs one way all
            # along does not favour the same endpoint in every round.
            for name, make in endpoints if n % 2 == 0 else endpoints[::-1]:
                print(
                    f"  round {n + 1}/{rounds}: {name}, {CLIENTS} clients for {window:g} s …",
                    flush=True,
                )
                before = machine_time(server.pid, postgres)
                rate, latencies, statuses = load(port, window, make)
                after = machine_time(server.pid, postgres)
                for who, seconds_then in before.items():
                    spent[name][who] = spent[name].get(who, 0.0) + after[who] - seconds_then
                rates[name].append(rate)
                pooled[name] += latencies
                for status, count in statuses.items():
                    counts[name][status] = counts[name].get(status, 0) + count
        return {
            name: EndpointResult(
                statistics.median(rates[name]),
                percentile(pooled[name], 0.5),
                percentile(pooled[name], 0.99),
                counts[name],
                rates[name],
                {who: total / len(pooled[name]) * 1e3 for who, total in spent[name].items()},
            )
            for name, _ in endpoints
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--var-dir", default="")
    parser.add_argument("--repeat", type=int, default=30, help="renders per queue page")
    parser.add_argument(
        "--seconds", type=float, default=21.0, help="API load per endpoint, over all rounds"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="API windows per endpoint, taking turns"
    )
    parser.add_argument("--only", default="queues,sweep,api")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    var_dir = args.var_dir or (DEFAULT_VAR_DIR if not args.database_url else "/tmp/fq-bench/pg")
    configure(var_dir, args.database_url)
    from django.db import connection

    from fengqiao.cases.models import Case

    parts = set(args.only.split(","))
    print(
        f"backend: {connection.vendor}; database {connection.settings_dict['NAME']}; "
        f"{Case.objects.unscoped_all().count():,} cases"
    )
    if "queues" in parts:
        print("a) workbench queue pages (Django test client, signed-in personas)")
        print_queues(bench_queues(args.repeat))
    if "sweep" in parts:
        print("b) clock sweep over all open cases (cases.jobs.run_sweep)")
        for name, seconds, report in bench_sweep():
            found = ", ".join(f"{k} {v}" for k, v in report.items())
            print(f"  {name}: {seconds:.2f} s  ({found})  target ≤ 10 s")
    if "api" in parts:
        print(f"c) API intake vs no-op: gunicorn 2 workers, {CLIENTS} clients, loopback")
        results = bench_api(args.seconds, args.rounds)
        print(
            f"  {'endpoint':<20} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  statuses; req/s by round"
        )
        for name, result in results.items():
            each = " ".join(f"{r:.0f}" for r in result.rates)
            print(
                f"  {name:<20} {result.rate:>8.1f} {result.p50:>8.1f} {result.p99:>8.1f}  "
                f"{result.statuses}; {each}"
            )
        print("  (req/s: the median of the rounds; p50/p99: over all of an endpoint's requests)")
        print("  machine time per request, ms (CPU by process group, and idle over both cores):")
        for name, result in results.items():
            shares = ", ".join(f"{who} {ms:.2f}" for who, ms in result.per_request.items())
            print(f"  {name:<20} {sum(result.per_request.values()):.2f} = {shares}")
        ping, create = results["GET /api/v1/ping"], results["POST /api/v1/cases"]
        ratios = [c / p for c, p in zip(create.rates, ping.rates, strict=True)]
        print(
            f"  intake/no-op throughput: {statistics.median(ratios):.0%} median of the rounds "
            f"({' '.join(f'{r:.0%}' for r in ratios)}; target ≥ 40%); "
            f"intake p99 {create.p99:.0f} ms (target ≤ 100 ms)"
        )
    print(f"reproduce: python bench/cases.py {' '.join(sys.argv[1:])}".rstrip())


if __name__ == "__main__":
    main()
