"""Seed the shipped taxonomy, routing rules and clock policies (data/taxonomy.json).

A data migration, so every database has them — production as much as the demo. It runs the same
idempotent loader as ``fengqiao cases load-taxonomy``, on the historical models.
"""

from django.db import migrations


def seed_taxonomy(apps, schema_editor):
    from fengqiao.cases import taxonomy

    taxonomy.load_shipped(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0001_initial"),
    ]

    operations = [
        # Reversing leaves the rows: cases may already point at them (PROTECT).
        migrations.RunPython(seed_taxonomy, migrations.RunPython.noop),
    ]
