"""The database itself refuses UPDATE and DELETE on audit events (SECURITY.md 22).

Only the retention purge may delete, and only while its permit row exists inside its own
transaction and only rows older than the legal minimum of 184 days (Cybersecurity Law art. 21).

A test database (settings.TESTING) also gets a row in ``core_auditguard_release``, an unmanaged
table Django's flush never empties: it lets test teardown flush the audit table. Tests of the
guard delete that row inside their own transaction to arm the guard. Production databases never
get the row.
"""

from django.conf import settings
from django.db import migrations

SQLITE_INSTALL = [
    "CREATE TABLE core_auditguard_release (reason varchar(40) NOT NULL)",
    """
    CREATE TRIGGER core_auditevent_no_update BEFORE UPDATE ON core_auditevent
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END
    """,
    """
    CREATE TRIGGER core_auditevent_no_delete BEFORE DELETE ON core_auditevent
    WHEN NOT EXISTS (SELECT 1 FROM core_auditguard_release)
     AND (NOT EXISTS (SELECT 1 FROM core_auditpurgepermit)
          OR OLD.occurred_at >= strftime('%Y-%m-%d %H:%M:%f', 'now', '-184 days'))
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END
    """,
]

SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_delete",
    "DROP TRIGGER IF EXISTS core_auditevent_no_update",
    "DROP TABLE IF EXISTS core_auditguard_release",
]

POSTGRES_INSTALL = [
    "CREATE TABLE core_auditguard_release (reason varchar(40) NOT NULL)",
    """
    CREATE FUNCTION core_auditevent_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'UPDATE' AND EXISTS (SELECT 1 FROM core_auditguard_release) THEN
            RETURN OLD;
        END IF;
        IF TG_OP = 'DELETE' THEN
            IF EXISTS (SELECT 1 FROM core_auditpurgepermit)
               AND OLD.occurred_at < now() - interval '184 days' THEN
                RETURN OLD;
            END IF;
        END IF;
        RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP;
    END
    $$
    """,
    """
    CREATE TRIGGER core_auditevent_append_only BEFORE UPDATE OR DELETE ON core_auditevent
    FOR EACH ROW EXECUTE FUNCTION core_auditevent_guard()
    """,
    """
    CREATE TRIGGER core_auditevent_no_truncate BEFORE TRUNCATE ON core_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION core_auditevent_guard()
    """,
]

POSTGRES_REMOVE = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent",
    "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent",
    "DROP FUNCTION IF EXISTS core_auditevent_guard()",
    "DROP TABLE IF EXISTS core_auditguard_release",
]


def _statements(vendor: str, *, install: bool) -> list[str]:
    if vendor == "sqlite":
        return SQLITE_INSTALL if install else SQLITE_REMOVE
    if vendor == "postgresql":
        return POSTGRES_INSTALL if install else POSTGRES_REMOVE
    raise NotImplementedError(f"no audit guard for database vendor {vendor!r}")


def install(apps, schema_editor):
    for statement in _statements(schema_editor.connection.vendor, install=True):
        schema_editor.execute(statement, params=None)
    if getattr(settings, "TESTING", False):
        schema_editor.execute(
            "INSERT INTO core_auditguard_release (reason) VALUES ('test database')", params=None
        )


def remove(apps, schema_editor):
    for statement in _statements(schema_editor.connection.vendor, install=False):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(install, remove, elidable=False),
    ]
