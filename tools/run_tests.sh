#!/usr/bin/env bash
# Every check CI runs, in order: lint, Django checks, migrations, the suite on SQLite, the same
# suite on PostgreSQL, then the browser tests in Debian Chromium. On a laptop a missing PostgreSQL
# or Chromium is a loud skip; in CI (CI=true) it is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export FENGQIAO_TESTING=1
export FENGQIAO_VAR_DIR="${FENGQIAO_VAR_DIR:-$PWD/var/test-run}"
mkdir -p "$FENGQIAO_VAR_DIR"
PG_HOST="${FENGQIAO_TEST_PG_HOST:-127.0.0.1}"
PG_PORT="${FENGQIAO_TEST_PG_PORT:-5432}"
PG_USER="${FENGQIAO_TEST_PG_USER:-postgres}"
CHROMIUM="${FENGQIAO_CHROMIUM:-/usr/bin/chromium}"
workers="${FENGQIAO_TEST_WORKERS:-2}"
failures=0
skips=()

step() { printf '\n==> %s\n' "$*"; }
missing() {
  if [ "${CI:-}" = "true" ]; then
    printf '\n!! FAILURE: %s is required in CI\n' "$1"; failures=$((failures + 1))
  else
    printf '\n!! SKIPPED: %s (not available on this machine)\n' "$1"; skips+=("$1")
  fi
}

step "ruff"
$BIN/ruff check src tests bench
$BIN/ruff format --check src tests bench

step "django checks and migrations (SQLite)"
(unset DATABASE_URL REDIS_URL; $BIN/fengqiao check --fail-level WARNING)
(unset DATABASE_URL REDIS_URL; $BIN/fengqiao makemigrations --check --dry-run)

step "deployment checks with production settings"
FENGQIAO_ENV=production FENGQIAO_SECRET_KEY="$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')x" \
  FENGQIAO_ALLOWED_HOSTS=fengqiao.example.gov.cn \
  FENGQIAO_FIELD_KEYS="1:$(head -c 32 /dev/urandom | base64 | tr -d '\n')" \
  FENGQIAO_BLIND_INDEX_KEY="$(head -c 32 /dev/urandom | base64 | tr -d '\n')" \
  FENGQIAO_TIP_PEPPER="$(head -c 32 /dev/urandom | base64 | tr -d '\n')" \
  $BIN/fengqiao check --deploy --fail-level WARNING

step "test suite on SQLite"
(unset DATABASE_URL REDIS_URL; $BIN/pytest -m "not e2e" -n "$workers" -q)

step "test suite on PostgreSQL"
if pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null \
   || $BIN/python -c "import psycopg,sys; psycopg.connect(host='$PG_HOST', port=$PG_PORT, user='$PG_USER', dbname='postgres', connect_timeout=3).close()" 2>/dev/null; then
  # A fresh database per run: pytest-django creates test_<name> and drops it afterwards.
  db="fengqiao_run_$$_$(date +%s)"
  DATABASE_URL="postgres://$PG_USER@$PG_HOST:$PG_PORT/$db" \
    REDIS_URL="${FENGQIAO_TEST_REDIS_URL:-}" $BIN/pytest -m "not e2e" -n "$workers" -q
else
  missing "PostgreSQL at $PG_HOST:$PG_PORT"
fi

step "browser tests (Playwright, Debian Chromium)"
if [ -x "$CHROMIUM" ]; then
  FENGQIAO_CHROMIUM="$CHROMIUM" $BIN/pytest -m e2e -q -p no:xdist
else
  missing "Chromium at $CHROMIUM (apt-get install chromium)"
fi

step "reliability (small versions; make check-reliability runs the full ones)"
# Both steps start their own servers against their own databases; run from a clean tree.
(unset DATABASE_URL REDIS_URL FENGQIAO_TESTING FENGQIAO_VAR_DIR
 $BIN/python bench/killtest.py --submissions 300 --kills 5 --prove)
(unset DATABASE_URL REDIS_URL FENGQIAO_TESTING FENGQIAO_VAR_DIR
 $BIN/python bench/load.py --small)
if command -v pg_createcluster >/dev/null && [ "$(id -u)" = 0 ]; then
  (unset DATABASE_URL REDIS_URL FENGQIAO_TESTING FENGQIAO_VAR_DIR
   $BIN/python bench/dbrestart.py --seconds 12 --outage 3 --restarts 2)
else
  missing "PostgreSQL cluster tools as root (pg_createcluster) for the database-restart drill"
fi

if [ "${#skips[@]}" -gt 0 ]; then
  printf '\n!! Skipped on this machine: %s\n' "${skips[*]}"
fi
if [ "$failures" -gt 0 ]; then
  printf '\n%d required part(s) missing\n' "$failures"
  exit 1
fi
