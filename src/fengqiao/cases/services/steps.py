"""What every case step shares: the row lock, the transition and who-may-act checks, the
timeline row and audit event, notices to units, and the clocks a step starts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from fengqiao.accounts.notifications import notify_unit
from fengqiao.accounts.roles import Cap
from fengqiao.cases import clocks, routing
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.models import Action, Case, Category, ClockPolicy, Status, StatusChange, can
from fengqiao.core import audit
from fengqiao.regions.models import Level, Unit

if TYPE_CHECKING:
    from collections.abc import Sequence

    from django.db.models import Model

    from fengqiao.accounts.models import Membership, User

# Timeline steps a citizen sees on the tracking page (public progress).
PUBLIC_ACTIONS = frozenset(
    {
        Action.REPORT,
        Action.ACCEPT,
        Action.ASSIGN,
        Action.SIGN,
        Action.VERIFY_PASS,
        Action.CLOSE,
        Action.EVALUATE,
        Action.REJECT,
    }
)
MAX_REASON = 1000
# The policy used when a category has no rule yet (DOMAIN §2 defaults).
DEFAULT_POLICY_CODE = "default"


# --- small shared steps -------------------------------------------------------------------------


def _lock(case: Case) -> Case:
    """Re-read the case under a row lock (FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE
    transaction already holds the write lock)."""
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("owner_unit", "category", "clock_policy", "region")
        .get(pk=case.pk)
    )


def _check(action: str, case: Case) -> None:
    if not can(action, case.status):
        raise WorkflowError(
            "illegal_transition",
            _("“%(action)s” is not possible while the case is %(status)s.")
            % {"action": Action(action).label, "status": Status(case.status).label},
        )


def _reason(reason: str, *, required: bool = True, field_name: str = "reason") -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise WorkflowError("reason_required", _("Please give a reason."), field=field_name)
    if len(reason) > MAX_REASON:
        raise WorkflowError(
            "too_long",
            _("Keep it to %(n)d characters.") % {"n": MAX_REASON},
            field=field_name,
        )
    return reason


def _member_of(membership: Membership | None, unit_id: int | None) -> bool:
    return (
        membership is not None
        and unit_id is not None
        and membership.is_active
        and membership.unit_id == unit_id
        and membership.can(Cap.CASES_HANDLE)
    )


def _above(case: Case, membership: Membership | None, capability: str) -> bool:
    """A member of a unit at a level above the case's whose scope covers the case."""
    if membership is None or not membership.is_active or not membership.can(capability):
        return False
    unit = membership.unit
    return routing.level_index(unit.level) < routing.level_index(case.level) and (
        case.region_code.startswith(membership.scope_prefix)
    )


def _who_may(action: str, case: Case, membership: Membership | None) -> bool:
    """Whether this membership may take ``action`` on the case (the state is checked apart)."""
    owner = _member_of(membership, case.owner_unit_id)
    handler = _member_of(membership, case.handler_unit_id)
    if action in (Action.ACCEPT, Action.ASSIGN, Action.REJECT, Action.VISIT):
        return owner
    if action in (Action.VERIFY_PASS, Action.VERIFY_FAIL, Action.CLOSE):
        return owner
    if action in (Action.APPROVE_EXTENSION, Action.DECLINE_EXTENSION):
        return owner and case.extension_days_requested is not None
    if action == Action.SIGN:
        # The owner may sign for itself (handle without dispatching) straight from "accepted".
        return handler if case.status == Status.ASSIGNED else owner
    if action == Action.RETURN:
        return owner if case.status == Status.REPORTED else handler
    if action == Action.REQUEST_EXTENSION:
        return handler and case.extension_days_requested is None
    if action in (Action.FEEDBACK, Action.SUSPEND, Action.RESUME):
        return handler
    if action == Action.ESCALATE:
        return (owner or handler) and case.level not in (Level.CITY, Level.PROVINCE)
    if action == Action.ESCALATE_SKIP:
        # Skipping needs two levels above: from a county the next but one is the province.
        return (owner or handler) and case.level not in (Level.COUNTY, Level.CITY, Level.PROVINCE)
    if action == Action.SUPERVISE:
        return _above(case, membership, Cap.CASES_SUPERVISE)
    if action == Action.REOPEN:
        return owner or _above(case, membership, Cap.CASES_HANDLE)
    if action == Action.EVALUATE:
        return owner
    if action == Action.RISK_FLAG:
        return (owner or handler or _visible(case, membership)) and not case.may_turn_violent
    return False


def _require(action: str, case: Case, membership: Membership | None) -> None:
    _check(action, case)
    if not _who_may(action, case, membership):
        raise WorkflowError(
            "not_your_unit", _("Your unit cannot do this on this case at this point.")
        )


def _visible(case: Case, membership: Membership | None) -> bool:
    """The rule of ``CaseQuerySet.visible_to`` for one case: its region subtree, or its handler."""
    return (
        membership is not None
        and membership.is_active
        and membership.can(Cap.CASES_VIEW)
        and (
            case.region_code.startswith(membership.scope_prefix)
            or case.handler_unit_id == membership.unit_id
        )
    )


def _acting_level(case: Case, membership: Membership | None) -> str:
    return membership.unit.level if membership is not None else case.level


def _record(
    case: Case,
    action: str,
    *,
    from_status: str,
    actor: User | None,
    membership: Membership | None,
    at: datetime,
    level: str | None = None,
    on_time: bool | None = None,
    reason: str = "",
    detail: dict | None = None,
    from_unit: Unit | None = None,
    to_unit: Unit | None = None,
    writes: Sequence[Model] = (),
) -> StatusChange:
    """Write the timeline row and the audit event of one transition (the service's last writes).

    ``writes`` are other unsaved rows of the transition (intake: the case and its parties),
    written first, with the timeline row, in the statement that takes the audit chain's lock
    (``audit.record``). Inside ``audit.appended_last()`` they are all written at its end, and the
    returned row has no key until then."""
    change = StatusChange(
        case=case,
        action=action,
        from_status=from_status,
        to_status=case.status,
        at=at,
        actor=actor,
        actor_unit=membership.unit if membership is not None else None,
        from_unit=from_unit,
        to_unit=to_unit,
        level=level or _acting_level(case, membership),
        region_code=case.region_code,
        kind=case.kind,
        on_time=on_time,
        is_public=action in PUBLIC_ACTIONS,
        reason=reason,
        detail=detail or {},
    )
    # Audit detail names the step and the units, never the people or free text (SECURITY 22).
    audit.record(
        f"cases.{action}",
        actor=actor,
        membership=membership,
        obj=case,
        detail={
            "code": case.code,
            "from": from_status,
            "to": case.status,
            **({"to_unit": str(to_unit.public_id)} if to_unit is not None else {}),
        },
        writes=[*writes, change],
    )
    return change


def case_link(case: Case) -> str:
    """The staff page of a case, when the web pages are installed."""
    try:
        return reverse("cases:detail", kwargs={"case_code": case.code})
    except NoReverseMatch:
        return ""


def _notify(unit: Unit | None, case: Case, *, kind: str, title: str, dedupe: str | None = None):
    if unit is None:
        return None
    return notify_unit(unit, kind=kind, title=title, link=case_link(case), dedupe_key=dedupe)


def _policy(category: Category) -> ClockPolicy:
    rule = routing.rule_for(category)
    if rule is not None:
        return rule.clock_policy
    policy, _created = ClockPolicy.objects.get_or_create(
        code=DEFAULT_POLICY_CODE, defaults={"name": "默认时限"}
    )
    return policy


def _start_handling_clock(case: Case, now: datetime) -> None:
    deadlines = clocks.handle_deadlines(case.clock_policy, now, case.urgency)
    case.handle_due_at, case.handle_red_at = deadlines.due, deadlines.red


def _start_accept_clock(case: Case, now: datetime) -> None:
    deadlines = clocks.accept_deadlines(case.clock_policy, now)
    case.accept_due_at, case.accept_red_at = deadlines.due, deadlines.red


CLOCK_FIELDS = ["accept_due_at", "accept_red_at", "handle_due_at", "handle_red_at"]
