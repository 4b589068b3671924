"""Fengqiao settings: one file, driven by the environment.

Nothing set → SQLite under ``var/`` and an embedded SqliteHuey queue (development and demo).
``DATABASE_URL`` / ``REDIS_URL`` → PostgreSQL and RedisHuey. ``FENGQIAO_ENV=production`` turns on
the deployment hardening that ``manage.py check --deploy`` asks for and refuses to start without
real secrets.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = Path(os.environ.get("FENGQIAO_HOME", Path.cwd()))
VAR_DIR = Path(os.environ.get("FENGQIAO_VAR_DIR", PROJECT_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_secret(name: str, default: str = "") -> str:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (Docker/K8s secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def _dev_secret(filename: str, nbytes: int) -> str:
    """A development secret persisted under var/, so restarts keep sessions and encrypted data.

    Only used when FENGQIAO_ENV is not production; production refuses to start without the
    environment variable (see below).
    """
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / filename
    if not path.exists():
        path.write_text(secrets.token_urlsafe(nbytes), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


ENVIRONMENT = env_str("FENGQIAO_ENV", "development")
PRODUCTION = ENVIRONMENT == "production"
# pytest imports settings before any conftest can set the environment.
TESTING = env_bool("FENGQIAO_TESTING") or "pytest" in sys.modules
DEBUG = env_bool("FENGQIAO_DEBUG", False)

SECRET_KEY = env_secret("FENGQIAO_SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise RuntimeError("FENGQIAO_SECRET_KEY (or FENGQIAO_SECRET_KEY_FILE) must be set")
    SECRET_KEY = _dev_secret("secret_key", 48)

ALLOWED_HOSTS = env_list(
    "FENGQIAO_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("FENGQIAO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_static",
    "axes",
    "huey.contrib.djhuey",
    "ninja",
    "fengqiao.core",
    "fengqiao.regions",
    "fengqiao.accounts",
    "fengqiao.cases",
    "fengqiao.mediation",
    "fengqiao.tips",
    "fengqiao.api",
]

MIDDLEWARE = [
    # First: the tip line's anonymous routes lose address, agent and session before anything else.
    "fengqiao.tips.middleware.AnonymousIntakeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "fengqiao.core.middleware.RequestIdMiddleware",
    "fengqiao.core.middleware.ApiErrorShapeMiddleware",
    "fengqiao.core.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "fengqiao.accounts.middleware.SessionPolicyMiddleware",
    "fengqiao.core.middleware.DenyByDefaultMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "fengqiao.core.middleware.SecurityHeadersMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "fengqiao.urls"
WSGI_APPLICATION = "fengqiao.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fengqiao.accounts.context_processors.memberships",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite: WAL for concurrent readers beside one writer; secure_delete so deleted personal data is
# overwritten on disk (SECURITY.md 18); IMMEDIATE transactions so writers queue on busy_timeout
# instead of failing with "database is locked" at commit. A case intake appends ≈ 40 pages to
# the WAL: at the default of 1000 pages every 25th intake would pay a checkpoint (two fsyncs) in
# its own request; at 10000 (≈ 40 MB of log) one in 250 does, and hot pages are copied once.
# journal_size_limit keeps up to 64 MiB of log file to reuse when the log restarts. At 0 the
# first commit after each restart truncated the file, ≈ 0.75 ms per MB on the bench machine
# (30 ms inside one intake for a 40 MB log). Old page images (deleted rows included) kept in the
# file are removed by the minute job core.jobs.truncate_sqlite_log, which empties the file at a
# moment when no other connection is using the log (core/sqlite/wal.py). temp_store=MEMORY keeps
# statement journals in memory. A statement inside a transaction saves the pages it changes first;
# past 64 KiB (an intake's case INSERT touches a page in each of its indexes) SQLite spilled them
# to a file: about two intakes in three created, wrote and unlinked one under /var/tmp (strace on
# a bench worker), with those pages, personal data included, on disk outside the database that
# secure_delete looks after. Sorts and transient indexes (CREATE INDEX in a migration, an
# unindexed ORDER BY) are kept in memory too instead of spilling to /var/tmp.
SQLITE_PATH = VAR_DIR / "fengqiao.sqlite3"
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{SQLITE_PATH}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Django's backend, with write transactions that wait for the lock in short steps
    # (core/sqlite/base.py: the busy handler's sleeps left the CPU idle between two writers).
    DATABASES["default"]["ENGINE"] = "fengqiao.core.sqlite"
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA secure_delete=ON; PRAGMA synchronous=NORMAL; "
            "PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=10000; "
            "PRAGMA journal_size_limit=67108864; PRAGMA temp_store=MEMORY;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests use a real file (not :memory:) so canary tests can scan the bytes on disk.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["connect_timeout"] = 5
    # Server-side parameters, and statements a connection runs repeatedly prepared once (the
    # fifth run on): PostgreSQL then stops re-planning each page's joins, which cost its backends
    # more CPU than running them. Off behind a transaction-pooling proxy (PgBouncer < 1.21),
    # which cannot keep a prepared statement with its connection.
    if env_bool("FENGQIAO_PG_PREPARED", True):
        _options["server_side_binding"] = True
        _options["prepare_threshold"] = 5
# Persistent connections on both backends. A fresh SQLite connection per request re-runs the
# PRAGMAs, re-reads the schema and starts with a cold page cache, which cost a gunicorn worker more
# CPU than the authenticated no-op request itself. Between requests a connection is in autocommit
# and holds no snapshot, so WAL checkpoints are not held back; each worker has its own.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("FENGQIAO_DB_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # services own their transactions
USES_SQLITE = DATABASES["default"]["ENGINE"] == "fengqiao.core.sqlite"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Redis, cache, jobs ---------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    # A file cache is shared by every gunicorn worker on the machine (rate limits, lockouts).
    # Parallel test processes each get their own, as they each get their own database: a test
    # that clears the cache or fills a rate limit must not reach into another process's test.
    _cache_dir = "cache"
    if TESTING and os.environ.get("PYTEST_XDIST_WORKER"):
        _cache_dir = f"cache-{os.environ['PYTEST_XDIST_WORKER']}"
    CACHES = {
        "default": {
            "BACKEND": "fengqiao.core.cache.FileCache",
            "LOCATION": str(VAR_DIR / _cache_dir),
            "OPTIONS": {"MAX_ENTRIES": 50_000},
        }
    }

HUEY_IMMEDIATE = env_bool("FENGQIAO_HUEY_IMMEDIATE", TESTING)
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": env_str("FENGQIAO_HUEY_NAME", "fengqiao"),
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": env_int("FENGQIAO_WORKERS", 2), "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "fengqiao",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": env_int("FENGQIAO_WORKERS", 2), "worker_type": "thread"},
    }

# --- Authentication -------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
# ASVS 6.2: length 12–128, common passwords refused, no composition rules unless the deployment's
# assessor asks for 等保-style complexity and expiry (FENGQIAO_PASSWORD_COMPLEXITY=1).
PASSWORD_COMPLEXITY = env_bool("FENGQIAO_PASSWORD_COMPLEXITY", False)
PASSWORD_EXPIRY_DAYS = env_int("FENGQIAO_PASSWORD_EXPIRY_DAYS", 90 if PASSWORD_COMPLEXITY else 0)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "fengqiao.accounts.passwords.LengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if PASSWORD_COMPLEXITY:
    AUTH_PASSWORD_VALIDATORS.append({"NAME": "fengqiao.accounts.passwords.ComplexityValidator"})

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:workbench"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lockout: 5 failures per account + IP, 15 minutes (SECURITY.md 2).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "fengqiao.accounts.views.lockout_response"
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_VERBOSE = False
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

OTP_TOTP_ISSUER = "Fengqiao 枫桥"
OTP_TOTP_THROTTLE_FACTOR = 1

# Sessions: server-side, 15 minutes idle (the cookie age is renewed on every request), 12 hours
# absolute (enforced by accounts.middleware.SessionPolicyMiddleware). SECURITY.md 4.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_IDLE_SECONDS = env_int("FENGQIAO_SESSION_IDLE_SECONDS", 15 * 60)
SESSION_ABSOLUTE_SECONDS = env_int("FENGQIAO_SESSION_ABSOLUTE_SECONDS", 12 * 3600)
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS
# Saved when changed; SessionPolicyMiddleware records activity once a minute (a write per page
# view would cost every read a database write, on SQLite a turn at the write lock).
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]  # vendored Bootstrap/htmx and the site files
STATIC_ROOT = Path(env_str("FENGQIAO_STATIC_ROOT", str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start without it
MEDIA_ROOT = Path(env_str("FENGQIAO_MEDIA_ROOT", str(VAR_DIR / "media")))
# Largest accepted case attachment (SECURITY 15); Django spools bigger uploads to disk first.
FENGQIAO_UPLOAD_MAX_BYTES = env_int("FENGQIAO_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
# The citizen case form and tracking lookups (SECURITY 16): per client address and in total.
CASES_REPORT_RATE = env_str("FENGQIAO_CASES_REPORT_RATE", "10/h")
CASES_REPORT_RATE_TOTAL = env_str("FENGQIAO_CASES_REPORT_RATE_TOTAL", "600/h")
CASES_TRACK_RATE = env_str("FENGQIAO_CASES_TRACK_RATE", "60/m")

# --- Field encryption (SECURITY.md 17) ------------------------------------------------------
# FENGQIAO_FIELD_KEYS: "id:base64key,id:base64key" (32-byte keys; SM4 uses the first 16 bytes
# of an HKDF-derived key). FENGQIAO_FIELD_KEY_ID picks the key new values are written with; old
# ids stay readable until rotated away. FENGQIAO_BLIND_INDEX_KEY keys the HMAC blind indexes.
FENGQIAO_CRYPTO = env_str("FENGQIAO_CRYPTO", "sm")  # "sm" (SM4-GCM/SM3) or "aes" (AES-GCM/SHA-256)
FIELD_KEYS = env_secret("FENGQIAO_FIELD_KEYS")
BLIND_INDEX_KEY = env_secret("FENGQIAO_BLIND_INDEX_KEY")
if not FIELD_KEYS or not BLIND_INDEX_KEY:
    if PRODUCTION:
        raise RuntimeError("FENGQIAO_FIELD_KEYS and FENGQIAO_BLIND_INDEX_KEY must be set")
    FIELD_KEYS = FIELD_KEYS or "1:" + _dev_secret("field_key_1", 32)
    BLIND_INDEX_KEY = BLIND_INDEX_KEY or _dev_secret("blind_index_key", 32)
FIELD_KEY_ID = env_str("FENGQIAO_FIELD_KEY_ID", FIELD_KEYS.split(",")[-1].split(":")[0])

# --- Tip line (ARCHITECTURE §8) -------------------------------------------------------------
# The server keeps HMAC(pepper, receipt), never the receipt: losing the pepper loses every
# reporter's access; changing it invalidates every receipt issued.
TIP_RECEIPT_PEPPER = env_secret("FENGQIAO_TIP_PEPPER")
if not TIP_RECEIPT_PEPPER:
    if PRODUCTION:
        raise RuntimeError("FENGQIAO_TIP_PEPPER (or FENGQIAO_TIP_PEPPER_FILE) must be set")
    TIP_RECEIPT_PEPPER = _dev_secret("tip_pepper", 32)
# Rate limits of the anonymous routes ("count/period", e.g. 30/m, 20/10m); they fail closed.
TIPS_SUBMIT_RATE = env_str("FENGQIAO_TIPS_SUBMIT_RATE", "30/m")
TIPS_LOOKUP_RATE = env_str("FENGQIAO_TIPS_LOOKUP_RATE", "120/m")
TIPS_LOOKUP_PER_RECEIPT_RATE = env_str("FENGQIAO_TIPS_LOOKUP_PER_RECEIPT_RATE", "20/10m")
# Clocks (DOMAIN §5): verify within 30 natural days; forward / take up within 5 working days.
TIPS_VERIFY_NATURAL_DAYS = env_int("FENGQIAO_TIPS_VERIFY_DAYS", 30)
TIPS_FORWARD_WORKING_DAYS = env_int("FENGQIAO_TIPS_FORWARD_WORKING_DAYS", 5)

# --- Audit ----------------------------------------------------------------------------------
# Cybersecurity Law art. 21: logs kept at least six months; a shorter setting is refused by the
# core.checks validator.
AUDIT_RETENTION_DAYS = env_int("FENGQIAO_AUDIT_RETENTION_DAYS", 365)

# --- Demo mode ------------------------------------------------------------------------------
# Demo accounts exist only when asked for explicitly (`fengqiao demo`); this flag lets the login
# page show the hint.
DEMO_MODE = env_bool("FENGQIAO_DEMO", False)

# --- Security headers (SECURITY.md 20) ------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
# same-origin, not no-referrer: under no-referrer browsers send "Origin: null" on every form POST
# and Django's CSRF origin check refuses it. same-origin still sends nothing to any other site,
# which is what the rule protects (case codes and ids in URLs never leave the platform).
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("FENGQIAO_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("FENGQIAO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env_str("FENGQIAO_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "fengqiao.core.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Request lines carry client addresses; the access log is written by gunicorn for the
        # routes the law requires, and the tip line's routes are excluded there.
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
        "huey": {"level": "WARNING"},
        # Pillow's decoders log every EXIF tag's value at DEBUG (camera, author, GPS block): an
        # upload's metadata, which attachments strip, must not reach the logs instead.
        "PIL": {"level": "INFO"},
    },
}

# --- API ------------------------------------------------------------------------------------
NINJA_PAGINATION_PER_PAGE = 50
