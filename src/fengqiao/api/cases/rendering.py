"""How a case, its units, notes and parties (masked) are rendered for the API's answers."""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from fengqiao.cases import services
from fengqiao.cases.models import Case, Note, Status
from fengqiao.core.masking import mask_id_number, mask_phone
from fengqiao.regions.models import Unit


def _unit(unit: Unit | None) -> dict[str, Any] | None:
    if unit is None:
        return None
    return {"id": unit.public_id, "name": unit.name, "kind": unit.kind, "level": unit.level}


def _is_overdue(case: Case, now: datetime) -> bool:
    if case.status == Status.REPORTED:
        return bool(case.accept_due_at and case.accept_due_at < now)
    if case.status in (Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS):
        return bool(case.handle_due_at and case.handle_due_at < now)
    return False


def _case_out(case: Case, now: datetime | None = None) -> dict[str, Any]:
    return {
        "code": case.code,
        "kind": case.kind,
        "category": {"code": case.category.code, "name": case.category.name},
        "title": case.title,
        "channel": case.channel,
        "status": case.status,
        "status_label": str(case.get_status_display()),
        "level": case.level,
        "region_code": case.region_code,
        "region_name": case.region.full_name or case.region.name,
        "owner_unit": _unit(case.owner_unit),
        "handler_unit": _unit(case.handler_unit),
        "severity": case.severity,
        "urgency": case.urgency,
        "supervision": case.supervision,
        "reported_at": case.reported_at,
        "accept_due_at": case.accept_due_at,
        "handle_due_at": case.handle_due_at,
        "closed_at": case.closed_at,
        "overdue": _is_overdue(case, now or timezone.now()),
    }


def _person(user) -> str:
    return (user.full_name or user.username) if user is not None else ""


def _detail(request: HttpRequest, case: Case) -> dict[str, Any]:
    out = _case_out(case)
    out.update(
        {
            "description": case.description,
            "place_text": case.place_text,
            "latitude": float(case.latitude) if case.latitude is not None else None,
            "longitude": float(case.longitude) if case.longitude is not None else None,
            "occurred_at": case.occurred_at,
            "people_count": case.people_count,
            "amount": case.amount,
            "may_turn_violent": case.may_turn_violent,
            "risk_tier": case.risk_tier,
            "closure_method": case.closure_method,
            "resolved": case.resolved,
            "closure_summary": case.closure_summary,
            "satisfaction": case.satisfaction,
            "evaluation_comment": case.evaluation_comment,
            "visited_at": case.visited_at,
            "evaluated_at": case.evaluated_at,
            "parties": [
                {
                    "id": party.public_id,
                    "role": party.role,
                    "name": party.name,
                    "id_number": mask_id_number(party.id_number),
                    "phone": mask_phone(party.phone),
                }
                for party in case.parties.all()
            ],
            "notes": [_note_out(note) for note in case.notes.all()],
            "attachments": [
                {
                    "id": item.public_id,
                    "name": item.original_name,
                    "content_type": item.content_type,
                    "size": item.size,
                    "is_public": item.is_public,
                    "created_at": item.created_at,
                }
                for item in case.attachments.all()
            ],
            "available_actions": list(services.available_actions(case, request.membership)),
        }
    )
    return out


def _note_out(note: Note) -> dict[str, Any]:
    return {
        "id": note.public_id,
        "body": note.body,
        "is_public": note.is_public,
        "author": _person(note.author),
        "author_unit": note.author_unit.name if note.author_unit else "",
        "created_at": note.created_at,
    }
