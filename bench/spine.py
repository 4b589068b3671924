"""Benchmark the jurisdiction spine: province import, demo structure, and scoped subtree queries.

Run:  .venv/bin/python bench/spine.py [--database-url postgres://postgres@127.0.0.1:5432/fq_bench]
It builds a throw-away database (SQLite file under a temp dir, or the named PostgreSQL database,
created and dropped), imports the full Zhejiang divisions, builds grids and units for the
province, then times subtree queries by prefix. Prints medians of repeated runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZHEJIANG = ROOT.parent / "shared" / "data" / "regions" / "zhejiang_divisions_2021.csv"


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--file", default=str(ZHEJIANG))
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="fq-bench-")
    os.environ["FENGQIAO_VAR_DIR"] = tmp
    os.environ.pop("DATABASE_URL", None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fengqiao.settings")
    sys.path.insert(0, str(ROOT / "src"))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        _recreate_postgres_database(connection)
    call_command("migrate", verbosity=0)

    from fengqiao.regions import services
    from fengqiao.regions.models import Region, Unit

    print(f"backend: {connection.vendor}; file: {args.file}")
    seconds, report = timed(lambda: services.import_regions(args.file, progress=False))
    print(f"import (first, {Region.objects.count()} regions): {seconds:.2f} s")
    seconds, _ = timed(lambda: services.import_regions(args.file, progress=False))
    print(f"import (again, no changes): {seconds:.2f} s")
    seconds, _ = timed(lambda: services.build_demo_structure())
    print(
        f"demo structure for the province ({Region.objects.at_level('grid').count()} grids, "
        f"{Unit.objects.count()} units): {seconds:.2f} s"
    )

    for label, prefix in [
        ("city 绍兴 3306", "3306"),
        ("county 诸暨 330681", "330681"),
        ("town 枫桥 330681109", "330681109"),
    ]:
        seconds, count = timed(lambda p=prefix: Region.objects.within(p).count(), args.repeat)
        print(f"count regions within {label}: {count:>7}  median {seconds * 1e3:.2f} ms")
        seconds, count = timed(lambda p=prefix: Unit.objects.within(p).count(), args.repeat)
        print(f"count units   within {label}: {count:>7}  median {seconds * 1e3:.2f} ms")
    seconds, _ = timed(lambda: Unit.objects.count(), args.repeat)
    print(f"count all units (full scan, for comparison): median {seconds * 1e3:.2f} ms")
    print(f"reproduce: python bench/spine.py {' '.join(sys.argv[1:])}".rstrip())


def _recreate_postgres_database(connection) -> None:
    import psycopg

    params = connection.settings_dict
    name = params["NAME"]
    with psycopg.connect(
        host=params["HOST"],
        port=params["PORT"] or 5432,
        user=params["USER"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    main()
