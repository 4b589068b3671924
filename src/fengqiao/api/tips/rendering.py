"""How tips, units, attachments and an opened dossier are rendered for the handlers' answers."""

from typing import Any

from fengqiao.regions.models import Unit
from fengqiao.tips import services
from fengqiao.tips.models import Tip


def _unit_ref(unit: Unit | None) -> dict[str, Any] | None:
    if unit is None:
        return None
    return {"id": unit.public_id, "name": unit.name, "kind": unit.kind}


def _tip_ref(tip: Tip | None) -> dict[str, Any] | None:
    if tip is None:
        return None
    return {
        "id": tip.public_id,
        "reference": tip.reference,
        "status": tip.status,
        "received_at": tip.received_at,
    }


def _tip_out(tip: Tip) -> dict[str, Any]:
    return {
        "id": tip.public_id,
        "reference": tip.reference,
        "status": tip.status,
        "status_label": str(tip.get_status_display()),
        "category": tip.category,
        "category_label": str(tip.get_category_display()),
        "channel": tip.channel,
        "region_code": tip.region_code,
        "region_name": tip.region.full_name or tip.region.display_name,
        "received_at": tip.received_at,
        "forward_by": tip.triage_by,
        "verify_by": tip.verify_by,
        "card": tip.card,
        "officials_involved": tip.officials_involved,
        "is_real_name": tip.is_real_name,
        "routed_unit": _unit_ref(tip.routed_unit),
        "discipline_unit": _unit_ref(tip.discipline_unit),
        "assigned_unit": _unit_ref(tip.assigned_unit),
    }


def _attachment_out(info: services.AttachmentInfo) -> dict[str, Any]:
    return {
        "id": info.public_id,
        "filename": info.filename,
        "content_type": info.content_type,
        "size": info.size,
        "from_reporter": info.from_reporter,
        "created_at": info.created_at,
    }


def _person(user) -> str:
    return (user.full_name or user.username) if user is not None else ""


def _detail(dossier: services.Dossier) -> dict[str, Any]:
    tip = dossier.tip
    return {
        **_tip_out(tip),
        "description": dossier.description,
        "place_text": dossier.place_text,
        "officials_text": dossier.officials_text,
        "reporter_name": dossier.reporter_name_masked,
        "reporter_contact": dossier.reporter_contact_masked,
        "accused": [a.__dict__ for a in dossier.accused],
        "messages": [
            {
                "id": m.public_id,
                "direction": m.direction,
                "body": m.body,
                "author": m.author,
                "created_at": m.created_at,
                "attachments": [_attachment_out(a) for a in m.attachments],
            }
            for m in dossier.messages
        ],
        "notes": [
            {"id": n.public_id, "body": n.body, "author": n.author, "created_at": n.created_at}
            for n in dossier.notes
        ],
        "attachments": [_attachment_out(a) for a in dossier.attachments],
        "events": [
            {
                "action": e.action,
                "action_label": str(e.get_action_display()),
                "from_status": e.from_status,
                "to_status": e.to_status,
                "at": e.at,
                "actor": _person(e.actor),
                "unit": e.unit.name if e.unit else "",
            }
            for e in dossier.events
        ],
        "transfers": [
            {
                "id": t.public_id,
                "kind": t.kind,
                "from_unit": t.from_unit.name if t.from_unit else "",
                "to_unit": t.to_unit.name,
                "created_at": t.created_at,
                "due_by": t.due_by,
                "settled_at": t.settled_at,
            }
            for t in dossier.transfers
        ],
        "case_links": dossier.case_links,
        "duplicates": [_tip_ref(d) for d in dossier.duplicates],
        "merged_into": _tip_ref(tip.merged_into),
        "first_report": _tip_ref(tip.first_report),
        "rejection_reason": dossier.rejection_reason,
        "verification": tip.verification,
        "verification_summary": dossier.verification_summary,
        "disposal": tip.disposal,
        "disposal_unit": tip.disposal_unit.name if tip.disposal_unit else tip.disposal_unit_name,
        "case_charges": tip.case_charges,
        "case_opened_on": tip.case_opened_on,
        "disposal_note": dossier.disposal_note,
        "opinion": tip.opinion,
        "opinion_comment": dossier.opinion_comment,
        "allowed_actions": dossier.allowed_actions,
    }
