"""The handling loop: triage, assignment, transfers, verification, disposal, closure, messages,
notes and case links. Each step is one function; ``allowed_actions`` lists the ones open now."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.regions.models import Unit
from fengqiao.tips import policy, routing
from fengqiao.tips.errors import TipNotFound, TipRefused
from fengqiao.tips.models import (
    Action,
    Category,
    Direction,
    Disposal,
    InternalNote,
    Opinion,
    Status,
    Tip,
    TipCaseLink,
    TipMessage,
    TipTransfer,
    TransferKind,
    Verification,
    can,
)
from fengqiao.tips.services.rules import (
    CASE_CODE,
    MAX_DESCRIPTION,
    MAX_SHORT,
    MAX_TEXT,
    check_step,
    clean_text,
    is_handler,
    is_supervisor,
    is_visible,
    lock,
    open_for_reporter,
    record_step,
    root_of,
)

if TYPE_CHECKING:
    from fengqiao.accounts.models import Membership


@transaction.atomic
def accept_tip(tip: Tip, *, membership: Membership, category: str | None = None) -> Tip:
    """Triage: the tip is about organised crime and will be assigned (已受理)."""
    tip = lock(tip)
    check_step(tip, membership, Action.ACCEPT, who="supervisor")
    fields = ["status", "updated_at"]
    if category is not None:
        if category not in Category.values:
            raise ValidationError({"category": [_("Unknown category.")]})
        tip.category = category
        fields.append("category")
    before, tip.status = tip.status, Status.TRIAGED
    tip.save(update_fields=fields)
    record_step(
        tip,
        Action.ACCEPT,
        membership=membership,
        from_status=before,
        detail={"category": tip.category},
    )
    return tip


@transaction.atomic
def flag_officials(
    tip: Tip, *, membership: Membership, officials_region_code: str, officials_text: str = ""
) -> Tip:
    """Triage: the tip names officials (of the region given); re-route it around their level.

    The tip moves to the 扫黑办 and 纪委监委 above the officials; if that is above the triager's
    own unit, the triager no longer sees it from here on.
    """
    tip = lock(tip)
    check_step(tip, membership, Action.FLAG_OFFICIALS, who="supervisor")
    officials_text = clean_text(officials_text, field_name="officials_text", limit=MAX_TEXT)
    try:
        region = routing.officials_region_for(tip.region, (officials_region_code or "").strip())
        route = routing.route_for(tip.region, region, officials_involved=True)
    except ValidationError as exc:
        raise ValidationError({"officials_region_code": exc.messages}, code=exc.code) from exc
    before_unit = tip.routed_unit
    tip.officials_involved = True
    tip.officials_region = region if route.bypass_prefix else None
    tip.bypass_prefix = route.bypass_prefix
    tip.routed_unit, tip.discipline_unit = route.routed_unit, route.discipline_unit
    fields = [
        "officials_involved",
        "officials_region",
        "bypass_prefix",
        "routed_unit",
        "discipline_unit",
        "updated_at",
    ]
    if officials_text:
        tip.officials_text = officials_text
        fields.append("officials_text")
    tip.save(update_fields=fields)
    # Duplicates tell the same story: they leave the bypassed level with the tip.
    Tip.objects.filter(merged_into=tip).update(
        officials_involved=True,
        officials_region=tip.officials_region,
        bypass_prefix=tip.bypass_prefix,
        routed_unit=tip.routed_unit,
        discipline_unit=tip.discipline_unit,
    )
    record_step(
        tip,
        Action.FLAG_OFFICIALS,
        membership=membership,
        from_status=tip.status,
        detail={"rerouted": before_unit != route.routed_unit, "bypass": bool(route.bypass_prefix)},
    )
    return tip


@transaction.atomic
def merge_tip(tip: Tip, *, into: Tip, membership: Membership) -> Tip:
    """Triage: ``tip`` repeats ``into``; it is closed as merged and handled with ``into``.

    The first reporter stays recorded on the surviving tip (``first_report``): whichever of the
    merged reports came first, since reward rules pay the first.
    """
    tip = lock(tip)
    check_step(tip, membership, Action.MERGE, who="supervisor")
    target = root_of(Tip.objects.select_for_update().get(pk=into.pk))
    target = lock(target)
    if target.pk == tip.pk or not is_visible(target, membership):
        raise TipNotFound
    if not target.is_open:
        raise TipRefused("target_closed", _("A tip can be merged only into an open tip."))
    before = tip.status
    tip.status, tip.merged_into = Status.MERGED, target
    tip.save(update_fields=["status", "merged_into", "updated_at"])
    # Tips merged into this one follow it to the surviving tip.
    Tip.objects.filter(merged_into=tip).update(merged_into=target)
    earliest = min(
        (target.first_reporter_tip, tip.first_reporter_tip), key=lambda t: (t.received_at, t.pk)
    )
    new_first = None if earliest.pk == target.pk else earliest
    if target.first_report_id != (new_first.pk if new_first else None):
        target.first_report = new_first
        target.save(update_fields=["first_report", "updated_at"])
    record_step(
        tip,
        Action.MERGE,
        membership=membership,
        from_status=before,
        detail={"into": str(target.public_id)},
    )
    record_step(
        target,
        Action.MERGED_IN,
        membership=membership,
        from_status=target.status,
        detail={"duplicate": str(tip.public_id), "first_report_kept": earliest.pk != tip.pk},
    )
    return tip


@transaction.atomic
def reject_tip(
    tip: Tip, *, membership: Membership, reason: str, message_to_reporter: str = ""
) -> Tip:
    """Triage: not gang-related (不属于涉黑涉恶), with a reason; optionally tell the reporter why."""
    tip = lock(tip)
    check_step(tip, membership, Action.REJECT, who="supervisor")
    reason = clean_text(reason, field_name="reason", limit=MAX_TEXT, required=True)
    message_to_reporter = clean_text(
        message_to_reporter, field_name="message_to_reporter", limit=MAX_TEXT
    )
    before = tip.status
    tip.status, tip.rejection_reason, tip.closed_at = Status.REJECTED, reason, timezone.now()
    tip.save(update_fields=["status", "rejection_reason", "closed_at", "updated_at"])
    if message_to_reporter:
        _new_message(tip, membership, message_to_reporter)
    record_step(
        tip,
        Action.REJECT,
        membership=membership,
        from_status=before,
        detail={"message_sent": bool(message_to_reporter)},
    )
    return tip


# --- assignment, transfer, handling -----------------------------------------------------------


def _receiving_unit(tip: Tip, unit: Unit) -> Unit:
    if not routing.may_receive(
        unit, bypass_prefix=tip.bypass_prefix, within=tip.routed_unit.scope_prefix
    ):
        raise ValidationError(
            {
                "unit": [
                    _(
                        "This unit cannot receive the tip: choose an active police, anti-gang or "
                        "discipline unit in the office's area and above any officials named."
                    )
                ]
            },
            code="unit_not_allowed",
        )
    return unit


@transaction.atomic
def assign_tip(tip: Tip, *, membership: Membership, unit: Unit) -> Tip:
    """The supervising office hands the tip to a 公安, 扫黑办 or 纪委监委 unit (交办).

    The unit must take it up (start verifying) within the forwarding clock: 5 working days.
    """
    tip = lock(tip)
    check_step(tip, membership, Action.ASSIGN, who="supervisor")
    _receiving_unit(tip, unit)
    now = timezone.now()
    transfer = TipTransfer(
        tip=tip,
        kind=TransferKind.ASSIGNMENT,
        from_unit=membership.unit,
        to_unit=unit,
        created_by=membership.user,
        created_at=now,
        due_by=policy.forward_by(timezone.localdate(now)),
    )
    transfer.save(force_insert=True)
    before, tip.status, tip.assigned_unit = tip.status, Status.ASSIGNED, unit
    tip.save(update_fields=["status", "assigned_unit", "updated_at"])
    record_step(
        tip,
        Action.ASSIGN,
        membership=membership,
        from_status=before,
        detail={
            "to_unit": str(unit.public_id),
            "take_up_by": transfer.due_by.isoformat(),
            "on_time": timezone.localdate(now) <= tip.triage_by,
        },
        now=now,
    )
    return tip


@transaction.atomic
def transfer_tip(tip: Tip, *, membership: Membership, to_unit: Unit, reason: str) -> Tip:
    """Move the tip to another unit (移交, e.g. 公安 ↔ 纪委监委) on its own clock: the new unit
    takes it up within the forwarding clock (5 working days). The old unit stops seeing it."""
    tip = lock(tip)
    check_step(tip, membership, Action.TRANSFER, who="either")
    reason = clean_text(reason, field_name="reason", limit=MAX_TEXT, required=True)
    _receiving_unit(tip, to_unit)
    if to_unit.pk == tip.assigned_unit_id:
        raise ValidationError({"unit": [_("The tip is already with this unit.")]})
    now = timezone.now()
    _settle_transfer(tip, now)
    transfer = TipTransfer(
        tip=tip,
        kind=TransferKind.TRANSFER,
        from_unit=tip.assigned_unit,
        to_unit=to_unit,
        created_by=membership.user,
        created_at=now,
        due_by=policy.forward_by(timezone.localdate(now)),
    )
    transfer.reason = reason
    transfer.save(force_insert=True)
    before, tip.status, tip.assigned_unit = tip.status, Status.ASSIGNED, to_unit
    tip.save(update_fields=["status", "assigned_unit", "updated_at"])
    record_step(
        tip,
        Action.TRANSFER,
        membership=membership,
        from_status=before,
        detail={"to_unit": str(to_unit.public_id), "take_up_by": transfer.due_by.isoformat()},
        now=now,
    )
    return tip


@transaction.atomic
def start_verifying(tip: Tip, *, membership: Membership) -> Tip:
    """The assigned unit takes the tip up (签收) and starts verification; the hand-over clock stops."""
    tip = lock(tip)
    check_step(tip, membership, Action.START_VERIFYING, who="handler")
    now = timezone.now()
    transfer = _settle_transfer(tip, now)
    before, tip.status = tip.status, Status.VERIFYING
    tip.save(update_fields=["status", "updated_at"])
    on_time = transfer is None or timezone.localdate(now) <= transfer.due_by
    record_step(
        tip,
        Action.START_VERIFYING,
        membership=membership,
        from_status=before,
        detail={"on_time": on_time},
        now=now,
    )
    return tip


@transaction.atomic
def record_verification(tip: Tip, *, membership: Membership, outcome: str, summary: str) -> Tip:
    """The assigned unit records the outcome: 查实 (substantiated) or 查否 (unsubstantiated)."""
    tip = lock(tip)
    check_step(tip, membership, Action.VERIFY, who="handler")
    if outcome not in Verification.values:
        raise ValidationError({"outcome": [_("Choose substantiated or unsubstantiated.")]})
    summary = clean_text(summary, field_name="summary", limit=MAX_DESCRIPTION, required=True)
    now = timezone.now()
    before = tip.status
    tip.status, tip.verification, tip.verified_at = Status.VERIFIED, outcome, now
    tip.verification_summary = summary
    tip.save(
        update_fields=[
            "status",
            "verification",
            "verification_summary",
            "verified_at",
            "updated_at",
        ]
    )
    record_step(
        tip,
        Action.VERIFY,
        membership=membership,
        from_status=before,
        detail={"outcome": outcome, "on_time": timezone.localdate(now) <= tip.verify_by},
        now=now,
    )
    return tip


@transaction.atomic
def dispose_tip(
    tip: Tip,
    *,
    membership: Membership,
    disposal: str,
    unit: Unit | None = None,
    unit_name: str = "",
    charges: str = "",
    case_opened_on: date | None = None,
    note: str = "",
) -> Tip:
    """Record how the verified tip was disposed of (处置).

    case_opened: the organ (``unit`` or ``unit_name``), suspected charges and the date are needed;
    transferred: the organ; punished: a note saying what was done; not_gang_related: optional
    note. A 查否 tip can only be closed as not gang-related.
    """
    tip = lock(tip)
    check_step(tip, membership, Action.DISPOSE, who="either")
    if disposal not in Disposal.values:
        raise ValidationError({"disposal": [_("Unknown disposal.")]})
    if tip.verification == Verification.UNSUBSTANTIATED and disposal != Disposal.NOT_GANG_RELATED:
        raise ValidationError(
            {"disposal": [_("An unsubstantiated tip can only be disposed of as not gang-related.")]}
        )
    unit_name = clean_text(unit_name, field_name="unit_name", limit=MAX_SHORT)
    charges = clean_text(charges, field_name="charges", limit=MAX_SHORT)
    note = clean_text(note, field_name="note", limit=MAX_DESCRIPTION)
    errors: dict[str, list[str]] = {}
    needs_organ = disposal in (Disposal.CASE_OPENED, Disposal.TRANSFERRED)
    if needs_organ and unit is None and not unit_name:
        errors["unit"] = [_("Name the organ.")]
    if disposal == Disposal.CASE_OPENED:
        if not charges:
            errors["charges"] = [_("Give the suspected charges.")]
        if case_opened_on is None:
            errors["case_opened_on"] = [_("Give the date the case was opened.")]
        elif case_opened_on > timezone.localdate():
            errors["case_opened_on"] = [_("The date cannot be in the future.")]
    if disposal == Disposal.PUNISHED and not note:
        errors["note"] = [_("Say what was done.")]
    if errors:
        raise ValidationError(errors)
    before = tip.status
    tip.status, tip.disposal, tip.disposed_at = Status.DISPOSED, disposal, timezone.now()
    tip.disposal_unit = unit if needs_organ else None
    tip.disposal_unit_name = unit_name if needs_organ else ""
    tip.case_charges = charges if disposal == Disposal.CASE_OPENED else ""
    tip.case_opened_on = case_opened_on if disposal == Disposal.CASE_OPENED else None
    tip.disposal_note = note
    tip.save(
        update_fields=[
            "status",
            "disposal",
            "disposed_at",
            "disposal_unit",
            "disposal_unit_name",
            "case_charges",
            "case_opened_on",
            "disposal_note",
            "updated_at",
        ]
    )
    record_step(
        tip,
        Action.DISPOSE,
        membership=membership,
        from_status=before,
        detail={"disposal": disposal},
    )
    return tip


@transaction.atomic
def close_tip(tip: Tip, *, membership: Membership, opinion: str = "", comment: str = "") -> Tip:
    """Close a disposed tip (办结), keeping the reporter's opinion: the one they gave with their
    receipt, or the one the handler recorded by phone or letter, or "no opinion given"."""
    tip = lock(tip)
    check_step(tip, membership, Action.CLOSE, who="either")
    fields = ["status", "closed_at", "updated_at"]
    now = timezone.now()
    if not tip.opinion:
        if opinion and opinion not in Opinion.values:
            raise ValidationError({"opinion": [_("Unknown opinion.")]})
        tip.opinion = opinion or Opinion.NOT_GIVEN
        tip.opinion_comment = clean_text(comment, field_name="comment", limit=MAX_TEXT)
        tip.opinion_at = now
        fields += ["opinion", "opinion_comment", "opinion_at"]
    before, tip.status, tip.closed_at = tip.status, Status.CLOSED, now
    tip.save(update_fields=fields)
    record_step(
        tip,
        Action.CLOSE,
        membership=membership,
        from_status=before,
        detail={"opinion": tip.opinion},
        now=now,
    )
    return tip


# --- messages, notes, case links ------------------------------------------------------------


def _new_message(tip: Tip, membership: Membership, body: str) -> TipMessage:
    message = TipMessage(
        tip=tip,
        direction=Direction.TO_REPORTER,
        author=membership.user,
        author_unit=membership.unit,
        created_at=timezone.now(),
    )
    message.body = body
    message.save(force_insert=True)
    return message


@transaction.atomic
def send_message(tip: Tip, *, membership: Membership, body: str) -> TipMessage:
    """A handler writes to the reporter, who reads it with the receipt (no name or unit shown)."""
    tip = lock(tip)
    # Any state of the tip itself: a merged tip takes messages while its survivor is open.
    check_step(tip, membership, None, who="either")
    if not open_for_reporter(tip):
        raise TipRefused("tip_closed", _("This tip is closed; it no longer takes messages."))
    body = clean_text(body, field_name="body", limit=MAX_DESCRIPTION, required=True)
    message = _new_message(tip, membership, body)
    record_step(tip, Action.MESSAGE, membership=membership, from_status=tip.status)
    return message


@transaction.atomic
def add_note(tip: Tip, *, membership: Membership, body: str) -> InternalNote:
    """An internal note (内部备注) for the units that see the tip; never shown to the reporter."""
    tip = lock(tip)
    check_step(tip, membership, Action.NOTE, who="anyone")
    body = clean_text(body, field_name="body", limit=MAX_DESCRIPTION, required=True)
    note = InternalNote(
        tip=tip, author=membership.user, unit=membership.unit, created_at=timezone.now()
    )
    note.body = body
    note.save(force_insert=True)
    record_step(tip, Action.NOTE, membership=membership, from_status=tip.status)
    return note


@transaction.atomic
def link_case(tip: Tip, *, membership: Membership, case_code: str) -> TipCaseLink:
    """Link the tip to a case of the case engine by the case's public code (一事一码)."""
    tip = lock(tip)
    check_step(tip, membership, Action.CASE_LINKED, who="either")
    case_code = (case_code or "").strip()
    if not CASE_CODE.match(case_code):
        raise ValidationError({"case_code": [_("Enter a case code.")]})
    try:
        with transaction.atomic():
            link = TipCaseLink.objects.create(
                tip=tip, case_code=case_code, linked_by=membership.user, linked_at=timezone.now()
            )
    except IntegrityError as exc:
        raise ValidationError(
            {"case_code": [_("The tip is already linked to this case.")]}
        ) from exc
    record_step(
        tip,
        Action.CASE_LINKED,
        membership=membership,
        from_status=tip.status,
        detail={"case_code": case_code},
    )
    return link


def _settle_transfer(tip: Tip, now: datetime) -> TipTransfer | None:
    pending = tip.transfers.pending().first()
    if pending is not None:
        pending.settled_at = now
        pending.save(update_fields=["settled_at"])
    return pending


def allowed_actions(tip: Tip, membership: Membership) -> list[str]:
    """The workflow steps this membership may take on the tip now (for buttons and the API)."""
    roles = {
        "supervisor": is_supervisor(tip, membership),
        "handler": is_handler(tip, membership),
    }
    roles["either"] = roles["supervisor"] or roles["handler"]
    who = {
        Action.ACCEPT: "supervisor",
        Action.MERGE: "supervisor",
        Action.REJECT: "supervisor",
        Action.FLAG_OFFICIALS: "supervisor",
        Action.ASSIGN: "supervisor",
        Action.TRANSFER: "either",
        Action.START_VERIFYING: "handler",
        Action.VERIFY: "handler",
        Action.DISPOSE: "either",
        Action.CLOSE: "either",
        Action.CASE_LINKED: "either",
    }
    steps = [action for action, role in who.items() if roles[role] and can(action, tip.status)]
    if roles["either"] and open_for_reporter(tip):
        steps.append(Action.MESSAGE)
    steps.append(Action.NOTE)
    if tip.is_real_name:
        steps.append(Action.REVEAL_REQUESTED)
    return [str(step) for step in steps]
