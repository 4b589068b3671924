"""Drop PostgreSQL's ``*_like`` (varchar_pattern_ops) companions of audit and idempotency columns
that no query matches by prefix (see ``core.fields.drop_pattern_indexes``): the audit event's
hash and actor name (``AuditEventQuerySet.by_username`` compares for equality) and the
idempotency key's digest. Every audit append and every create updated them; ``action`` keeps its
own, for ``action_prefix``."""

from django.db import migrations

from fengqiao.core.fields import drop_pattern_indexes


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_outbox"),
    ]

    operations = [
        drop_pattern_indexes("core", "AuditEvent", ("hash", "actor_username")),
        drop_pattern_indexes("core", "IdempotencyRecord", ("key_hash",)),
    ]
