"""Mixed load on a generated database: 80% page reads, 20% API intake, against gunicorn on loopback.

Run:  .venv/bin/python bench/load.py [--var-dir /tmp/fq-bench/sqlite |
          --database-url postgres://postgres@127.0.0.1:5432/fq_bench_cases]
          [--seconds 300] [--clients 16] [--workers 2] [--port 0]
      .venv/bin/python bench/load.py --small      # CI size: its own 3,000 cases, 8 clients, 20 s

Generate the database first with bench/generate.py (same --var-dir / --database-url); ``--small``
generates one into a temporary directory itself and removes it afterwards.

gunicorn (``fengqiao.wsgi``, sync workers, 127.0.0.1) serves the database while ``--clients``
threads send requests back to back (a closed loop, no think time) for ``--warmup`` seconds that
are not counted and then ``--seconds`` that are:

- 15% workbench, 25% queue pages, 25% case pages, of the bench personas of bench/cases.py (the
  busiest town command room, village mediation committee and county centre), each client thread
  signed in with a session of its own; case pages are real cases in the persona's scope (from its
  queues, its latest and older visible cases);
- 15% public tracking pages (``/track/<code>/<token>/``) of a sample of generated cases and of the
  cases the run itself created. The generator keeps no tokens (only their hashes), so the bench
  gives the sample deterministic tokens by rewriting their hashes (the only change it makes to
  existing rows). Each tracking request comes from its own loopback address (127.1.x.y), as
  citizens do, so the per-address limit of the tracking page stays in force untouched;
- 20% ``POST /api/v1/cases`` with a town operator's API token and a fresh Idempotency-Key, into
  the villages of that town.

The clients are threads of this process on the same two cores as the server; each request costs
them about half a millisecond of CPU against some twenty in gunicorn, and the run prints both, so
the generator's share is visible rather than assumed. With no think time the loop measures the
server at saturation: the mean wait is about clients / throughput, so the latency figures follow
the CPU the server gets on a shared machine, and the printed CPU per request is the figure that
does not depend on the neighbours.

Any answer outside 2xx/3xx, any redirect to the login page (a lost session) and any transport
error is an error, listed by kind. Memory: RSS of every gunicorn worker after the warm-up and at
the end. Targets (the load issue): 0 errors, p95 reads ≤ 300 ms, p95 intake ≤ 500 ms, no worker
growing more than 20%; the exit status is 1 when one is missed, so CI can fail on it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import DEFAULT_VAR_DIR, ROOT, configure  # noqa: E402

from cases import (  # noqa: E402
    PERSONAS,
    busiest_unit,
    free_port,
    intake_body,
    percentile,
    persona,
    start_gunicorn,
    wait_ready,
)

# Share of each request kind; everything but intake is a read.
MIX = {"workbench": 15, "queue": 25, "case": 25, "tracking": 15, "intake": 20}
READS = ("workbench", "queue", "case", "tracking")
TARGETS = {"p95 reads ms": 300.0, "p95 intake ms": 500.0, "memory growth %": 20.0}
TRACKING_SAMPLE = 300
BENCH_TITLE = "压测"  # how intake_body() titles the cases the benches file
SMALL_CASES = 3000


# --- what the clients ask for ---------------------------------------------------------------------


@dataclass
class Desk:
    """One persona: its workbench and queue URLs, case pages in its scope, one session per thread."""

    label: str
    unit_name: str
    pages: list[str]
    case_urls: list[str]
    cookies: list[str] = field(default_factory=list)


def tracking_token(code: str) -> str:
    """The bench's token for a sampled case: derived from the code, so reruns agree."""
    return "load-" + hashlib.sha256(f"fq-load:{code}".encode()).hexdigest()[:40]


def generated_cases():
    """Every case but those the benches filed (see ``scope_cases``): the personas are picked
    by these, so a village whose queue the intake runs have flooded does not take over."""
    from fengqiao.cases.models import Case

    return Case.objects.unscoped_all().exclude(title__startswith=BENCH_TITLE)


def scope_cases(membership, limit: int, rng: random.Random) -> list[str]:
    """Codes of cases this membership may open: its queues, its latest cases and older ones.

    Cases the benches filed themselves are left out: repeated intake runs have filed tens of
    thousands into the same town with one phone number, which makes each of them a same-party
    match of all the others (≈ 100 ms of SQL per case page that no real case pays)."""
    from fengqiao.cases.models import Case
    from fengqiao.cases.views.work import QUEUES, queue_queryset

    codes: list[str] = []
    for key in QUEUES:
        queue = queue_queryset(key, membership).exclude(title__startswith=BENCH_TITLE)
        codes += queue.order_by("-id").values_list("code", flat=True)[:25]
    visible = Case.objects.visible_to(membership).exclude(title__startswith=BENCH_TITLE)
    codes += visible.order_by("-id").values_list("code", flat=True)[:100]
    last = visible.order_by("-id").values_list("id", flat=True).first() or 0
    first = visible.order_by("id").values_list("id", flat=True).first() or 0
    for _ in range(50):
        pivot = rng.randint(first, last) if last else 0
        code = visible.filter(id__lte=pivot).order_by("-id").values_list("code", flat=True).first()
        if code:
            codes.append(code)
    return list(dict.fromkeys(codes))[:limit]


def prepare_desks(clients: int, rng: random.Random) -> tuple[list[Desk], list]:
    from django.conf import settings
    from django.urls import reverse

    from fengqiao.cases.views.work import QUEUES

    desks, memberships = [], []
    for label, role, kind, level in PERSONAS:
        unit = busiest_unit(kind, level, generated_cases())
        _user, membership, _client = persona(label, role, unit)
        pages = [reverse("accounts:workbench")]
        pages += [reverse("cases:queue", kwargs={"queue": key}) for key in QUEUES]
        case_urls = [
            reverse("cases:detail", kwargs={"case_code": code})
            for code in scope_cases(membership, 400, rng)
        ]
        if not case_urls:
            raise SystemExit(f"{label} ({unit.name}) may open no case: generate more cases")
        desks.append(Desk(label, unit.name, pages, case_urls))
        memberships.append(membership)
    # One session per client thread, as each person at a desk has their own.
    for n in range(clients):
        desk = desks[n % len(desks)]
        label, role, _kind, _level = PERSONAS[n % len(desks)]
        _user, _membership, client = persona(label, role, memberships[n % len(desks)].unit)
        desk.cookies.append(
            f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
    return desks, memberships


def prepare_tracking(rng: random.Random) -> list[str]:
    """Tracking URLs of a sample of generated cases, their hashes set to the bench's tokens."""
    from django.db import transaction
    from django.db.models import Max, Min
    from django.urls import reverse

    from fengqiao.cases import codes
    from fengqiao.cases.models import Case

    cases = Case.objects.unscoped_all()
    bounds = cases.aggregate(low=Min("id"), high=Max("id"))
    if bounds["high"] is None:
        return []
    span = range(bounds["low"], bounds["high"] + 1)
    ids = rng.sample(span, min(TRACKING_SAMPLE, len(span)))
    rows = list(cases.filter(id__in=ids).values_list("id", "code", "tracking_token_hash"))
    urls = []
    with transaction.atomic():
        for pk, code, stored in rows:
            token = tracking_token(code)
            wanted = codes.hash_tracking_token(token)
            if stored != wanted:
                cases.filter(pk=pk).update(tracking_token_hash=wanted)
            urls.append(reverse("cases_public:track", args=[code, token]))
    return urls


def prepare_intake() -> tuple[str, list[str]]:
    """A town operator's API token and the village codes of its town."""
    from fengqiao.accounts import services
    from fengqiao.regions.models import Region

    unit = busiest_unit("command_room", "town", generated_cases())
    user, membership, _client = persona("town command room", "town_operator", unit)
    _token, raw = services.create_token(
        user=user, membership=membership, name="bench load", lifetime_days=30
    )
    villages = list(
        Region.objects.filter(level="village")
        .within(unit.region_code)
        .order_by("code")
        .values_list("code", flat=True)
    )
    return raw, villages


# --- the load -------------------------------------------------------------------------------------


@dataclass
class Plan:
    port: int
    desks: list[Desk]
    tracking: list[str]
    token: str
    villages: list[str]
    login_path: str
    created: list[str] = field(default_factory=list)


def one_request(plan: Plan, desk: Desk, cookie: str, kind: str, rng: random.Random):
    """(method, path, body, headers, source address) of one request of ``kind``."""
    if kind == "workbench":
        return "GET", desk.pages[0], None, {"Cookie": cookie}, None
    if kind == "queue":
        return "GET", rng.choice(desk.pages[1:]), None, {"Cookie": cookie}, None
    if kind == "case":
        return "GET", rng.choice(desk.case_urls), None, {"Cookie": cookie}, None
    if kind == "tracking":
        # Generated cases and the ones this run reported, the latter as they come in.
        pool = plan.tracking if not plan.created or rng.random() < 0.5 else plan.created
        source = f"127.1.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        return "GET", rng.choice(pool), None, {}, source
    # A phone of its own per report: one shared number would make every bench case a
    # same-party match of every other on the case page.
    phone = f"139{rng.randrange(10**8):08d}"
    body = json.dumps(intake_body(rng.choice(plan.villages), rng.randrange(10**6), phone))
    headers = {
        "Authorization": f"Bearer {plan.token}",
        "Content-Type": "application/json",
        "Idempotency-Key": f"bench-load-{uuid.uuid4().hex}",
    }
    return "POST", "/api/v1/cases", body, headers, None


def run_client(n: int, plan: Plan, stop: float, seed: int, out: list) -> None:
    """Requests back to back until ``stop``; appends (kind, ms, finished, error or None)."""
    from django.urls import NoReverseMatch, reverse

    rng = random.Random(seed * 1000 + n)
    desk = plan.desks[n % len(plan.desks)]
    cookie = desk.cookies[n // len(plan.desks)]
    kinds, weights = list(MIX), list(MIX.values())
    while time.monotonic() < stop:
        kind = rng.choices(kinds, weights)[0]
        method, path, body, headers, source = one_request(plan, desk, cookie, kind, rng)
        # gunicorn's sync workers close every connection after the answer: one connection each.
        conn = http.client.HTTPConnection(
            "127.0.0.1", plan.port, timeout=60, source_address=(source, 0) if source else None
        )
        error = None
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            status = response.status
            if status >= 400 or status < 200:
                error = f"{kind}: HTTP {status}"
            elif 300 <= status < 400 and plan.login_path in (response.getheader("Location") or ""):
                error = f"{kind}: redirect to login"
        except (OSError, http.client.HTTPException) as exc:
            error = f"{kind}: {type(exc).__name__}"
            status = None
        finally:
            conn.close()
        elapsed = (time.perf_counter() - started) * 1e3
        if kind == "intake" and status == 201:
            try:
                answer = json.loads(payload)
                link = [answer["code"], answer["tracking_token"]]
                plan.created.append(reverse("cases_public:track", args=link))
            except (ValueError, KeyError, NoReverseMatch):
                error = "intake: 201 without a code and tracking token"
        out.append((kind, elapsed, time.monotonic(), error))


# --- server resources -----------------------------------------------------------------------------


def workers_of(server: subprocess.Popen) -> dict[int, object]:
    import psutil

    return {child.pid: child for child in psutil.Process(server.pid).children()}


def rss_mb(processes: dict[int, object]) -> dict[int, float]:
    import psutil

    sizes = {}
    for pid, process in processes.items():
        with contextlib.suppress(psutil.Error):
            sizes[pid] = process.memory_info().rss / 2**20
    return sizes


def cpu_seconds(processes) -> float:
    import psutil

    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def database_cpu(name: str) -> dict[int, float]:
    """CPU seconds of the PostgreSQL backends serving database ``name`` (anyone's connections)."""
    import psutil

    found = {}
    for process in psutil.process_iter(["cmdline", "cpu_times"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        times = process.info["cpu_times"]
        if cmdline.startswith("postgres:") and f" {name} " in cmdline and times is not None:
            found[process.pid] = times.user + times.system
    return found


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> float:
    import psutil

    times = psutil.cpu_times()
    return times.user + times.nice + times.system + times.irq + times.softirq + times.steal


# --- report ---------------------------------------------------------------------------------------


def summarise(samples: list[tuple]) -> tuple[float, float, float]:
    values = [ms for _kind, ms, _at, _error in samples]
    return percentile(values, 0.5), percentile(values, 0.95), percentile(values, 0.99)


def print_report(samples, seconds, intervals, memory, cpu, loads) -> dict[str, float]:
    print(f"{'request':<10} {'count':>7} {'share':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'errors':>6}")  # fmt: skip
    total = len(samples)
    groups = {kind: [s for s in samples if s[0] == kind] for kind in MIX}
    groups["reads"] = [s for s in samples if s[0] in READS]
    for name, group in groups.items():
        if not group:
            continue
        p50, p95, p99 = summarise(group)
        worst = max(s[1] for s in group)
        errors = sum(1 for s in group if s[3])
        print(
            f"{name:<10} {len(group):>7,} {len(group) / total:>6.0%} {p50:>8.1f} {p95:>8.1f} "
            f"{p99:>8.1f} {worst:>8.1f} {errors:>6}"
        )
    print(f"throughput: {total / seconds:.1f} req/s ({len(groups['reads']) / seconds:.1f} reads/s, "
          f"{len(groups['intake']) / seconds:.1f} intake/s) over {seconds:.0f} s")  # fmt: skip
    errors: dict[str, int] = {}
    for sample in samples:
        if sample[3]:
            errors[sample[3]] = errors.get(sample[3], 0) + 1
    print(f"errors: {sum(errors.values())}" + "".join(f"\n  {k}: {v}" for k, v in errors.items()))
    print("over time (each line one interval of the measured run):")
    for line in intervals:
        print(f"  {line}")
    print("memory (RSS of each gunicorn worker):")
    growth = 0.0
    for pid, (start, end, peak) in memory.items():
        if start is None or end is None:
            print(f"  worker {pid}: gone or new during the run (restarted: a timeout or a crash)")
            growth = float("inf")
            continue
        change = (end / start - 1) * 100
        growth = max(growth, change)
        print(f"  worker {pid}: {start:.1f} MB after warm-up → {end:.1f} MB at the end "
              f"(peak {peak:.1f}), {change:+.1f}%")  # fmt: skip
    server, generator, machine, database = cpu
    if database is not None:
        # The workers reconnect every CONN_MAX_AGE seconds, and a backend that has exited has
        # taken its CPU count with it: what the machine spent beyond the server and the load
        # generator is the better figure for PostgreSQL (its background processes included).
        database = max(database, machine - server - generator)
    database_text = (
        "" if database is None else f", PostgreSQL and the rest of the machine {database:.0f} s"
    )
    print(
        f"CPU over the measured run ({os.cpu_count()} cores = {os.cpu_count() * seconds:.0f} "
        f"core-seconds): gunicorn {server:.0f} s ({server / seconds:.0%} of one core), load "
        f"generator {generator:.0f} s ({generator / seconds:.0%} of one core){database_text}, "
        f"whole machine {machine:.0f} s ({machine / seconds:.0%}, other work included)"
    )
    if total:
        # The figure that does not depend on how busy the machine is: what the mix costs.
        per_request = server / total * 1e3
        extra = "" if database is None else f" + {database / total * 1e3:.1f} ms in PostgreSQL etc."
        print(
            f"cost per request: gunicorn {per_request:.1f} ms CPU{extra}, load generator "
            f"{generator / total * 1e3:.2f} ms; two cores for the server alone would serve ≈ "
            f"{2000 / (per_request + (database or 0) / total * 1e3):.0f} req/s, and a closed "
            f"loop of N clients waits ≈ N / that rate per request"
        )
    print(f"load average: {loads[0]} at the start, {loads[1]} at the end")
    _p50, reads_p95, _p99 = summarise(groups["reads"])
    _p50, intake_p95, _p99 = summarise(groups["intake"])
    return {
        "errors": sum(errors.values()),
        "p95 reads ms": reads_p95,
        "p95 intake ms": intake_p95,
        "memory growth %": growth,
    }


def interval_lines(samples, begin: float, seconds: float, step: float, rss_by_time) -> list[str]:
    lines = []
    edges = [begin + i * step for i in range(int(seconds // step) + 1)]
    if edges[-1] < begin + seconds - 0.5:
        edges.append(begin + seconds)
    for low, high in zip(edges, edges[1:], strict=False):
        part = [s for s in samples if low <= s[2] < high]
        reads = [s[1] for s in part if s[0] in READS]
        intake = [s[1] for s in part if s[0] == "intake"]
        rss = rss_by_time(high)
        lines.append(
            f"{low - begin:>4.0f}–{high - begin:<4.0f}s {len(part) / (high - low):>6.1f} req/s  "
            f"p95 reads {percentile(reads, 0.95):>6.0f} ms  p95 intake "
            f"{percentile(intake, 0.95):>6.0f} ms  errors {sum(1 for s in part if s[3])}  "
            f"RSS {' / '.join(f'{v:.0f}' for v in rss.values())} MB"
        )
    return lines


# --- main -----------------------------------------------------------------------------------------


def generate_small(var_dir: str, cases: int) -> float:
    started = time.monotonic()
    command = [sys.executable, str(ROOT / "bench/generate.py"), "--cases", str(cases),
               "--var-dir", var_dir, "--no-progress"]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stdout[-3000:], result.stderr[-3000:], sep="\n")
        raise SystemExit(f"bench/generate.py failed with exit status {result.returncode}")
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--var-dir", default="")
    parser.add_argument("--small", action="store_true",
                        help=f"generate {SMALL_CASES:,} cases into a temporary dir, load 20 s")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=None, help="measured (300; small 20)")
    parser.add_argument("--warmup", type=float, default=None, help="not counted (30; small 8)")
    parser.add_argument("--clients", type=int, default=None, help="client threads (16; small 8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--seed", type=int, default=1, help="of the request mix")
    args = parser.parse_args()
    seconds = args.seconds if args.seconds is not None else (20.0 if args.small else 300.0)
    warmup = args.warmup if args.warmup is not None else (8.0 if args.small else 30.0)
    # A CI machine has two cores for the server, the clients and the test runner: half the
    # clients keeps the small run a check for errors and regressions rather than for queueing.
    args.clients = args.clients or (8 if args.small else 16)

    temp_dir = None
    if args.small:
        if args.database_url or args.var_dir:
            parser.error(
                "--small makes its own SQLite database; leave out --var-dir/--database-url"
            )
        temp_dir = tempfile.mkdtemp(prefix="fq-load-")
        took = generate_small(temp_dir, SMALL_CASES)
        print(f"generated {SMALL_CASES:,} cases into {temp_dir} in {took:.1f} s")
        var_dir = temp_dir
    else:
        var_dir = args.var_dir or (DEFAULT_VAR_DIR if not args.database_url else "/tmp/fq-bench/pg")
    try:
        return run(args, var_dir, seconds, warmup)
    finally:
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)


def run(args, var_dir: str, seconds: float, warmup: float) -> int:
    configure(var_dir, args.database_url)
    from django.db import connection
    from django.urls import reverse

    from fengqiao.cases.models import Case

    rng = random.Random(args.seed)
    print(
        f"backend: {connection.vendor}; database {connection.settings_dict['NAME']}; "
        f"{Case.objects.unscoped_all().count():,} cases"
    )
    desks, _memberships = prepare_desks(args.clients, rng)
    for desk in desks:
        print(f"  {desk.label}: {desk.unit_name}, {len(desk.pages)} pages, "
              f"{len(desk.case_urls)} case pages, {len(desk.cookies)} sessions")  # fmt: skip
    tracking = prepare_tracking(rng)
    token, villages = prepare_intake()
    print(f"  tracking: {len(tracking)} generated cases; intake into {len(villages)} villages")
    connection.close()  # the bench holds no connection (or SQLite lock) during the load

    port = args.port or free_port()
    plan = Plan(port, desks, tracking, token, villages, reverse("accounts:login"))
    # The server's own log goes to a file: a failing page would otherwise bury the figures.
    log_path = Path(tempfile.gettempdir()) / f"fq-load-gunicorn-{port}.log"
    log = log_path.open("w")
    server = start_gunicorn(port, workers=args.workers, log=log)
    try:
        wait_ready(port, token)
        print(
            f"gunicorn {args.workers} sync workers on 127.0.0.1:{port}; {args.clients} client "
            f"threads, closed loop, no think time; warm-up {warmup:.0f} s, measured {seconds:.0f} s; "
            f"mix {', '.join(f'{k} {v}%' for k, v in MIX.items())}",
            flush=True,
        )
        status = measure(args, plan, server, seconds, warmup)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    lines = log_path.read_text(errors="replace").splitlines()
    if lines:
        print(f"gunicorn log: {log_path} ({len(lines)} lines); its last lines:")
        print("\n".join(f"  {line}" for line in lines[-15:]))
    else:
        log_path.unlink()
    return status


def measure(args, plan: Plan, server, seconds: float, warmup: float) -> int:
    import psutil
    from django.db import connection

    workers = workers_of(server)
    begin = time.monotonic() + warmup
    end = begin + seconds
    out: list[tuple] = []
    threads = [
        threading.Thread(target=run_client, args=(n, plan, end, args.seed, out), daemon=True)
        for n in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, begin - time.monotonic()))

    load_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    start_rss = rss_mb(workers)
    server_processes = [psutil.Process(server.pid), *workers.values()]
    database = connection.settings_dict["NAME"] if connection.vendor == "postgresql" else None
    database_start = database_cpu(database) if database else {}
    cpu_start = (cpu_seconds(server_processes), own_cpu_seconds(), machine_busy_seconds())
    step = 60.0 if seconds >= 120 else max(5.0, seconds / 4)
    timeline: list[tuple[float, dict[int, float]]] = [(begin, start_rss)]
    peaks = dict(start_rss)
    while (now := time.monotonic()) < end:
        time.sleep(min(step / 6, end - now))
        sizes = rss_mb(workers)
        timeline.append((time.monotonic(), sizes))
        for pid, size in sizes.items():
            peaks[pid] = max(peaks.get(pid, 0.0), size)
    end_rss = rss_mb(workers)
    cpu_end = (cpu_seconds(server_processes), own_cpu_seconds(), machine_busy_seconds())
    database_end = database_cpu(database) if database else {}
    load_end = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    for thread in threads:
        thread.join(timeout=90)
    late = set(workers_of(server)) - set(workers)

    measured = [s for s in list(out) if s[2] >= begin]

    def rss_at(moment: float) -> dict[int, float]:
        before = [sizes for at, sizes in timeline if at <= moment + 1]
        return before[-1] if before else start_rss

    intervals = interval_lines(measured, begin, seconds, step, rss_at)
    memory = {pid: (start_rss.get(pid), end_rss.get(pid), peaks.get(pid, 0.0)) for pid in workers}
    memory.update({pid: (None, None, 0.0) for pid in late})
    cpu = tuple(b - a for a, b in zip(cpu_start, cpu_end, strict=True))
    database_used = sum(t - database_start.get(pid, 0.0) for pid, t in database_end.items())
    cpu = (*cpu, database_used if database else None)
    figures = print_report(measured, seconds, intervals, memory, cpu, (load_start, load_end))

    missed = []
    if figures["errors"]:
        missed.append(f"{figures['errors']} errors (target 0)")
    for name, limit in TARGETS.items():
        if not figures[name] <= limit:
            missed.append(f"{name} {figures[name]:.1f} (target ≤ {limit:g})")
    print(f"targets: {'all met' if not missed else 'MISSED: ' + '; '.join(missed)}")
    print(f"reproduce: python bench/load.py {' '.join(sys.argv[1:])}".rstrip())
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
