"""Place → region: time per text match and per full lookup on the shipped Shaoxing divisions.

    .venv/bin/python bench/places.py [--rounds 2000]

A throw-away SQLite database under a temp dir; prints medians and the command.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ["诸暨市枫桥镇枫源村3组12号", "枫源村", "越城区塔山街道花园社区", "新昌县"]


def per_call_ms(call, rounds: int) -> float:
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds):
            for text in TEXTS:
                call(text)
        samples.append((time.perf_counter() - started) / (rounds * len(TEXTS)) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    os.environ["FENGQIAO_VAR_DIR"] = tempfile.mkdtemp(prefix="fq-bench-places-")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fengqiao.settings")
    sys.path.insert(0, str(ROOT / "src"))

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from fengqiao.regions import places, services

    services.load_shipped_divisions()
    places.resolve_place(text=TEXTS[0])  # builds the name index
    index = places._name_index()
    match = per_call_ms(lambda text: places._from_text(index, text), args.rounds)
    lookup = per_call_ms(lambda text: places.resolve_place(text=text), max(args.rounds // 10, 1))
    print(f"text match (cached index): {match:.4f} ms median per text")
    print(f"full lookup (match + region fetch): {lookup:.4f} ms median per text")
    print(f"reproduce: python bench/places.py --rounds {args.rounds}")


if __name__ == "__main__":
    main()
