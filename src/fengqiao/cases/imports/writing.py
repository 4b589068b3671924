"""Writing a checked file: every case in one transaction through ``services.report_case``, once per
file (by SHA-256) and once per external reference."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import connection

from fengqiao.cases.imports.columns import HEADER
from fengqiao.cases.imports.results import ImportIssue, ImportRejected, ImportResult
from fengqiao.cases.imports.validation import validate
from fengqiao.cases.models import Case, Channel
from fengqiao.core import audit, idempotency

# pg_advisory_xact_lock key serialising imports ("FQIMPORT"): the "already imported" check on
# external references and the inserts must not interleave between two imports.
ADVISORY_LOCK_KEY = 0x4651_494D_504F_5254
IDEMPOTENCY_SCOPE = "cases.import"


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _already_imported(refs: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(refs), 500):
        found.update(
            Case.objects.filter(
                channel=Channel.IMPORT, external_ref__in=refs[start : start + 500]
            ).values_list("external_ref", flat=True)
        )
    return found


# Which column a refusal from report_case points at (its ``field``).
_FIELD_COLUMN = {
    "category": "category_code",
    "title": "title",
    "description": "description",
    "place_text": "place_text",
    "region_code": "region_code",
    "latitude": "latitude",
    "longitude": "longitude",
    "severity": "severity",
    "urgency": "urgency",
    "people_count": "people_count",
    "amount": "amount",
}


def import_cases(*, data: bytes, actor: Any, membership: Any) -> ImportResult:
    """Import a workbook of cases: all rows or none (see the module docstring).

    Raises ``ImportRejected`` with every problem; returns what was created and skipped.
    ``membership`` (the importer's active role) limits places to its area.
    """
    from fengqiao.cases import services  # services imports much; only the write path needs it

    sha = file_sha256(data)
    scope = membership.scope_prefix if membership is not None else None
    rows, issues = validate(data, scope_prefix=scope)
    if issues:
        raise ImportRejected(issues)
    result = ImportResult(sha256=sha, rows=len(rows))
    ran: list[bool] = []

    def create() -> tuple[int, dict[str, Any]]:
        ran.append(True)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        done = _already_imported([row.external_ref for row in rows if row.external_ref])
        for row in rows:
            if row.external_ref in done:
                result.skipped.append((row.row, row.external_ref))
                continue
            parties = []
            if row.party_name:
                parties.append(
                    services.PartyData(
                        role="applicant",
                        name=row.party_name,
                        id_number=row.party_id_number,
                        phone=row.party_phone,
                    )
                )
            try:
                case = services.report_case(
                    data=services.IntakeData(
                        category=row.category,
                        channel=Channel.IMPORT,
                        title=row.title,
                        description=row.description,
                        place_text=row.place_text,
                        latitude=row.latitude,
                        longitude=row.longitude,
                        region_code=row.region_code,
                        severity=row.severity,
                        urgency=row.urgency,
                        people_count=row.people_count,
                        amount=row.amount,
                        occurred_at=row.occurred_at,
                        external_ref=row.external_ref,
                        parties=parties,
                    ),
                    actor=actor,
                    membership=membership,
                )
            except services.WorkflowError as error:
                field_name = (error.field or "").split(".")[-1]
                column = _FIELD_COLUMN.get(field_name, "")
                if field_name.startswith("parties") or (error.field or "").startswith("parties"):
                    column = {"id_number": "party_id_number", "phone": "party_phone"}.get(
                        field_name, "party_name"
                    )
                raise ImportRejected(
                    [ImportIssue(row.row, HEADER.get(column, ""), error.code, error.message)]
                ) from error
            result.created.append(case.code)
        audit.record(
            "cases.imported",
            actor=actor,
            membership=membership,
            detail={
                "sha256": sha,
                "rows": len(rows),
                "created": len(result.created),
                "skipped": len(result.skipped),
            },
        )
        return 201, result.as_json()

    status, body = idempotency.run(
        scope=IDEMPOTENCY_SCOPE, key=sha, payload={"sha256": sha}, create=create
    )
    if not ran:
        # This very file was imported before: the stored answer of that first import.
        return ImportResult(
            sha256=sha,
            rows=body["rows"],
            created=list(body["created"]),
            skipped=[(row, ref) for row, ref in body["skipped"]],
            replayed=True,
        )
    return result
