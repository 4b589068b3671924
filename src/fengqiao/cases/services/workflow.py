"""The handling loop (办理): accept, assign, sign, return, escalate, extensions, suspend and
resume. How a case ends is in ``closing``."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.cases import clocks, routing
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.models import Action, Case, Status
from fengqiao.cases.services.steps import (
    CLOCK_FIELDS,
    _acting_level,
    _check,
    _lock,
    _notify,
    _reason,
    _record,
    _require,
    _start_accept_clock,
    _start_handling_clock,
)
from fengqiao.regions.models import Level, Unit

if TYPE_CHECKING:
    from fengqiao.accounts.models import Membership, User


# --- the loop -----------------------------------------------------------------------------------


@transaction.atomic
def accept_case(case: Case, *, actor: User | None, membership: Membership | None) -> Case:
    """受理: the owner unit takes the case on; the handling clock starts now."""
    case = _lock(case)
    _require(Action.ACCEPT, case, membership)
    now, before = timezone.now(), case.status
    case.status = Status.ACCEPTED
    _start_handling_clock(case, now)
    case.save(update_fields=["status", "handle_due_at", "handle_red_at", "updated_at"])
    _record(
        case,
        Action.ACCEPT,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        on_time=clocks.on_time(now, case.accept_due_at),
    )
    return case


@transaction.atomic
def assign_case(
    case: Case, *, actor: User | None, membership: Membership | None, unit: Unit, note: str = ""
) -> Case:
    """交办: the owner unit dispatches the case to a handling unit within its own scope."""
    case = _lock(case)
    _require(Action.ASSIGN, case, membership)
    note = _reason(note, required=False, field_name="note")
    # Within the owner's area. The handler need not cover the case's region (a town case given
    # to a village committee): ``visible_to`` lets a unit see the cases it handles.
    if not (unit.is_active and unit.region_code.startswith(case.owner_unit.scope_prefix)):
        raise WorkflowError(
            "unit_out_of_scope",
            _("Cases can only be assigned to active units within your own area."),
            field="unit",
        )
    now, before = timezone.now(), case.status
    case.status = Status.ASSIGNED
    case.handler_unit = unit
    fields = ["status", "handler_unit", "updated_at"]
    if case.handle_due_at is None:
        _start_handling_clock(case, now)
        fields += ["handle_due_at", "handle_red_at"]
    case.save(update_fields=fields)
    _record(
        case,
        Action.ASSIGN,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        reason=note,
        from_unit=case.owner_unit,
        to_unit=unit,
    )
    _notify(
        unit,
        case,
        kind="case.assigned",
        title=_("Case %(code)s was assigned to your unit") % {"code": case.code},
    )
    return case


@transaction.atomic
def sign_case(case: Case, *, actor: User | None, membership: Membership | None) -> Case:
    """签收: the handler unit signs for the case (or the owner handles it itself)."""
    case = _lock(case)
    _require(Action.SIGN, case, membership)
    now, before = timezone.now(), case.status
    if case.status == Status.ACCEPTED:
        case.handler_unit = case.owner_unit
    case.status = Status.IN_PROGRESS
    case.save(update_fields=["status", "handler_unit", "updated_at"])
    _record(
        case,
        Action.SIGN,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        level=case.handler_unit.level,
    )
    return case


@transaction.atomic
def return_case(
    case: Case, *, actor: User | None, membership: Membership | None, reason: str
) -> Case:
    """退回: not ours. A handler hands the case back to the owner (→ accepted); an owner that
    received it at intake sends it one level up for re-routing (stays reported)."""
    case = _lock(case)
    _require(Action.RETURN, case, membership)
    reason = _reason(reason)
    now, before = timezone.now(), case.status
    if case.status == Status.REPORTED:
        previous = case.owner_unit
        target = routing.escalation_target(case)
        case.owner_unit, case.level = target, target.level
        _start_accept_clock(case, now)
        case.save(update_fields=["owner_unit", "level", *CLOCK_FIELDS[:2], "updated_at"])
        _record(
            case,
            Action.RETURN,
            from_status=before,
            actor=actor,
            membership=membership,
            at=now,
            reason=reason,
            from_unit=previous,
            to_unit=target,
        )
        _notify(
            target,
            case,
            kind="case.returned",
            title=_("Case %(code)s was passed up to your unit") % {"code": case.code},
        )
        return case
    previous = case.handler_unit
    case.status = Status.ACCEPTED
    case.handler_unit = None
    case.save(update_fields=["status", "handler_unit", "updated_at"])
    _record(
        case,
        Action.RETURN,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        reason=reason,
        from_unit=previous,
        to_unit=case.owner_unit,
    )
    _notify(
        case.owner_unit,
        case,
        kind="case.returned",
        title=_("Case %(code)s was returned to your unit") % {"code": case.code},
    )
    return case


@transaction.atomic
def escalate_case(
    case: Case,
    *,
    actor: User | None,
    membership: Membership | None,
    reason: str = "",
    skip: bool = False,
    target_level: str | None = None,
) -> Case:
    """上报 one level up, or 越级上报 past a level (``skip`` or a named ``target_level``; a reason
    is then required). The case goes to the target level's triage unit, which must accept it."""
    case = _lock(case)
    one_up = routing.parent_level(Level.VILLAGE if case.level == Level.GRID else case.level)
    skipping = skip or (target_level is not None and target_level != one_up)
    action = Action.ESCALATE_SKIP if skipping else Action.ESCALATE
    _require(action, case, membership)
    reason = _reason(reason, required=skipping)
    target = routing.escalation_target(case, skip=skip, target_level=target_level)
    now, before = timezone.now(), case.status
    previous_owner, previous_level = case.owner_unit, case.level
    acting_level = _acting_level(case, membership)
    case.status = Status.REPORTED
    case.owner_unit, case.level = target, target.level
    case.handler_unit = None
    _start_accept_clock(case, now)
    # A new owner accepts afresh and its handling clock starts at that acceptance.
    case.handle_due_at = case.handle_red_at = None
    case.extension_days_requested, case.extension_reason = None, ""
    case.save(
        update_fields=[
            "status",
            "owner_unit",
            "level",
            "handler_unit",
            *CLOCK_FIELDS,
            "extension_days_requested",
            "extension_reason",
            "updated_at",
        ]
    )
    change = _record(
        case,
        action,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        level=acting_level,
        reason=reason,
        detail={"from_level": previous_level, "to_level": target.level},
        from_unit=previous_owner,
        to_unit=target,
    )
    _notify(
        target,
        case,
        kind="case.escalated",
        title=_("Case %(code)s was escalated to your unit") % {"code": case.code},
        dedupe=f"case-escalated:{case.pk}:{change.pk}",
    )
    return case


@transaction.atomic
def request_extension(
    case: Case, *, actor: User | None, membership: Membership | None, days: int, reason: str
) -> Case:
    """申请延期: the handler asks the owner unit for more days, with reasons."""
    case = _lock(case)
    _require(Action.REQUEST_EXTENSION, case, membership)
    reason = _reason(reason)
    if not isinstance(days, int) or not 1 <= days <= case.clock_policy.max_extension_days:
        raise WorkflowError(
            "invalid_extension",
            _("An extension is 1 to %(n)d days.") % {"n": case.clock_policy.max_extension_days},
            field="days",
        )
    now = timezone.now()
    case.extension_days_requested, case.extension_reason = days, reason[:500]
    case.save(update_fields=["extension_days_requested", "extension_reason", "updated_at"])
    _record(
        case,
        Action.REQUEST_EXTENSION,
        from_status=case.status,
        actor=actor,
        membership=membership,
        at=now,
        reason=reason,
        detail={"days": days},
        to_unit=case.owner_unit,
    )
    _notify(
        case.owner_unit,
        case,
        kind="case.extension_requested",
        title=_("Case %(code)s: an extension was requested") % {"code": case.code},
    )
    return case


@transaction.atomic
def decide_extension(
    case: Case,
    *,
    actor: User | None,
    membership: Membership | None,
    approve: bool,
    reason: str = "",
) -> Case:
    """The owner unit approves (both handling limits move later) or declines (with a reason)."""
    case = _lock(case)
    action = Action.APPROVE_EXTENSION if approve else Action.DECLINE_EXTENSION
    _check(action, case)
    if case.extension_days_requested is None:
        raise WorkflowError("no_extension_requested", _("No extension has been requested."))
    _require(action, case, membership)
    reason = _reason(reason, required=not approve)
    now, days = timezone.now(), case.extension_days_requested
    fields = ["extension_days_requested", "extension_reason", "updated_at"]
    detail: dict = {"days": days}
    if approve and case.handle_due_at is not None:
        pushed = clocks.extended(
            case.clock_policy, clocks.Deadlines(case.handle_due_at, case.handle_red_at), days
        )
        detail["old_due"] = case.handle_due_at.isoformat()
        case.handle_due_at, case.handle_red_at = pushed.due, pushed.red
        detail["new_due"] = case.handle_due_at.isoformat()
        fields += ["handle_due_at", "handle_red_at"]
    case.extension_days_requested, case.extension_reason = None, ""
    case.save(update_fields=fields)
    _record(
        case,
        action,
        from_status=case.status,
        actor=actor,
        membership=membership,
        at=now,
        reason=reason,
        detail=detail,
        to_unit=case.handler_unit,
    )
    _notify(
        case.handler_unit,
        case,
        kind="case.extension_decided",
        title=(
            _("Case %(code)s: the extension was approved")
            if approve
            else _("Case %(code)s: the extension was declined")
        )
        % {"code": case.code},
    )
    return case


@transaction.atomic
def suspend_case(
    case: Case, *, actor: User | None, membership: Membership | None, reason: str
) -> Case:
    """挂起: the handling clock stops until the case is resumed."""
    case = _lock(case)
    _require(Action.SUSPEND, case, membership)
    reason = _reason(reason)
    now, before = timezone.now(), case.status
    case.status, case.status_before_suspend, case.paused_at = Status.SUSPENDED, before, now
    case.save(update_fields=["status", "status_before_suspend", "paused_at", "updated_at"])
    _record(
        case,
        Action.SUSPEND,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        reason=reason,
    )
    return case


@transaction.atomic
def resume_case(case: Case, *, actor: User | None, membership: Membership | None) -> Case:
    """Resume a suspended case; both handling limits move later by the time it was paused."""
    case = _lock(case)
    _require(Action.RESUME, case, membership)
    now, before = timezone.now(), case.status
    paused_for = max(now - (case.paused_at or now), timedelta(0))
    if case.handle_due_at is not None:
        pushed = clocks.resumed(
            clocks.Deadlines(case.handle_due_at, case.handle_red_at), paused_for
        )
        case.handle_due_at, case.handle_red_at = pushed.due, pushed.red
    case.status = case.status_before_suspend or Status.IN_PROGRESS
    case.paused_seconds += int(paused_for.total_seconds())
    case.paused_at, case.status_before_suspend = None, ""
    case.save(
        update_fields=[
            "status",
            "paused_at",
            "paused_seconds",
            "status_before_suspend",
            "handle_due_at",
            "handle_red_at",
            "updated_at",
        ]
    )
    _record(
        case,
        Action.RESUME,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        detail={"paused_seconds": int(paused_for.total_seconds())},
    )
    return case
