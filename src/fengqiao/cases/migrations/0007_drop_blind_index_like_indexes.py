"""Drop PostgreSQL's ``*_like`` (varchar_pattern_ops) companions of the party blind indexes.

Django adds one beside every indexed CharField for ``LIKE 'prefix%'`` lookups. A blind index is an
HMAC digest, only ever compared for equality, so these three indexes served no query while every
party insert (each intake with parties) updated them. The plain indexes stay. Nothing to do on
SQLite, which has no such indexes.
"""

from django.db import migrations

FIELDS = ("name_index", "id_number_index", "phone_index")


def drop_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    party = apps.get_model("cases", "Party")
    table = party._meta.db_table
    for name in FIELDS:
        column = party._meta.get_field(name).column
        index = schema_editor._create_index_name(table, [column], suffix="_like")
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(index)}")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_case_visit_queue"),
    ]

    operations = [
        migrations.RunPython(drop_like_indexes, migrations.RunPython.noop, elidable=True),
    ]
