"""Abstract bases shared by every app, and the core tables (audit chain, calendar)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from fengqiao.core.fields import EncryptedTextField
from fengqiao.core.querysets import AuditEventQuerySet, CalendarDayQuerySet


class TimeStamped(models.Model):
    """Creation and modification times, in UTC."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class PublicId(models.Model):
    """A random public identifier for URLs and the API; integer keys stay inside (STYLE 7)."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True


class AuditEvent(models.Model):
    """One entry of the append-only audit log (审计日志), linked to its predecessor by hash.

    ``hash = H(prev_hash || canonical(row))`` with H = SM3 (SHA-256 under "aes"). The database
    refuses UPDATE and DELETE on this table (triggers in migration 0002); only the retention purge
    may delete, and only rows older than AUDIT_RETENTION_DAYS. ``detail`` never holds personal data.
    """

    # Index: the viewer's date filter and the retention purge's "first young event" lookup.
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    actor = models.ForeignKey(
        "accounts.User",
        verbose_name=_("actor"),
        null=True,
        blank=True,
        # No constraint and no cascade: deleting a user must never rewrite or remove audit rows.
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    # Index: the viewer's user-name filter.
    actor_username = models.CharField(
        _("actor username"), max_length=150, blank=True, db_index=True
    )
    role = models.CharField(_("role"), max_length=40, blank=True)
    region_code = models.CharField(_("region code"), max_length=15, blank=True)
    # Index: the viewer's action-prefix filter (a range scan on "cases." … "cases/").
    action = models.CharField(_("action"), max_length=100, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, default="ok")
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.outcome}"


class AuditChainHead(models.Model):
    """The tip of the audit chain (审计链头): the last event's id and hash, and the purge anchor.

    Appends lock this single row, so events are numbered and linked one at a time. The anchor is
    the last purged event; verification starts there, so a purge keeps the chain verifiable while
    deleting the oldest remaining row by hand is still detected.
    """

    last_id = models.BigIntegerField(_("last event id"), default=0)
    last_hash = models.CharField(_("last hash"), max_length=64, default="0" * 64)
    anchor_id = models.BigIntegerField(_("last purged event id"), default=0)
    anchor_hash = models.CharField(_("last purged hash"), max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain heads")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="auditchainhead_single_row"),
        ]

    def __str__(self) -> str:
        return f"audit chain head at #{self.last_id}"


class AuditPurgePermit(models.Model):
    """Present only inside the retention purge's transaction; the delete trigger requires it.

    Uncommitted rows are invisible to other connections, so no other writer can delete audit
    events while a purge runs.
    """

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("audit purge permit")
        verbose_name_plural = _("audit purge permits")

    def __str__(self) -> str:
        return f"audit purge permit {self.created_at:%Y-%m-%d %H:%M:%S}"


class CalendarDay(TimeStamped):
    """A day that departs from the Monday–Friday week: a public holiday (节假日) or a make-up
    working day (调休上班) on a Saturday or Sunday, as published each year by the State Council.
    """

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Public holiday")
        MAKEUP_WORKDAY = "makeup_workday", _("Make-up working day")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=60, blank=True)

    objects = CalendarDayQuerySet.as_manager()

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["holiday", "makeup_workday"]),
                name="calendarday_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}".strip()


class CalendarYear(TimeStamped):
    """A year whose holiday schedule (放假安排) is known and entered completely.

    Working-day counting in a year without this row treats only weekends as rest days, and
    administrators are warned.
    """

    class Source(models.TextChoices):
        PACKAGE = "package", _("chinese-calendar package")
        IMPORT = "import", _("CSV import")
        MANUAL = "manual", _("Entered by hand")

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class KeyCheck(PublicId, TimeStamped):
    """A known phrase sealed with the field keys (密钥校验值).

    ``fengqiao crypto check`` decrypts these rows to prove the configured keys still open stored
    data before an old key is retired; rotation re-encrypts them like every other field.
    """

    PHRASE = "fengqiao key check"

    phrase = EncryptedTextField(_("phrase"))

    class Meta:
        verbose_name = _("key check")
        verbose_name_plural = _("key checks")

    def __str__(self) -> str:
        return f"key check {self.public_id}"


class IdempotencyRecord(models.Model):
    """The first answer to a create request that carried an ``Idempotency-Key`` (幂等记录).

    Written in the same transaction as the record it created, so a retry after a crash either
    finds both or neither (SECURITY 24). Neither the key nor the answer is stored in the clear:
    ``key_hash`` is an HMAC of scope and key, and ``response`` is sealed with a key derived from
    the client's key — a tip receipt in a stored answer can be read back only by the client that
    still holds the Idempotency-Key.
    """

    key_hash = models.CharField(max_length=64, unique=True)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    response = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")

    def __str__(self) -> str:
        return f"idempotency {self.key_hash[:12]}"


class OutboxJob(models.Model):
    """A job owed by a committed change (发件箱任务): the transactional outbox of SECURITY 24 and 26.

    Written by ``core.outbox.enqueue`` in the same transaction as the record it is about, so the
    job exists exactly when the record does. A runner claims it with a conditional UPDATE and a
    lease, runs the handler and marks it done in one transaction with the handler's writes: a
    worker killed mid-job leaves neither, the lease runs out and the job reruns; its effect
    commits once. ``args`` carry ids only, never personal data or tip content.
    """

    name = models.CharField(max_length=80)
    # One job per (name, key): a retried intake or a second enqueue of the same work is absorbed.
    key = models.CharField(max_length=120)
    args = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    run_after = models.DateTimeField()
    claim = models.CharField(max_length=32, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Exception class only: a message could quote the data the job was working on.
    last_error = models.CharField(max_length=200, blank=True, default="")
    done_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outbox job")
        verbose_name_plural = _("outbox jobs")
        constraints = [
            models.UniqueConstraint(fields=["name", "key"], name="core_outbox_name_key_uniq"),
        ]
        indexes = [
            # The runner's scan: jobs still owed, oldest first. Partial, so it stays as small as
            # the backlog however many jobs have ever run.
            models.Index(
                fields=["run_after"],
                name="core_outbox_pending",
                condition=models.Q(done_at__isnull=True, failed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}:{self.key}"
