"""Drop PostgreSQL's ``*_like`` (varchar_pattern_ops) companion of the case code's unique index
(see ``core.fields.drop_pattern_indexes``): codes are looked up whole (``code=``, ``code__in``),
never by prefix, and every intake updated it."""

from django.db import migrations

from fengqiao.core.fields import drop_pattern_indexes


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0007_drop_blind_index_like_indexes"),
    ]

    operations = [
        drop_pattern_indexes("cases", "Case", ("code",)),
    ]
