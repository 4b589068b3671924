"""Drop PostgreSQL's ``*_like`` (varchar_pattern_ops) companions of the accused person's blind
indexes (see ``core.fields.drop_pattern_indexes``), as ``cases.0007`` did for parties."""

from django.db import migrations

from fengqiao.core.fields import drop_pattern_indexes


class Migration(migrations.Migration):
    dependencies = [
        ("tips", "0001_initial"),
    ]

    operations = [
        drop_pattern_indexes("tips", "Accused", ("name_index", "id_number_index")),
    ]
