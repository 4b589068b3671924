"""Drop PostgreSQL's ``*_like`` (varchar_pattern_ops) companions of the party blind indexes
(see ``core.fields.drop_pattern_indexes``): every party insert updated three indexes that served
no query."""

from django.db import migrations

from fengqiao.core.fields import drop_pattern_indexes


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_case_visit_queue"),
    ]

    operations = [
        drop_pattern_indexes("cases", "Party", ("name_index", "id_number_index", "phone_index")),
    ]
