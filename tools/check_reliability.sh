#!/usr/bin/env bash
# The full reliability checks (SECURITY §Reliability): kill test with the broken variants, the same
# on PostgreSQL, the database-restart drill. `make test` runs small versions of each; this runs
# them at size. Every step prints its figures and the command that reproduces it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_URL="${FENGQIAO_RELIABILITY_PG:-postgres://postgres@127.0.0.1:5432/fq_reliability}"
unset DATABASE_URL REDIS_URL FENGQIAO_TESTING FENGQIAO_VAR_DIR

step() { printf '\n==> %s\n' "$*"; }

step "kill test on SQLite: 3000 submissions, 20 kills, broken variants first"
$BIN/python bench/killtest.py --submissions 3000 --kills 20 --prove

step "kill test on PostgreSQL: 1000 submissions, 10 kills"
$BIN/python bench/killtest.py --submissions 1000 --kills 10 --database-url "$PG_URL"

step "database restart under load (throw-away PostgreSQL cluster)"
$BIN/python bench/dbrestart.py --seconds 60 --outage 5 --restarts 3

step "schemathesis per role and anonymous, hypothesis over Open311 and the public forms, at depth"
FENGQIAO_TESTING=1 FENGQIAO_VAR_DIR="${TMPDIR:-/tmp}/fq-reliability-fuzz" FENGQIAO_FUZZ_EXAMPLES=50 \
  FENGQIAO_FUZZ_COVERAGE=all $BIN/pytest tests/security/test_schemathesis.py tests/security/test_fuzz_public.py -q -p no:xdist

step "mixed load for 5 minutes on the benchmark data set (bench/generate.py --cases 1000000 first)"
if [ -f /tmp/fq-bench/sqlite/fengqiao.sqlite3 ]; then
  $BIN/python bench/load.py --var-dir /tmp/fq-bench/sqlite --seconds 300
else
  printf '!! no benchmark data set under /tmp/fq-bench/sqlite: %s\n' \
    "run .venv/bin/python bench/generate.py --cases 1000000 --var-dir /tmp/fq-bench/sqlite"
  exit 1
fi

step "backup, then a restore drill of the benchmark data set"
FENGQIAO_VAR_DIR=/tmp/fq-bench/sqlite $BIN/fengqiao backup /tmp/fq-bench/backup --drill
