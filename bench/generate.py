"""Generate a city-scale case database: Shaoxing, N cases over the last 12 months, full histories.

Run:  .venv/bin/python bench/generate.py --cases 1000000 [--seed 2026] [--now 2026-05-10T15:00+08:00]
          [--var-dir /tmp/fq-bench/sqlite | --database-url postgres://postgres@127.0.0.1:5432/fq_bench_cases]

It recreates the database (the SQLite file under the var dir, or drops and creates the named
PostgreSQL database), migrates, loads the Shaoxing divisions, grids and units, the shipped taxonomy,
then bulk-loads cases with what the services would have written along the way: the case row with
its clocks, cards and closure, one ``StatusChange`` per step (report, accept, assign, sign,
feedback, verify, evaluate, returns, escalations, extensions, suspensions, cards, supervision),
points entries, parties for a share of cases (sealed and blind-indexed like the model does) and the
``CaseSequence`` rows, so later intake continues the numbering. Same seed and same ``--now`` give
the same data.

Speed: rows are written as tuples in large batches (SQLite ``executemany``, PostgreSQL ``COPY``),
with the secondary indexes of the bulk tables dropped during the load and recreated from their own
DDL afterwards, and foreign-key checks off during the load (the data is generated consistent; the
constraints stay in the schema). Then ANALYZE.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import sys
import time
import uuid
from bisect import bisect_right
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VAR_DIR = "/tmp/fq-bench/sqlite"
DEFAULT_SEED = 2026
LOCAL_OFFSET = 8 * 3600  # Asia/Shanghai, no daylight saving
DAY = 86400
HOUR = 3600
EPOCH_DATE = date(1970, 1, 1)
BULK_TABLES = (
    "cases_case",
    "cases_statuschange",
    "cases_party",
    "cases_pointentry",
    "cases_casesequence",
)


# --- environment ---------------------------------------------------------------------------------


def configure(var_dir: str, database_url: str) -> None:
    """Point the settings at the bench database and start Django (shared with bench/cases.py)."""
    os.environ["FENGQIAO_VAR_DIR"] = var_dir
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fengqiao.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def recreate_database(var_dir: str) -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        import psycopg

        params = connection.settings_dict
        connection.close()
        with psycopg.connect(
            host=params["HOST"] or "127.0.0.1",
            port=params["PORT"] or 5432,
            user=params["USER"],
            password=params["PASSWORD"] or None,
            dbname="postgres",
            autocommit=True,
        ) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{params["NAME"]}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{params["NAME"]}"')
        return
    connection.close()
    path = Path(connection.settings_dict["NAME"])
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# --- time helpers (integer UTC epoch seconds throughout) ----------------------------------------


def local_day(ts: int) -> int:
    """Days since 1970-01-01 of the Asia/Shanghai date of ``ts``."""
    return (ts + LOCAL_OFFSET) // DAY


def end_of_local_day(day: int) -> int:
    return (day + 1) * DAY - LOCAL_OFFSET - 1


def start_of_local_day(day: int) -> int:
    return day * DAY - LOCAL_OFFSET


class Formatter:
    """UTC timestamps as the text both backends read: 'YYYY-MM-DD HH:MM:SS' (+00 for PostgreSQL)."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix
        self.days: dict[int, str] = {}

    def __call__(self, ts: int | None) -> str | None:
        if ts is None:
            return None
        d, s = divmod(ts, DAY)
        day = self.days.get(d)
        if day is None:
            day = self.days[d] = (EPOCH_DATE + timedelta(days=d)).isoformat()
        h, s = divmod(s, HOUR)
        m, s = divmod(s, 60)
        return f"{day} {h:02d}:{m:02d}:{s:02d}{self.suffix}"


class Calendar:
    """Working days from the app's own calendar (core.workdays), precomputed for the range."""

    def __init__(self, first_day: int, last_day: int) -> None:
        from fengqiao.core import workdays

        self.working = [
            d
            for d in range(first_day, last_day + 1)
            if workdays.is_working_day(EPOCH_DATE + timedelta(days=d))
        ]

    def add(self, day: int, n: int) -> int:
        """The n-th working day after ``day`` (the start day is not counted)."""
        return self.working[bisect_right(self.working, day) + n - 1]


class Policy:
    """A ClockPolicy row, with the deadline rules of cases.clocks."""

    def __init__(self, row, calendar: Calendar) -> None:
        self.id = row.id
        self.working = row.basis == "working"
        self.row = row
        self.calendar = calendar

    def add(self, ts: int, days: int) -> int:
        if self.working:
            return end_of_local_day(self.calendar.add(local_day(ts), days))
        return ts + days * DAY

    def accept(self, ts: int) -> tuple[int, int]:
        return self.add(ts, self.row.accept_days), self.add(ts, self.row.accept_red_days)

    def handle(self, ts: int, urgent: bool) -> tuple[int, int]:
        if urgent:
            days = self.row.urgent_handle_days
            return ts + days * DAY, ts + 2 * days * DAY
        cap = ts + self.row.max_handle_days * DAY
        return (
            min(self.add(ts, self.row.handle_days), cap),
            min(self.add(ts, self.row.handle_red_days), cap),
        )

    def visit_due(self, closed: int) -> int:
        return start_of_local_day(local_day(closed) + self.row.visit_after_days)


# --- taxonomy ------------------------------------------------------------------------------------

# Shares of case kinds and, inside a kind, relative weights of categories by code (DOMAIN §1, §9:
# most disputes are family, neighbour, homestead, property and labour ones). Unknown codes get 0.3.
KIND_SHARE = {
    "dispute": 0.55,
    "livelihood": 0.22,
    "hazard": 0.12,
    "security": 0.08,
    "petition": 0.03,
}
CATEGORY_WEIGHT = {
    "dispute.neighbour": 14,
    "dispute.marriage_family": 12,
    "dispute.homestead": 7,
    "dispute.labour": 7,
    "dispute.property_management": 5,
    "dispute.damages": 4,
    "dispute.loan_debt": 4,
    "dispute.civil_other": 4,
    "dispute.contract": 3,
    "dispute.traffic_accident": 3,
    "dispute.other": 2,
    "dispute.consumer": 2,
    "dispute.land_ownership": 1.5,
    "dispute.land_contract": 1.5,
    "dispute.village_affairs": 1.5,
    "dispute.land_acquisition": 1.5,
    "dispute.business": 1.5,
    "dispute.environment": 1,
    "dispute.construction_quality": 1,
    "dispute.collective_assets": 0.8,
    "dispute.medical": 0.6,
    "hazard.fire": 3,
    "hazard.work_safety": 3,
    "hazard.food_hygiene": 2,
    "hazard.pollution": 2,
    "hazard.public_safety": 2,
    "hazard.other": 1,
    "security.theft": 6,
    "security.gambling": 2,
    "security.snatching": 0.6,
    "security.robbery": 0.3,
    "security.drugs": 0.5,
    "security.prostitution": 0.5,
    "security.gang": 0.3,
    "livelihood.social_insurance": 3,
    "livelihood.healthcare": 2,
    "livelihood.housing": 2,
    "livelihood.utilities": 3,
    "livelihood.transport": 2,
    "livelihood.documents": 2,
    "livelihood.employment": 1.5,
    "livelihood.education": 1.5,
}


def ensure_taxonomy() -> str:
    """The shipped taxonomy: from the migration if it seeded one, else its loader, else the JSON."""
    from fengqiao.cases.models import Category

    if Category.objects.exists():
        return "from migrations"
    try:
        from fengqiao.cases import taxonomy

        taxonomy.load_shipped()
        return "cases.taxonomy.load_shipped()"
    except (ImportError, AttributeError):
        _load_taxonomy_json()
        return "bench loader of cases/data/taxonomy.json (no migration or loader yet)"


def _load_taxonomy_json() -> None:
    from fengqiao.cases.models import Category, CategoryRule, ClockPolicy

    data = json.loads((ROOT / "src/fengqiao/cases/data/taxonomy.json").read_text("utf-8"))
    policies = {p["code"]: ClockPolicy.objects.create(**p) for p in data["clock_policies"]}
    by_code: dict[str, Category] = {}
    pending_stats: list[tuple[Category, str]] = []
    order = 0

    def add(item: dict, taxonomy: str, kind: str, reportable: bool, parent=None) -> None:
        nonlocal order
        order += 1
        category = Category.objects.create(
            code=item["code"],
            name=item["name"],
            name_en=item.get("name_en", ""),
            taxonomy=taxonomy,
            kind=item.get("kind", kind),
            parent=parent,
            sort_order=order,
            is_reportable=reportable and not item.get("children"),
        )
        by_code[category.code] = category
        if item.get("statistics_class"):
            pending_stats.append((category, item["statistics_class"]))
        if item.get("rule"):
            rule = data["rules"][item["rule"]]
            CategoryRule.objects.create(
                category=category,
                default_level=rule["level"],
                handling_unit_kind=rule["unit_kind"],
                escalate_severity=rule["escalate_severity"],
                escalate_level=rule["escalate_level"] or "",
                clock_policy=policies[rule["clock_policy"]],
            )
        for child in item.get("children", ()):
            add(child, taxonomy, kind, reportable, category)

    for taxonomy, tree in data["taxonomies"].items():
        for item in tree["categories"]:
            add(item, taxonomy, tree.get("kind", "other"), tree.get("reportable", True))
    for category, stats_code in pending_stats:
        category.statistics_class = by_code[stats_code]
        category.save(update_fields=["statistics_class"])


# --- people who act ------------------------------------------------------------------------------

ROLE_OF_KIND = {
    "grid_station": "grid_worker",
    "mediation_committee": "village_mediator",
    "command_room": "town_operator",
    "governance_centre": "centre_staff",
    "anti_gang_office": "anti_gang_handler",
    "discipline_commission": "discipline_liaison",
    "political_legal_committee": "inspector",
}


def create_staff() -> dict[int, int]:
    """One working account per unit (unusable password), so timeline rows carry an actor."""
    from django.contrib.auth.hashers import make_password

    from fengqiao.accounts.models import Membership, User
    from fengqiao.regions.models import Unit

    units = list(
        Unit.objects.exclude(kind="administration").values_list("id", "kind", "region_code")
    )
    password = make_password(None)
    User.objects.bulk_create(
        [
            User(username=f"bench_u{uid}", full_name=f"工作人员{uid}", password=password)
            for uid, _, _ in units
        ],
        batch_size=2000,
    )
    user_ids = dict(
        User.objects.filter(username__startswith="bench_u").values_list("username", "id")
    )
    Membership.objects.bulk_create(
        [
            Membership(
                user_id=user_ids[f"bench_u{uid}"],
                unit_id=uid,
                role=ROLE_OF_KIND.get(kind, "department_handler"),
                region_code=code,
            )
            for uid, kind, code in units
        ],
        batch_size=2000,
    )
    return {uid: user_ids[f"bench_u{uid}"] for uid, _, _ in units}


# --- table specs ---------------------------------------------------------------------------------


class Table:
    """The columns the generator produces for a model, plus constants for any other column
    (fields added later by others), so the generator keeps working as the schema grows."""

    def __init__(self, model, produced: tuple[str, ...], vendor: str) -> None:
        from django.db.models import NOT_PROVIDED

        self.name = model._meta.db_table
        columns = {f.column: f for f in model._meta.concrete_fields}
        missing = [c for c in produced if c not in columns]
        if missing:
            raise SystemExit(f"{self.name}: the model has no column(s) {missing}")
        extras = []
        for column, field in columns.items():
            if column in produced:
                continue
            if field.default is not NOT_PROVIDED and not callable(field.default):
                value = field.default
                value = (
                    (int(value) if vendor == "sqlite" else value)
                    if isinstance(value, bool)
                    else value
                )
            elif field.null:
                value = None
            elif field.get_internal_type() in ("CharField", "TextField"):
                value = ""
            else:
                raise SystemExit(f"{self.name}.{column} is required and unknown to the generator")
            extras.append((column, value))
        self.columns = (*produced, *(c for c, _ in extras))
        self.extras = tuple(v for _, v in extras)


CASE_COLUMNS = (
    "id", "created_at", "updated_at", "public_id", "code", "tracking_token_hash", "kind",
    "category_id", "channel", "external_ref", "title", "description", "occurred_at",
    "reported_at", "place_text", "latitude", "longitude", "region_id", "region_code",
    "region_resolution", "severity", "urgency", "people_count", "amount", "status", "level",
    "owner_unit_id", "handler_unit_id", "reported_by_id", "clock_policy_id", "accept_due_at",
    "accept_red_at", "handle_due_at", "handle_red_at", "paused_at", "paused_seconds",
    "status_before_suspend", "extension_days_requested", "extension_reason", "supervision",
    "supervised_by_id", "risk_score", "risk_tier", "may_turn_violent", "duplicate_of_id",
    "closure_method", "resolved", "closure_summary", "closed_at", "visit_due_at", "visited_at",
    "visit_notified_at", "satisfaction", "evaluation_comment", "evaluation_channel", "evaluated_at",
)  # fmt: skip
CHANGE_COLUMNS = (
    "id", "case_id", "action", "from_status", "to_status", "at", "actor_id", "actor_unit_id",
    "from_unit_id", "to_unit_id", "level", "region_code", "kind", "on_time", "is_public",
    "reason", "detail",
)  # fmt: skip
PARTY_COLUMNS = (
    "id", "created_at", "updated_at", "public_id", "case_id", "role", "name", "id_number",
    "phone", "address", "name_index", "id_number_index", "phone_index", "id_number_tail",
    "phone_tail",
)  # fmt: skip
POINT_COLUMNS = ("id", "unit_id", "case_id", "reason", "points", "at", "region_code")
SEQUENCE_COLUMNS = ("id", "prefix", "day", "last")


class Writer:
    """Batched raw inserts: executemany on SQLite, COPY on PostgreSQL, one transaction per flush."""

    def __init__(self, tables: dict[str, Table]) -> None:
        from django.db import connection

        self.connection = connection
        self.vendor = connection.vendor
        self.tables = tables
        self.rows = 0

    def write(self, batches: dict[str, list[tuple]]) -> None:
        from django.db import transaction

        with transaction.atomic():
            cursor = self.connection.cursor()
            for key, rows in batches.items():
                if not rows:
                    continue
                table = self.tables[key]
                extras = table.extras
                if extras:
                    rows = [row + extras for row in rows]
                columns = ", ".join(f'"{c}"' for c in table.columns)
                if self.vendor == "postgresql":
                    raw = cursor.cursor
                    with raw.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    marks = ", ".join("?" * len(table.columns))
                    self.connection.connection.executemany(
                        f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', rows
                    )
                self.rows += len(rows)


def prepare_load(connection) -> list[tuple[str, str]]:
    """Session settings for a bulk load; drop the bulk tables' secondary indexes (their DDL is
    kept and replayed by ``finish_load``). Unique and primary-key indexes stay."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Foreign-key triggers off for this session only (superuser); the data is consistent.
            cursor.execute("SET session_replication_role = replica")
            cursor.execute("SET synchronous_commit = off")
            cursor.execute("SET maintenance_work_mem = '512MB'")
            cursor.execute(
                """
                SELECT i.indexname, i.indexdef FROM pg_indexes i
                WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
                  AND NOT EXISTS (
                    SELECT 1 FROM pg_constraint c
                    WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)
                """,
                [list(BULK_TABLES)],
            )
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
            cursor.execute("PRAGMA journal_mode = MEMORY")
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("PRAGMA cache_size = -1000000")
            cursor.execute("PRAGMA temp_store = MEMORY")
            placeholders = ", ".join("%s" for _ in BULK_TABLES)
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ({placeholders})",
                list(BULK_TABLES),
            )
        indexes = list(cursor.fetchall())
        for name, _sql in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    return indexes


def finish_load(connection, indexes: list[tuple[str, str]], analyze: bool) -> dict[str, float]:
    from django.core.management.color import no_style

    from fengqiao.cases import models as m

    timings: dict[str, float] = {}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for _name, sql in indexes:
            cursor.execute(sql)
    timings["indexes"] = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Explicit ids were loaded: move the sequences past them so intake does not collide.
            for sql in connection.ops.sequence_reset_sql(
                no_style(), [m.Case, m.StatusChange, m.Party, m.PointEntry, m.CaseSequence]
            ):
                cursor.execute(sql)
            cursor.execute("SET session_replication_role = DEFAULT")
            if analyze:
                cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("PRAGMA foreign_keys = ON")
            if analyze:
                cursor.execute("ANALYZE")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
    timings["analyze"] = time.perf_counter() - started
    return timings


# --- the generator -------------------------------------------------------------------------------

# Where cases come in (DOMAIN §3 channels), as shares.
CHANNELS = {
    "grid_app": 38, "hotline_12345": 15, "walk_in": 12, "visit": 8, "phone": 8, "wechat": 6,
    "web": 4, "referral_police": 3, "referral_petition": 2, "referral_court": 1.5, "sms": 1,
    "import": 0.5, "api": 0.5, "open311": 0.5,
}  # fmt: skip
POINT_CHANNELS = {"grid_app", "wechat", "web", "open311", "api"}
# Rough county centres (WGS-84) for plausible points; villages scatter around them.
COUNTY_CENTRES = {
    "330602": (30.00, 120.58),
    "330603": (30.08, 120.49),
    "330604": (30.03, 120.87),
    "330624": (29.50, 120.90),
    "330681": (29.71, 120.24),
    "330683": (29.59, 120.82),
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段章钱汤尹黎易常武乔贺赖龚文"  # noqa: E501
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国红梅鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳佳琪晨"
TITLES = {
    "dispute": ("{place}{cat}", "{place}村民反映{cat}", "{cat}：{place}"),
    "hazard": ("{place}发现{cat}隐患", "{cat}隐患（{place}）"),
    "security": ("{place}{cat}警情线索", "{cat}线索：{place}"),
    "livelihood": ("{place}群众{cat}诉求", "{cat}求助（{place}）"),
    "petition": ("{place}来访：{cat}", "{cat}（{place}）"),
}
DESCRIPTIONS = (
    "{place}群众反映{cat}问题，双方各执一词，请求有关部门协调处理。",
    "网格员走访发现{cat}情况，当事人情绪较为激动，需尽快介入化解。",
    "{place}居民来电反映{cat}事项，已初步了解情况，待进一步核实。",
    "群众通过线上渠道反映{cat}，涉及{place}，请属地及时处置并反馈。",
)
SUMMARIES = {
    "mediated": "经调解，双方达成一致意见，当场履行完毕。",
    "handled": "已现场处置完毕，群众表示认可。",
    "referred": "已告知当事人通过诉讼或仲裁途径解决，并做好解释工作。",
    "explained": "已向反映人解释相关政策，反映人表示理解。",
}
COMMENTS = ("处理及时，态度很好。", "满意。", "问题已解决，感谢。", "处理速度一般。", "")


def lognormal_seconds(rng: random.Random, median_hours: float, sigma: float) -> int:
    return max(60, int(median_hours * HOUR * math.exp(rng.gauss(0.0, sigma))))


class Generator:
    """Lookups and the life of one case; ``generate`` feeds it day by day and writes in batches."""

    def __init__(self, args, writer: Writer, vendor: str) -> None:
        from fengqiao.cases.models import Category, CategoryRule, ClockPolicy
        from fengqiao.regions.models import Region, Unit

        self.args = args
        self.writer = writer
        self.rng = random.Random(args.seed)
        self.fmt = Formatter("+00" if vendor == "postgresql" else "")
        self.flag = (
            (lambda b: b) if vendor == "postgresql" else (lambda b: None if b is None else int(b))
        )
        self.uuid_hex = lambda: uuid.UUID(int=self.rng.getrandbits(128), version=4).hex
        self.now = args.now_ts
        self.first_day = local_day(self.now) - 364
        self.calendar = Calendar(self.first_day - 10, local_day(self.now) + 400)
        self.staff = create_staff()

        self.policies = {p.id: Policy(p, self.calendar) for p in ClockPolicy.objects.all()}
        rules = {r.category_id: r for r in CategoryRule.objects.all()}
        leaves = [
            c
            for c in Category.objects.reportable().order_by("sort_order", "code")
            if c.id in rules and not c.children.exists()
        ]
        by_kind: dict[str, list] = {}
        for c in leaves:
            by_kind.setdefault(c.kind, []).append(c)
        self.categories, weights = [], []
        for kind, cats in by_kind.items():
            share = KIND_SHARE.get(kind, 0.0)
            total = sum(CATEGORY_WEIGHT.get(c.code, 0.3) for c in cats)
            for c in cats:
                rule = rules[c.id]
                self.categories.append((c, rule))
                weights.append(share * CATEGORY_WEIGHT.get(c.code, 0.3) / total)
        self.category_cum = list(accumulate(weights))

        units = list(Unit.objects.active().values_list("id", "kind", "region_code", "level"))
        self.unit = {(kind, code): uid for uid, kind, code, _ in units}
        self.unit_level = {uid: level for uid, _, _, level in units}
        self.unit_kind = {uid: kind for uid, kind, _, _ in units}
        regions = list(Region.objects.values_list("id", "code", "level", "full_name", "place_name"))
        self.region_id = {code: rid for rid, code, *_ in regions}
        self.full_name = {code: full for _, code, _, full, _ in regions}
        grids: dict[str, list[str]] = {}
        for _, code, level, *_ in regions:
            if level == "grid":
                grids.setdefault(code[:12], []).append(code)
        self.villages = []
        village_weights = []
        for _, code, level, _full, place in regions:
            if level != "village":
                continue
            self.villages.append((code, place, grids.get(code, [])))
            village_weights.append(self._population_proxy(code, place, len(grids.get(code, []))))
        self.village_cum = list(accumulate(village_weights))
        self.channel_names = list(CHANNELS)
        self.channel_cum = list(accumulate(CHANNELS.values()))
        self.sequences: Counter = Counter()
        self.next_change = 1
        self.next_party = 1
        self.next_point = 1
        self.stats: Counter = Counter()
        self.parties_seconds = 0.0

    def _population_proxy(self, code: str, place: str, grids: int) -> float:
        """No population in the division file: grids (3–8) × urban factor × stable noise."""
        digest = hashlib.sha256(f"{self.args.seed}:pop:{code}".encode()).digest()
        noise = math.exp((int.from_bytes(digest[:4], "big") / 2**32 - 0.5) * 1.2)
        urban = 1.8 if place.endswith("社区") else 1.0
        return max(grids, 1) * urban * noise

    # routing ---------------------------------------------------------------------------------

    def _codes(self, village: str, grid: str | None) -> dict[str, str]:
        return {
            "grid": grid or "",
            "village": village,
            "town": village[:9],
            "county": village[:6],
            "city": village[:4] + "00",
        }

    def _find(self, codes: dict[str, str], level: str, kind: str | None) -> int:
        """cases.routing: the rule's kind, else the level's triage unit, else one level up."""
        triage = {
            "village": "mediation_committee",
            "town": "command_room",
            "county": "governance_centre",
            "city": "governance_centre",
        }
        order = ["village", "town", "county", "city"]
        for lv in order[order.index(level) :]:
            for k in (kind, triage[lv]):
                uid = self.unit.get((k, codes[lv])) if k else None
                if uid:
                    return uid
        raise RuntimeError(f"no unit for {codes}")

    def _handler_for(self, owner: int, owner_kind: str, kind: str, codes: dict) -> int:
        """Who the owner hands the case to (交办); the owner itself when it handles it."""
        r = self.rng.random()
        u = self.unit.get
        if owner_kind == "mediation_committee":
            return owner
        if owner_kind == "command_room":
            if kind == "dispute":
                if r < 0.45:
                    return u(("mediation_committee", codes["village"])) or owner
                return (u(("justice_office", codes["town"])) or owner) if r < 0.8 else owner
            if kind == "hazard":
                if r < 0.4:
                    return u(("enforcement_team", codes["town"])) or owner
                if r < 0.7 and codes["grid"]:
                    return u(("grid_station", codes["grid"])) or owner
                return owner
            if kind == "security":
                return u(("police_station", codes["town"])) or owner
            if kind == "livelihood" and r < 0.3:
                return u(("mediation_committee", codes["village"])) or owner
            return owner
        if owner_kind == "governance_centre" and self.unit_level[owner] == "county":
            if kind == "security":
                return u(("public_security_bureau", codes["county"])) or owner
            if kind == "dispute":
                if r < 0.35:
                    return u(("justice_bureau", codes["county"])) or owner
                if r < 0.45:
                    return u(("hrss_bureau", codes["county"])) or owner
                if r < 0.55:
                    return u(("housing_bureau", codes["county"])) or owner
            return u(("command_room", codes["town"])) or owner
        if owner_kind == "governance_centre":  # city: down to the county centre
            return u(("governance_centre", codes["county"])) or owner
        if owner_kind in ("petition_bureau", "hrss_bureau", "housing_bureau") and r < 0.4:
            return u(("command_room", codes["town"])) or owner
        return owner

    # one case --------------------------------------------------------------------------------

    def case(self, case_id: int, reported: int, day_str: str, seq: int, pick) -> dict:
        rng = self.rng
        fmt = self.fmt
        flag = self.flag
        now = self.now
        cutoff = now - self.args.unswept_hours * HOUR
        village, place, grids, category, rule, channel = pick
        grid = grids[int(rng.random() * len(grids))] if grids and rng.random() < 0.7 else None
        region_code = grid or village
        codes = self._codes(village, grid)
        kind = category.kind
        policy = self.policies[rule.clock_policy_id]
        r = rng.random()
        severity = 1 if r < 0.92 else 2 if r < 0.98 else 3 if r < 0.997 else 4
        urgent = rng.random() < 0.03
        level = rule.default_level
        if rule.escalate_severity and rule.escalate_level and severity >= rule.escalate_severity:
            order = ["city", "county", "town", "village"]
            level = min(level, rule.escalate_level, key=order.index)
        owner = self._find(codes, level, rule.handling_unit_kind)
        owner_kind = self.unit_kind[owner]
        level = self.unit_level[owner]
        changes: list[tuple] = []
        points: list[tuple] = []
        point_keys: set = set()
        region = region_code
        staff = self.staff
        last = [reported]

        def emit(at, action, frm, to, unit, from_unit=None, to_unit=None, on_time=None,
                 reason="", detail="{}", lvl=None):  # fmt: skip
            last[0] = max(last[0], at)
            lvl = lvl or self.unit_level.get(unit, level)
            changes.append(
                (at, action, frm, to, unit, from_unit, to_unit, lvl, on_time, reason, detail)
            )

        def point(unit, reason, value, at):
            if (unit, reason) in point_keys:
                return
            point_keys.add((unit, reason))
            points.append((self.next_point_id(), unit, case_id, reason, value, fmt(at), region))

        supervision = 0

        def card(clock: str, due: int, red: int, until: int, unit: int, status: str) -> None:
            """Cards the sweep would have raised while a clock ran from due/red to ``until``."""
            nonlocal supervision
            for colour, limit, value, sup in (("yellow", due, -5, 2), ("red", red, -10, 3)):
                raised = limit + 120  # the sweep runs every few minutes
                if limit < until and raised <= cutoff and supervision < sup:
                    emit(raised, "card", status, status, None,
                         detail=f'{{"card": "{colour}", "clock": "{clock}"}}', lvl=level)  # fmt: skip
                    supervision = sup
                    point(unit, colour, value, raised)

        t = reported
        emit(t, "report", "", "reported", self.unit.get(("grid_station", grid)) if channel == "grid_app" and grid else None,
             to_unit=owner, lvl=level)  # fmt: skip
        accept_due, accept_red = policy.accept(t)
        handle_due = handle_red = None
        handler = None
        paused_seconds = 0
        paused_at = None
        before_suspend = ""
        extension_days = None
        extension_reason = ""
        supervised_by = None
        closed_at = closure = resolved = summary = visit_due = visited = None
        satisfaction = comment = evaluated = None
        eval_channel = ""
        status = "reported"
        escalations = 0
        result_rejected = False

        while True:  # one pass per owner (escalation starts another)
            # accept (or reject as invalid)
            t_accept = t + lognormal_seconds(rng, 2.0, 1.3)
            if t_accept > now:
                card("accept", accept_due, accept_red, now, owner, status)
                break
            card("accept", accept_due, accept_red, t_accept, owner, status)
            if escalations == 0 and rng.random() < 0.01:
                emit(t_accept, "reject", status, "rejected", owner, reason="反映事项不属于受理范围，已告知反映人。")  # fmt: skip
                status = "rejected"
                result_rejected = True
                break
            emit(t_accept, "accept", status, "accepted", owner, on_time=t_accept <= accept_due)  # fmt: skip
            status = "accepted"
            t = t_accept
            handle_due, handle_red = policy.handle(t, urgent)
            handler = self._handler_for(owner, owner_kind, kind, codes)
            stop = False
            # assign (with the odd return and re-assignment), then sign
            for attempt in range(3):
                if handler != owner:
                    t += lognormal_seconds(rng, 1.0, 1.0)
                    if t > now:
                        stop = True
                        break
                    emit(t, "assign", status, "assigned", owner, owner, handler)
                    status = "assigned"
                t += lognormal_seconds(rng, 2.0, 1.2)
                if t > now:
                    stop = True
                    break
                if handler != owner and attempt < 2 and rng.random() < 0.025:
                    emit(t, "return", status, "accepted", handler, handler, owner,
                         reason="不属于本单位职责范围，申请退回重新交办。")  # fmt: skip
                    status = "accepted"
                    handler = self._handler_for(owner, owner_kind, kind, codes)
                    if handler == owner:
                        handler = self.unit.get(("command_room", codes["town"]), owner)
                    continue
                emit(t, "sign", status, "in_progress", handler)
                status = "in_progress"
                break
            if stop:
                card("handle", handle_due, handle_red, now, owner, status)
                break
            # handling: maybe an extension, a suspension, or an escalation
            median = {"village": 30.0, "town": 48.0, "county": 72.0, "city": 96.0}[level]
            work = lognormal_seconds(rng, median, 0.7)
            if rng.random() < 0.003:
                work += int(rng.uniform(20, 90) * DAY)  # stuck: the backlog of red cards
            r = rng.random()
            if r < 0.01:
                t_req = t + work // 2
                if t_req > now:
                    card("handle", handle_due, handle_red, now, handler, status)
                    break
                days = rng.choice((5, 10, 15))
                reason = "当事人同意延长调解期限，需进一步协商。"
                emit(t_req, "request_extension", status, status, handler, detail=f'{{"days": {days}}}',
                     reason=reason)  # fmt: skip
                extension_days, extension_reason = days, reason
                # Decided before the feedback, so the decision finds the case still running.
                t_dec = min(t_req + lognormal_seconds(rng, 3.0, 1.0), t + work - 60)
                if t_dec <= now:
                    emit(
                        t_dec,
                        "approve_extension",
                        status,
                        status,
                        owner,
                        detail=f'{{"days": {days}}}',
                    )
                    handle_due = policy.add(handle_due, days)
                    handle_red = policy.add(handle_red, days)
                    extension_days, extension_reason = None, ""
            elif r < 0.015:
                t_susp = t + work // 3
                if t_susp > now:
                    card("handle", handle_due, handle_red, now, handler, status)
                    break
                card("handle", handle_due, handle_red, t_susp, handler, status)
                emit(
                    t_susp,
                    "suspend",
                    status,
                    "suspended",
                    handler,
                    reason="当事人外出务工，暂缓处理。",
                )
                pause = int(rng.uniform(2, 12) * DAY)
                if t_susp + pause > now:
                    status, paused_at, before_suspend = "suspended", t_susp, "in_progress"
                    break
                emit(t_susp + pause, "resume", "suspended", "in_progress", handler)
                paused_seconds += pause
                handle_due += pause
                handle_red += pause
                work += pause
            elif r < 0.015 + {"village": 0.03, "town": 0.04, "county": 0.005}.get(level, 0):
                t_esc = t + work // 2
                if t_esc > now:
                    card("handle", handle_due, handle_red, now, handler, status)
                    break
                card("handle", handle_due, handle_red, t_esc, handler, status)
                skip = level == "village" and rng.random() < 0.08
                up = {"village": "county" if skip else "town", "town": "county", "county": "city"}[
                    level
                ]
                new_owner = self._find(codes, up, None)
                emit(t_esc, "escalate_skip" if skip else "escalate", status, "reported", handler or owner,
                     owner, new_owner, reason="调解未成，需上级协调处理。",
                     detail=f'{{"from_level": "{level}", "to_level": "{self.unit_level[new_owner]}"}}')  # fmt: skip
                owner, owner_kind, level = (
                    new_owner,
                    self.unit_kind[new_owner],
                    self.unit_level[new_owner],
                )
                status, t, handler, escalations = "reported", t_esc, None, escalations + 1
                accept_due, accept_red = policy.accept(t)
                handle_due = handle_red = None
                self.stats["escalated"] += 1
                continue
            # supervision by the county centre on a few slow ones
            if rng.random() < 0.004 and t + work // 2 <= now:
                centre = self.unit.get(("governance_centre", codes["county"]))
                emit(t + work // 2, "supervise", status, status, centre, detail='{"level": 1}',
                     reason="请加快办理进度。")  # fmt: skip
                supervision, supervised_by = max(supervision, 1), centre
            # feedback, verification (rarely failed once), closure
            t_fb = t + work
            if t_fb > now:
                card("handle", handle_due, handle_red, now, handler, status)
                break
            card("handle", handle_due, handle_red, t_fb, handler, status)
            # The handler reports the outcome with its feedback (cases.services.submit_feedback).
            if kind == "dispute":
                closure = (
                    "mediated" if rng.random() < 0.85 else rng.choice(("referred", "explained"))
                )
            else:
                closure = (
                    "handled" if rng.random() < 0.88 else rng.choice(("referred", "explained"))
                )
            resolved = closure != "referred" and rng.random() < 0.99
            summary = SUMMARIES[closure]
            outcome = f'{{"method": "{closure}", "resolved": {"true" if resolved else "false"}}}'
            emit(t_fb, "feedback", status, "pending_verify", handler, to_unit=owner,
                 on_time=t_fb <= handle_due, detail=outcome)  # fmt: skip
            status = "pending_verify"
            t_v = t_fb + lognormal_seconds(rng, 4.0, 1.0)
            if t_v > now:
                break
            if rng.random() < 0.015:
                emit(t_v, "verify_fail", status, "in_progress", owner,
                     reason="核查发现问题未彻底解决。")  # fmt: skip
                status = "in_progress"
                t_fb = t_v + lognormal_seconds(rng, 24.0, 0.7)
                if t_fb > now:
                    break
                emit(t_fb, "feedback", status, "pending_verify", handler, to_unit=owner,
                     on_time=t_fb <= handle_due, detail=outcome)  # fmt: skip
                status = "pending_verify"
                t_v = t_fb + lognormal_seconds(rng, 4.0, 1.0)
                if t_v > now:
                    break
            # The level that resolved it is the handler's (what "resolved at village level" reads).
            emit(t_v, "verify_pass", status, "closed", owner, to_unit=handler,
                 on_time=t_v <= handle_due, detail=outcome, lvl=self.unit_level[handler])  # fmt: skip
            if t_fb <= handle_due:
                point(handler, "on_time", 1, t_v)
            status = "closed"
            closed_at = t_v
            visit_due = policy.visit_due(closed_at)
            r = rng.random()
            if r < 0.72:
                eval_channel = "visit" if r < 0.4 else "tracking" if r < 0.62 else "phone"
                t_e = (visit_due + lognormal_seconds(rng, 5.0, 0.8) if eval_channel == "visit"
                       else closed_at + lognormal_seconds(rng, 10.0, 1.0))  # fmt: skip
                if t_e <= now:
                    s = rng.random()
                    satisfaction = (
                        5 if s < 0.62 else 4 if s < 0.9 else 3 if s < 0.97 else 2 if s < 0.99 else 1
                    )
                    comment = rng.choice(COMMENTS)
                    emit(t_e, "evaluate", "closed", "evaluated", owner if eval_channel != "tracking" else None,
                         detail=f'{{"satisfaction": {satisfaction}, "channel": "{eval_channel}"}}',
                         lvl=level)  # fmt: skip
                    status, evaluated = "evaluated", t_e
                    if eval_channel == "visit":
                        visited = t_e
                else:
                    eval_channel = ""
            if visited is None and rng.random() < 0.9:
                t_visit = visit_due + lognormal_seconds(rng, 6.0, 0.8)
                if t_visit <= now:
                    visited = t_visit
            break

        self.stats[status] += 1
        # The sweep announces a visit that fell due and was not done yet (cases.jobs).
        visit_notified = None
        if (
            visit_due is not None
            and visit_due + 120 <= cutoff
            and (visited or now) > visit_due + 120
        ):
            visit_notified = visit_due + 120
        # Cards, supervision and extension steps keep the state they happened in; they were
        # planned out of order (a card at its deadline), so their state is read off the timeline.
        changes.sort(key=lambda change: change[0])
        current = ""
        rows = []
        for at, action, frm, to, unit, fu, tu, lvl, ot, reason, detail in changes:
            if action in NEUTRAL_ACTIONS:
                frm = to = current
            else:
                current = to
            rows.append((
                self.next_change_id(), case_id, action, frm, to, fmt(at), staff.get(unit), unit,
                fu, tu, lvl, region, kind, flag(ot), flag(action in PUBLIC_ACTIONS), reason, detail,
            ))  # fmt: skip
        if result_rejected:
            handler = None
        occurred = reported - lognormal_seconds(rng, 6.0, 1.5) if rng.random() < 0.6 else None
        place_name = self.full_name.get(region_code, place)
        cat_name = category.name
        title = rng.choice(TITLES.get(kind, TITLES["dispute"])).format(place=place, cat=cat_name)
        description = rng.choice(DESCRIPTIONS).format(place=place, cat=cat_name)
        lat = lng = None
        if channel in POINT_CHANNELS:
            clat, clng = self.village_point(village)
            lat = f"{clat + rng.uniform(-0.006, 0.006):.6f}"
            lng = f"{clng + rng.uniform(-0.006, 0.006):.6f}"
        amount = None
        if kind == "dispute" and category.code in ("dispute.labour", "dispute.contract",
                                                    "dispute.loan_debt", "dispute.damages"):  # fmt: skip
            amount = f"{min(lognormal_seconds(rng, 20000 / HOUR, 1.2), 99_999_999):.2f}"
        people = (2 + int(rng.expovariate(0.8))) if kind == "dispute" else None
        code = f"{codes['county']}-{day_str}-{seq:05d}"
        created = fmt(reported)
        row = (
            case_id, created, fmt(last[0]),
            self.uuid_hex(), code, f"{rng.getrandbits(256):064x}", kind, category.id, channel,
            "", title, description, fmt(occurred), created,
            place_name, lat, lng, self.region_id[region_code], region_code,
            "point" if lat and channel == "open311" else "reporter" if channel == "grid_app" else "text",
            severity, "urgent" if urgent else "normal", people, amount, status, level,
            owner, handler, staff.get(self.unit.get(("grid_station", grid))) if channel == "grid_app" and grid else None,
            policy.id, fmt(accept_due), fmt(accept_red), fmt(handle_due), fmt(handle_red),
            fmt(paused_at), paused_seconds, before_suspend, extension_days, extension_reason,
            supervision, supervised_by, None, "", flag(kind == "dispute" and rng.random() < 0.004),
            None, closure or "", flag(resolved), summary or "", fmt(closed_at), fmt(visit_due),
            fmt(visited), fmt(visit_notified), satisfaction, comment or "", eval_channel, fmt(evaluated),
        )  # fmt: skip
        return {"case": row, "changes": rows, "points": points, "kind": kind,
                "open": status in OPEN, "place": place_name}  # fmt: skip

    def village_point(self, village: str) -> tuple[float, float]:
        lat, lng = COUNTY_CENTRES.get(village[:6], (29.9, 120.6))
        digest = hashlib.sha256(village.encode()).digest()
        return (
            lat + (digest[0] / 255 - 0.5) * 0.25,
            lng + (digest[1] / 255 - 0.5) * 0.3,
        )

    def next_change_id(self) -> int:
        self.next_change += 1
        return self.next_change - 1

    def next_point_id(self) -> int:
        self.next_point += 1
        return self.next_point - 1


# Steps the citizen sees on the tracking page (cases.services.PUBLIC_ACTIONS).
PUBLIC_ACTIONS = {
    "report",
    "accept",
    "assign",
    "sign",
    "verify_pass",
    "close",
    "evaluate",
    "reject",
}
NEUTRAL_ACTIONS = {"card", "supervise", "request_extension", "approve_extension"}
OPEN = {"reported", "accepted", "assigned", "in_progress", "suspended", "pending_verify"}
# Reports per hour of the local day (more in office hours, some at night).
HOUR_PROFILE = (0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 1, 2.5, 4.5, 5.5, 5.5, 4.5,
                3, 4, 5, 5, 4.5, 4, 3, 2.5, 2, 1.5, 1, 0.5)  # fmt: skip


def id_check_digit(body: str) -> str:
    """GB 11643 check character (ISO 7064 MOD 11-2) of a 17-digit body."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


class People:
    """A deterministic pool of residents; the same person turns up in several cases, so the
    same-party (blind index) lookups find something. Blind indexes are computed once per person."""

    def __init__(self, seed: int, size: int) -> None:
        from fengqiao.core import crypto

        self.seed = seed
        self.size = size
        self.provider = crypto.provider()
        self.cache: dict[int, tuple] = {}

    def get(self, index: int, county: str) -> tuple:
        person = self.cache.get(index)
        if person is None:
            h = hashlib.sha256(f"{self.seed}:person:{index}".encode()).digest()
            name = SURNAMES[h[0] % len(SURNAMES)] + GIVEN[h[1] % len(GIVEN)]
            if h[2] % 2:
                name += GIVEN[h[3] % len(GIVEN)]
            born = date(1950, 1, 1) + timedelta(days=int.from_bytes(h[4:6], "big") % 20000)
            body = f"{county}{born:%Y%m%d}{int.from_bytes(h[6:8], 'big') % 1000:03d}"
            id_number = body + id_check_digit(body)
            phone = f"1{'3456789'[h[8] % 7]}{int.from_bytes(h[9:13], 'big') % 10**9:09d}"
            blind = self.provider.blind_index
            person = (
                name,
                id_number,
                phone,
                blind(name, kind="text"),
                blind(id_number, kind="id_number"),
                blind(phone, kind="phone"),
            )
            self.cache[index] = person
        return person


def _party_rows(gen: Generator, people: People, case_id: int, kind: str, county: str,
                place: str, created: str) -> list[tuple]:  # fmt: skip
    from fengqiao.core import crypto

    rng = gen.rng
    roles = ("applicant", "respondent") if kind == "dispute" else ("reporter",)
    encrypt = people.provider.encrypt
    rows = []
    for role in roles:
        name, id_number, phone, name_ix, id_ix, phone_ix = people.get(
            int(people.size * rng.random() ** 1.5), county
        )
        public_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        row_id = str(public_id)
        address = f"{place}{rng.randint(1, 300)}号"

        def seal(column: str, value: str, row_id: str = row_id) -> str:
            return encrypt(
                value, binding=crypto.Binding(table="cases_party", column=column, row=row_id)
            )

        rows.append((
            gen.next_party, created, created, public_id.hex, case_id, role, seal("name", name),
            seal("id_number", id_number), seal("phone", phone), seal("address", address),
            name_ix, id_ix, phone_ix, id_number[-4:], phone[-4:],
        ))  # fmt: skip
        gen.next_party += 1
    return rows


def allocate(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` by ``weights`` exactly (largest remainder), deterministically."""
    scale = total / sum(weights)
    raw = [w * scale for w in weights]
    counts = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def generate(gen: Generator, progress: bool) -> dict[str, int]:
    from tqdm import tqdm

    args, rng = gen.args, gen.rng
    today = local_day(gen.now)
    days = list(range(gen.first_day, today + 1))
    working = set(gen.calendar.working)
    today_fraction = (gen.now - start_of_local_day(today)) / DAY
    weights = [
        (1.0 if d in working else 0.62)
        * (0.9 + 0.2 * i / len(days))
        * (today_fraction if d == today else 1.0)
        for i, d in enumerate(days)
    ]
    counts = allocate(args.cases, weights)
    hour_cum = list(accumulate(HOUR_PROFILE))
    people = People(args.seed, max(500, int(args.cases * args.party_share * 0.8)))
    batch: dict[str, list] = {"case": [], "change": [], "party": [], "point": []}
    totals: Counter = Counter()
    bar = tqdm(total=args.cases, unit="件", disable=not progress, smoothing=0.05)
    case_id = 1
    villages, categories = gen.villages, gen.categories
    village_cum, category_cum, channel_cum = gen.village_cum, gen.category_cum, gen.channel_cum
    v_total, c_total, ch_total = village_cum[-1], category_cum[-1], channel_cum[-1]

    def flush() -> None:
        gen.writer.write(batch)
        for key, rows in batch.items():
            totals[key] += len(rows)
            rows.clear()

    for day, count in zip(days, counts, strict=True):
        start = start_of_local_day(day)
        limit = min(DAY, gen.now - start)
        times = []
        for _ in range(count):
            for _attempt in range(20):
                hour = bisect_right(hour_cum, rng.random() * hour_cum[-1])
                offset = hour * HOUR + int(rng.random() * HOUR)
                if offset < limit:
                    break
            else:
                offset = int(rng.random() * limit)
            times.append(start + offset)
        times.sort()
        day_str = (EPOCH_DATE + timedelta(days=day)).strftime("%Y%m%d")
        for ts in times:
            code, place, grids = villages[bisect_right(village_cum, rng.random() * v_total)]
            category, rule = categories[bisect_right(category_cum, rng.random() * c_total)]
            channel = gen.channel_names[bisect_right(channel_cum, rng.random() * ch_total)]
            if category.kind == "petition" and rng.random() < 0.7:
                channel = "referral_petition" if rng.random() < 0.5 else "walk_in"
            county = code[:6]
            gen.sequences[(county, day)] += 1
            result = gen.case(
                case_id, ts, day_str, gen.sequences[(county, day)],
                (code, place, grids, category, rule, channel),
            )  # fmt: skip
            batch["case"].append(result["case"])
            batch["change"].extend(result["changes"])
            batch["point"].extend(result["points"])
            if rng.random() < args.party_share:
                started = time.perf_counter()
                batch["party"].extend(
                    _party_rows(
                        gen,
                        people,
                        case_id,
                        result["kind"],
                        county,
                        result["place"],
                        result["case"][1],
                    )  # fmt: skip
                )
                gen.parties_seconds += time.perf_counter() - started
            case_id += 1
        bar.update(count)
        if len(batch["case"]) >= args.batch:
            flush()
    flush()
    sequence_rows = [
        (i, prefix, (EPOCH_DATE + timedelta(days=day)).isoformat(), last)
        for i, ((prefix, day), last) in enumerate(sorted(gen.sequences.items()), start=1)
    ]
    gen.writer.write({"sequence": sequence_rows})
    totals["sequence"] = len(sequence_rows)
    bar.close()
    return dict(totals)


def parse_now(text: str) -> int:
    if not text:
        return int(time.time()) // 60 * 60
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC) - timedelta(seconds=LOCAL_OFFSET)
    return int(moment.timestamp())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (dropped, recreated)")
    parser.add_argument(
        "--var-dir", default="", help=f"FENGQIAO_VAR_DIR (default {DEFAULT_VAR_DIR})"
    )
    parser.add_argument("--now", default="", help="anchor time, ISO (default: now, to the minute)")
    parser.add_argument(
        "--party-share", type=float, default=0.2,
        help="share of cases with parties (each party costs four SM4-GCM seals)",
    )  # fmt: skip
    parser.add_argument(
        "--unswept-hours", type=float, default=24.0,
        help="clock crossings in the last N hours are left for the sweep to find",
    )  # fmt: skip
    parser.add_argument("--batch", type=int, default=20_000, help="cases per transaction")
    parser.add_argument("--no-analyze", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    args.now_ts = parse_now(args.now)
    var_dir = args.var_dir or (DEFAULT_VAR_DIR if not args.database_url else "/tmp/fq-bench/pg")
    if Path(var_dir).resolve().is_relative_to(ROOT):
        raise SystemExit("put generated data outside the repository (e.g. /tmp/fq-bench)")

    configure(var_dir, args.database_url)
    from django.core.management import call_command
    from django.db import connection

    from fengqiao.regions import services as regions

    phases: dict[str, float] = {}
    cpu_started = time.process_time()
    started = time.perf_counter()
    recreate_database(var_dir)
    call_command("migrate", verbosity=0)
    phases["migrate"] = time.perf_counter() - started
    started = time.perf_counter()
    regions.load_shipped_divisions()
    regions.build_demo_structure()
    taxonomy_source = ensure_taxonomy()
    phases["spine, units, taxonomy"] = time.perf_counter() - started

    vendor = connection.vendor
    from fengqiao.cases import models as m

    tables = {
        "case": Table(m.Case, CASE_COLUMNS, vendor),
        "change": Table(m.StatusChange, CHANGE_COLUMNS, vendor),
        "party": Table(m.Party, PARTY_COLUMNS, vendor),
        "point": Table(m.PointEntry, POINT_COLUMNS, vendor),
        "sequence": Table(m.CaseSequence, SEQUENCE_COLUMNS, vendor),
    }
    writer = Writer(tables)
    started = time.perf_counter()
    gen = Generator(args, writer, vendor)
    phases["staff accounts, lookups"] = time.perf_counter() - started
    indexes = prepare_load(connection)
    started = time.perf_counter()
    totals = generate(gen, progress=not args.no_progress)
    phases["generate + insert"] = time.perf_counter() - started
    finish = finish_load(connection, indexes, analyze=not args.no_analyze)
    phases[f"recreate {len(indexes)} indexes"] = finish["indexes"]
    phases["VACUUM ANALYZE" if vendor == "postgresql" else "ANALYZE"] = finish["analyze"]

    load_seconds = phases["generate + insert"] + finish["indexes"]
    cpu_seconds = time.process_time() - cpu_started
    rows = sum(totals.values())
    now_text = datetime.fromtimestamp(args.now_ts, UTC).astimezone().isoformat(timespec="minutes")
    print(f"backend: {vendor}  database: {connection.settings_dict['NAME']}")
    print(f"seed {args.seed}, now {now_text}, taxonomy: {taxonomy_source}")
    for name, seconds in phases.items():
        print(f"  {name:<28} {seconds:8.1f} s")
    print(
        f"rows: cases {totals['case']:,}  status changes {totals['change']:,}  "
        f"parties {totals['party']:,}  points {totals['point']:,}  sequences {totals['sequence']:,}"
    )
    print(
        f"load (generate + insert + indexes): {load_seconds:.1f} s = "
        f"{totals['case'] / load_seconds:,.0f} cases/s, {rows / load_seconds:,.0f} rows/s; "
        f"sealing parties took {gen.parties_seconds:.1f} s of it"
    )
    shares = ", ".join(
        f"{status} {count / totals['case']:.2%}" for status, count in gen.stats.most_common()
        if status != "escalated"
    )  # fmt: skip
    # The machine may be shared: CPU time of this process says what the load cost it.
    print(
        f"CPU time of the generator process: {cpu_seconds:.0f} s (wall {sum(phases.values()):.0f} s)"
    )
    print(f"statuses: {shares}; escalated {gen.stats['escalated']:,}")
    command = ["python", "bench/generate.py", f"--cases {args.cases}", f"--seed {args.seed}"]
    command.append(
        f"--now {datetime.fromtimestamp(args.now_ts, UTC).isoformat(timespec='minutes')}"
    )
    if args.database_url:
        command.append(f"--database-url {args.database_url}")
    else:
        command.append(f"--var-dir {var_dir}")
    if args.party_share != 0.2:
        command.append(f"--party-share {args.party_share}")
    if args.unswept_hours != 24.0:
        command.append(f"--unswept-hours {args.unswept_hours}")
    print("reproduce: " + " ".join(command))


if __name__ == "__main__":
    main()
