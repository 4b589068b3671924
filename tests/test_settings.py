"""Settings come from the environment: SQLite + SqliteHuey by default, PostgreSQL + RedisHuey on
request, hardened production settings, and the SQLite pragmas the security rules rely on."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'huey': settings.HUEY['huey_class'], 'cache': settings.CACHES['default']['BACKEND'], "
    "'cookie_secure': settings.SESSION_COOKIE_SECURE, 'debug': settings.DEBUG}))"
)


def probe_settings(tmp_path, **env) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    clean.update(DJANGO_SETTINGS_MODULE="fengqiao.settings", FENGQIAO_VAR_DIR=str(tmp_path), **env)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=clean, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_nothing_set_means_sqlite_and_sqlitehuey(tmp_path):
    result = probe_settings(tmp_path)
    assert result["engine"] == "fengqiao.core.sqlite"
    assert result["huey"] == "huey.SqliteHuey"
    assert result["debug"] is False


def test_urls_select_postgresql_and_redishuey(tmp_path):
    result = probe_settings(
        tmp_path, DATABASE_URL="postgres://u@127.0.0.1:5432/x", REDIS_URL="redis://127.0.0.1:6379/0"
    )
    assert result["engine"] == "django.db.backends.postgresql"
    assert result["huey"] == "huey.RedisHuey"
    assert result["cache"] == "django.core.cache.backends.redis.RedisCache"


def test_production_refuses_to_start_without_secrets(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FENGQIAO_")}
    clean.update(FENGQIAO_ENV="production", FENGQIAO_VAR_DIR=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=clean, capture_output=True, text=True, check=False
    )
    assert out.returncode != 0
    assert "FENGQIAO_SECRET_KEY" in out.stderr


def test_production_cookies_are_secure(tmp_path):
    result = probe_settings(
        tmp_path,
        FENGQIAO_ENV="production",
        FENGQIAO_SECRET_KEY="k" * 60,
        FENGQIAO_ALLOWED_HOSTS="fengqiao.example.gov.cn",
        FENGQIAO_FIELD_KEYS="1:" + "a" * 44,
        FENGQIAO_BLIND_INDEX_KEY="b" * 44,
        FENGQIAO_TIP_PEPPER="p" * 44,
    )
    assert result["cookie_secure"] is True


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_secure_delete():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite pragmas")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA secure_delete")
        assert cursor.fetchone()[0] == 1
