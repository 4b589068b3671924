"""Drop the single-column index on StatusChange.case: ``change_timeline`` (case_id, at) leads
with the same column, so every timeline insert updated one B-tree for nothing.

The index goes by name rather than through AlterField, which on SQLite rebuilds the whole table
(minutes for millions of status changes); the name is the one Django gave it on both backends.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "cases_statuschange_case_id_82855202"


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0004_drop_unused_fk_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="statuschange",
                    name="case",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="changes",
                        to="cases.case",
                        verbose_name="case",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    reverse_sql=f"CREATE INDEX {INDEX} ON cases_statuschange (case_id)",
                ),
            ],
        ),
    ]
