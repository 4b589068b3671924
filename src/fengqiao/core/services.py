"""Writers for the core tables: audit retention purge, key rotation, working-day calendar."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.core import audit, crypto, workdays
from fengqiao.core.checks import MIN_AUDIT_RETENTION_DAYS
from fengqiao.core.fields import (
    BlindIndexField,
    EncryptedFieldMixin,
    Sealed,
    blind_index_fields,
    encrypted_fields,
)
from fengqiao.core.models import (
    AuditEvent,
    AuditPurgePermit,
    CalendarDay,
    CalendarYear,
    KeyCheck,
)

# --- audit retention ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeResult:
    """What a retention purge removed: a count and the id of the last removed event."""

    deleted: int
    through_id: int | None
    cutoff: datetime


@transaction.atomic
def purge_audit_events(*, now: datetime | None = None) -> PurgeResult:
    """Delete the oldest audit events past AUDIT_RETENTION_DAYS, keeping the chain verifiable.

    Only a prefix of the chain is removed (every event before the first one that is still
    young), and the chain head's anchor moves to the last removed event, so ``verify`` starts
    there. The delete trigger allows it only while this transaction's permit row exists and only
    for rows older than the legal 184 days, whatever the settings say.
    """
    days = max(int(settings.AUDIT_RETENTION_DAYS), MIN_AUDIT_RETENTION_DAYS)
    cutoff = (now or timezone.now()) - timedelta(days=days)
    head = audit.lock_chain()
    first_kept = (
        AuditEvent.objects.filter(occurred_at__gte=cutoff)
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    doomed = AuditEvent.objects.all()
    if first_kept is not None:
        doomed = doomed.filter(id__lt=first_kept)
    last = doomed.order_by("-id").values("id", "hash").first()
    if last is None:
        return PurgeResult(deleted=0, through_id=None, cutoff=cutoff)
    permit = AuditPurgePermit.objects.create()
    deleted, _ = doomed.delete()
    permit.delete()
    head.anchor_id, head.anchor_hash = last["id"], last["hash"]
    head.save(update_fields=["anchor_id", "anchor_hash"])
    audit.record(
        "audit.purged",
        detail={"deleted": deleted, "through_id": last["id"], "retention_days": days},
    )
    return PurgeResult(deleted=deleted, through_id=last["id"], cutoff=cutoff)


def verify_audit_chain(
    *, actor=None, membership=None, request=None, progress: Callable[[int], None] | None = None
) -> audit.ChainReport:
    """Verify the chain and record that it was verified (and with what result)."""
    report = audit.verify_chain(progress=progress)
    audit.record(
        "audit.verified",
        actor=actor,
        membership=membership,
        request=request,
        outcome="ok" if report.ok else "failed",
        detail={
            "checked": report.checked,
            "first_broken_id": report.first_broken_id,
            "reason": report.reason,
        },
    )
    return report


# --- field keys -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EncryptedModel:
    """A model with encrypted columns, and the blind indexes computed from them."""

    model: type[Model]
    encrypted: tuple[EncryptedFieldMixin, ...]
    blind: tuple[BlindIndexField, ...]


def encrypted_models() -> list[EncryptedModel]:
    """Every installed, managed model with at least one encrypted field."""
    found = []
    for model in apps.get_models():
        meta = model._meta
        if meta.abstract or meta.proxy or not meta.managed:
            continue
        encrypted = tuple(encrypted_fields(model))
        if encrypted:
            found.append(EncryptedModel(model, encrypted, tuple(blind_index_fields(model))))
    return found


@dataclass
class RotationResult:
    """Counts from a key rotation; ``failed`` rows could not be decrypted with any known key."""

    rows: int = 0
    rotated: int = 0
    reindexed: int = 0
    failed: int = 0
    per_model: dict[str, int] = field(default_factory=dict)


def count_encrypted_rows() -> int:
    return sum(entry.model._base_manager.count() for entry in encrypted_models())


def rotate_field_keys(
    *, actor=None, progress: Callable[[int], None] | None = None, batch_size: int = 500
) -> RotationResult:
    """Re-encrypt every encrypted value to the active key id and algorithm.

    Blind indexes that no longer match (after a change of BLIND_INDEX_KEY or suite) are
    recomputed on the way. Each row is updated only if its ciphertext is still the one read, so
    a concurrent edit (already written with the active key) is never overwritten with old data.
    """
    provider = crypto.provider()
    result = RotationResult()
    for entry in encrypted_models():
        model = entry.model
        bind_fields = {f.bind_to for f in entry.encrypted}
        columns = {
            "pk",
            *bind_fields,
            *(f.attname for f in entry.encrypted),
            *(f.attname for f in entry.blind),
        }
        rows = model._base_manager.order_by("pk").only(*columns).iterator(chunk_size=batch_size)
        batch: list[Model] = []
        for instance in rows:
            batch.append(instance)
            if len(batch) >= batch_size:
                _rotate_batch(entry, batch, provider, result)
                if progress is not None:
                    progress(len(batch))
                batch = []
        if batch:
            _rotate_batch(entry, batch, provider, result)
            if progress is not None:
                progress(len(batch))
    audit.record(
        "crypto.rotated",
        actor=actor,
        detail={
            "key_id": provider.active_key_id,
            "rows": result.rows,
            "rotated": result.rotated,
            "reindexed": result.reindexed,
            "failed": result.failed,
        },
        outcome="ok" if not result.failed else "partial",
    )
    return result


@transaction.atomic
def _rotate_batch(entry: EncryptedModel, batch: list[Model], provider, result) -> None:
    label = entry.model._meta.label
    for instance in batch:
        result.rows += 1
        updates: dict[str, object] = {}
        expected: dict[str, object] = {}
        try:
            for enc in entry.encrypted:
                raw = instance.__dict__.get(enc.attname)
                if isinstance(raw, Sealed) and provider.needs_rotation(raw.token):
                    plaintext = enc.open_sealed(instance, raw)
                    updates[enc.attname] = enc.seal(instance, plaintext)
                    expected[enc.attname] = raw
            for blind in entry.blind:
                value = blind.compute(getattr(instance, blind.source))
                if value != instance.__dict__.get(blind.attname):
                    updates[blind.attname] = value
        except crypto.CryptoError:
            result.failed += 1
            continue
        if not updates:
            continue
        changed = entry.model._base_manager.filter(pk=instance.pk, **expected).update(**updates)
        if changed:
            result.rotated += bool(expected)
            result.reindexed += any(b.attname in updates for b in entry.blind)
            result.per_model[label] = result.per_model.get(label, 0) + 1


def key_usage() -> dict[str, int]:
    """How many stored values each key id still protects (an id at 0 can be retired)."""
    usage: dict[str, int] = {key_id: 0 for key_id in crypto.provider().key_ids}
    for entry in encrypted_models():
        for enc in entry.encrypted:
            tokens = (
                entry.model._base_manager.exclude(**{f"{enc.attname}__isnull": True})
                .values_list(enc.attname, flat=True)
                .iterator(chunk_size=2000)
            )
            for token in tokens:
                if token:
                    key_id = crypto.key_id_of(token.token if isinstance(token, Sealed) else token)
                    usage[key_id or "(data key)"] = usage.get(key_id or "(data key)", 0) + 1
    return usage


@transaction.atomic
def create_key_check(*, actor=None) -> KeyCheck:
    """Seal the known phrase with the active key, for ``crypto check`` to open later."""
    check = KeyCheck.objects.create(phrase=KeyCheck.PHRASE)
    audit.record(
        "crypto.key_check_created",
        actor=actor,
        obj=check,
        detail={"key_id": crypto.provider().active_key_id},
    )
    return check


def verify_key_checks() -> list[tuple[str, str, bool]]:
    """``(public id, key id, ok)`` for every key check row: can today's keys open it?"""
    results = []
    for check in KeyCheck.objects.order_by("pk"):
        raw = check.__dict__["phrase"]
        key_id = crypto.key_id_of(raw.token) if isinstance(raw, Sealed) else ""
        try:
            ok = check.phrase == KeyCheck.PHRASE
        except crypto.CryptoError:
            ok = False
        results.append((str(check.public_id), key_id, ok))
    return results


# --- working-day calendar ---------------------------------------------------------------------


class CalendarImportError(Exception):
    """A CSV import was refused; ``errors`` are line-numbered messages in the user's language."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class CalendarRow:
    day: date
    kind: str
    name: str


KIND_ALIASES = {
    "holiday": CalendarDay.Kind.HOLIDAY,
    "节假日": CalendarDay.Kind.HOLIDAY,
    "休": CalendarDay.Kind.HOLIDAY,
    "makeup_workday": CalendarDay.Kind.MAKEUP_WORKDAY,
    "调休上班": CalendarDay.Kind.MAKEUP_WORKDAY,
    "班": CalendarDay.Kind.MAKEUP_WORKDAY,
}


def _calendar_changed() -> None:
    # Now for this thread's own reads, and again after commit for every other process.
    workdays.invalidate()
    transaction.on_commit(workdays.invalidate)


def validate_calendar_day(*, day: date, kind: str) -> None:
    """A make-up working day is a Saturday or Sunday; anything else is a data-entry mistake."""
    if kind not in CalendarDay.Kind.values:
        raise ValidationError({"kind": _("Unknown kind of day.")})
    if kind == CalendarDay.Kind.MAKEUP_WORKDAY and day.weekday() < 5:
        raise ValidationError({"kind": _("A make-up working day must be a Saturday or a Sunday.")})


@transaction.atomic
def save_calendar_day(
    *,
    day: date,
    kind: str,
    name: str = "",
    actor=None,
    membership=None,
    original: CalendarDay | None = None,
) -> CalendarDay:
    """Add a holiday or make-up working day, or change one (``original``), and audit it."""
    validate_calendar_day(day=day, kind=kind)
    clash = CalendarDay.objects.filter(date=day)
    if original is not None:
        clash = clash.exclude(pk=original.pk)
    if clash.exists():
        raise ValidationError({"date": _("This date is already in the calendar.")})
    if original is None:
        entry = CalendarDay.objects.create(date=day, kind=kind, name=name.strip())
        action = "calendar.day_added"
        detail = {"date": day.isoformat(), "kind": kind, "name": entry.name}
    else:
        entry = CalendarDay.objects.select_for_update().get(pk=original.pk)
        before = {"date": entry.date.isoformat(), "kind": entry.kind, "name": entry.name}
        entry.date, entry.kind, entry.name = day, kind, name.strip()
        entry.save(update_fields=["date", "kind", "name", "updated_at"])
        action = "calendar.day_changed"
        detail = {
            "before": before,
            "after": {"date": day.isoformat(), "kind": kind, "name": entry.name},
        }
    audit.record(
        action,
        actor=actor,
        membership=membership,
        obj=("core.calendarday", day.isoformat()),
        detail=detail,
    )
    _calendar_changed()
    return entry


@transaction.atomic
def delete_calendar_day(*, entry: CalendarDay, actor=None, membership=None) -> None:
    """Remove a calendar exception; the day follows the Monday–Friday rule again."""
    detail = {"date": entry.date.isoformat(), "kind": entry.kind, "name": entry.name}
    CalendarDay.objects.filter(pk=entry.pk).delete()
    audit.record(
        "calendar.day_deleted",
        actor=actor,
        membership=membership,
        obj=("core.calendarday", entry.date.isoformat()),
        detail=detail,
    )
    _calendar_changed()


@transaction.atomic
def set_year_known(
    *, year: int, known: bool, actor=None, membership=None, source: str = CalendarYear.Source.MANUAL
) -> None:
    """Declare a year's schedule complete (or not): only then do deadlines trust it."""
    if known:
        CalendarYear.objects.get_or_create(year=year, defaults={"source": source})
    else:
        CalendarYear.objects.filter(year=year).delete()
    audit.record(
        "calendar.year_marked",
        actor=actor,
        membership=membership,
        obj=("core.calendaryear", str(year)),
        detail={"year": year, "known": known},
    )
    _calendar_changed()


def decode_csv(data: bytes | str) -> str:
    """CSV text from an upload: UTF-8 (with or without Excel's BOM), else GB18030."""
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def parse_calendar_csv(text: str) -> list[CalendarRow]:
    """Rows ``date,kind,name`` (a header line is optional); every problem is reported by line."""
    errors: list[str] = []
    rows: list[CalendarRow] = []
    seen: dict[date, int] = {}
    for line_no, record in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in record]
        if not any(cells):
            continue
        if line_no == 1 and cells[0].lower() in {"date", "日期"}:
            continue
        problem = None
        parsed_day = _parse_date(cells[0]) if cells else None
        kind = KIND_ALIASES.get(cells[1].lower() if len(cells) > 1 else "")
        name = cells[2] if len(cells) > 2 else ""
        if len(cells) < 2 or len(cells) > 3:
            problem = _("expected 2 or 3 columns: date,kind,name")
        elif parsed_day is None:
            problem = _("%(value)s is not a date (use YYYY-MM-DD)") % {"value": cells[0]}
        elif kind is None:
            problem = _("%(value)s is not a kind (use holiday or makeup_workday)") % {
                "value": cells[1]
            }
        elif len(name) > 60:
            problem = _("the name is longer than 60 characters")
        elif parsed_day in seen:
            problem = _("%(date)s already appears on line %(line)d") % {
                "date": parsed_day.isoformat(),
                "line": seen[parsed_day],
            }
        else:
            try:
                validate_calendar_day(day=parsed_day, kind=kind)
            except ValidationError as exc:
                problem = "; ".join(exc.messages)
        if problem is not None:
            errors.append(_("Line %(line)d: %(problem)s") % {"line": line_no, "problem": problem})
            continue
        seen[parsed_day] = line_no
        rows.append(CalendarRow(parsed_day, kind, name))
    if errors:
        raise CalendarImportError(errors)
    if not rows:
        raise CalendarImportError([_("The file contains no calendar days.")])
    return rows


def _parse_date(value: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    years: list[int]


@transaction.atomic
def import_calendar_csv(
    *, data: bytes | str, mark_complete: bool = True, actor=None, membership=None
) -> ImportResult:
    """Import ``date,kind,name`` rows all-or-nothing; existing dates take the file's values.

    With ``mark_complete`` the years in the file become known: the file is taken to be the
    whole published schedule of those years.
    """
    rows = parse_calendar_csv(decode_csv(data))
    existing = {
        entry.date: entry
        for entry in CalendarDay.objects.select_for_update().filter(date__in=[r.day for r in rows])
    }
    created = updated = 0
    for row in rows:
        entry = existing.get(row.day)
        if entry is None:
            CalendarDay.objects.create(date=row.day, kind=row.kind, name=row.name)
            created += 1
        elif (entry.kind, entry.name) != (row.kind, row.name):
            entry.kind, entry.name = row.kind, row.name
            entry.save(update_fields=["kind", "name", "updated_at"])
            updated += 1
    years = sorted({row.day.year for row in rows})
    if mark_complete:
        for year in years:
            CalendarYear.objects.get_or_create(
                year=year, defaults={"source": CalendarYear.Source.IMPORT}
            )
    audit.record(
        "calendar.imported",
        actor=actor,
        membership=membership,
        detail={
            "created": created,
            "updated": updated,
            "years": years,
            "marked_complete": mark_complete,
        },
    )
    _calendar_changed()
    return ImportResult(created=created, updated=updated, years=years)


@dataclass(frozen=True)
class SeedResult:
    created: int
    years: list[int]


@transaction.atomic
def seed_calendar_from_package(*, years: list[int] | None = None, actor=None) -> SeedResult:
    """Add what the chinese-calendar package knows; dates already entered are left as they are.

    Years become known only when the package covers them and they were not known before.
    """
    days, package_years = workdays.package_schedule()
    wanted = set(years) if years else set(package_years)
    existing = set(CalendarDay.objects.filter(date__year__in=wanted).values_list("date", flat=True))
    new_days = [
        CalendarDay(date=d, kind=kind, name=name)
        for d, kind, name in days
        if d.year in wanted and d not in existing
    ]
    CalendarDay.objects.bulk_create(new_days)
    known = set(CalendarYear.objects.values_list("year", flat=True))
    added_years = sorted(wanted & set(package_years) - known)
    CalendarYear.objects.bulk_create(
        [CalendarYear(year=y, source=CalendarYear.Source.PACKAGE) for y in added_years]
    )
    audit.record(
        "calendar.seeded", actor=actor, detail={"created": len(new_days), "years": added_years}
    )
    _calendar_changed()
    return SeedResult(created=len(new_days), years=added_years)
