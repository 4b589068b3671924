"""How a case ends and comes back: feedback (办结反馈), verification and closing (核查, 结案),
the on-time point, rating (评价), the follow-up visit (回访), reopening and rejection
(不予受理)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.cases import clocks
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.models import (
    Action,
    Case,
    ClosureMethod,
    EvaluationChannel,
    PointEntry,
    Status,
    StatusChange,
)
from fengqiao.cases.services.steps import (
    _check,
    _lock,
    _notify,
    _reason,
    _record,
    _require,
    _start_handling_clock,
    _who_may,
)
from fengqiao.regions.models import Unit

if TYPE_CHECKING:
    from fengqiao.accounts.models import Membership, User

MAX_SUMMARY = 2000


@transaction.atomic
def submit_feedback(
    case: Case,
    *,
    actor: User | None,
    membership: Membership | None,
    method: str,
    resolved: bool,
    summary: str,
) -> Case:
    """办结反馈: the handler reports the outcome; the owner unit verifies it next."""
    case = _lock(case)
    _require(Action.FEEDBACK, case, membership)
    if method not in ClosureMethod.values:
        raise WorkflowError(
            "invalid_method", _("Choose how the case was resolved."), field="method"
        )
    summary = (summary or "").strip()
    if not summary or len(summary) > MAX_SUMMARY:
        raise WorkflowError(
            "summary_required",
            _("Describe the outcome (up to %(n)d characters).") % {"n": MAX_SUMMARY},
            field="summary",
        )
    now, before = timezone.now(), case.status
    case.status = Status.PENDING_VERIFY
    case.closure_method, case.resolved, case.closure_summary = method, bool(resolved), summary
    case.save(
        update_fields=["status", "closure_method", "resolved", "closure_summary", "updated_at"]
    )
    _record(
        case,
        Action.FEEDBACK,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        level=case.handler_unit.level,
        on_time=clocks.on_time(now, case.handle_due_at),
        detail={"method": method, "resolved": bool(resolved)},
        to_unit=case.owner_unit,
    )
    return case


@transaction.atomic
def verify_case(
    case: Case, *, actor: User | None, membership: Membership | None, passed: bool, reason: str = ""
) -> Case:
    """核查: pass closes the case (结案) and schedules the follow-up visit; fail (驳回) sends it
    back to the handler with a reason."""
    case = _lock(case)
    action = Action.VERIFY_PASS if passed else Action.VERIFY_FAIL
    _require(action, case, membership)
    reason = _reason(reason, required=not passed)
    now, before = timezone.now(), case.status
    handler = case.handler_unit or case.owner_unit
    if not passed:
        case.status = Status.IN_PROGRESS
        case.save(update_fields=["status", "updated_at"])
        _record(
            case,
            action,
            from_status=before,
            actor=actor,
            membership=membership,
            at=now,
            reason=reason,
            to_unit=handler,
        )
        _notify(
            handler,
            case,
            kind="case.verify_failed",
            title=_("Case %(code)s did not pass verification") % {"code": case.code},
        )
        return case
    case.status = Status.CLOSED
    case.closed_at = now
    case.visit_due_at = clocks.visit_due(case.clock_policy, now)
    case.visited_at = case.visit_notified_at = None
    case.save(
        update_fields=[
            "status",
            "closed_at",
            "visit_due_at",
            "visited_at",
            "visit_notified_at",
            "updated_at",
        ]
    )
    # The level that resolved it is the handler's: what "resolved at village level" reads.
    _record(
        case,
        action,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        level=handler.level,
        on_time=clocks.on_time(now, case.handle_due_at),
        reason=reason,
        detail={"resolved": bool(case.resolved), "method": case.closure_method},
        to_unit=handler,
    )
    _award_on_time_point(case, handler, now)
    return case


def _award_on_time_point(case: Case, handler: Unit, now: datetime) -> None:
    """+1 to the handler when its last feedback met the deadline (once per case and unit)."""
    feedback = (
        StatusChange.objects.filter(case=case, action=Action.FEEDBACK)
        .order_by("-at", "-id")
        .values_list("on_time", flat=True)
        .first()
    )
    if not feedback:
        return
    PointEntry.objects.bulk_create(
        [
            PointEntry(
                unit=handler,
                case=case,
                reason=PointEntry.Reason.ON_TIME,
                points=case.clock_policy.points_on_time,
                at=now,
                region_code=case.region_code,
            )
        ],
        ignore_conflicts=True,
    )


@transaction.atomic
def evaluate_case(
    case: Case,
    *,
    satisfaction: int,
    comment: str = "",
    channel: str,
    actor: User | None = None,
    membership: Membership | None = None,
) -> Case:
    """评价: the citizen (on the tracking page, after the token was checked by the caller) or the
    owner unit (at a visit or by phone) rates the outcome, 1–5."""
    case = _lock(case)
    _check(Action.EVALUATE, case)
    if membership is not None and not _who_may(Action.EVALUATE, case, membership):
        raise WorkflowError(
            "not_your_unit", _("Your unit cannot do this on this case at this point.")
        )
    if channel not in EvaluationChannel.values:
        raise WorkflowError("invalid_channel", _("Unknown evaluation channel."), field="channel")
    if (
        not isinstance(satisfaction, int)
        or isinstance(satisfaction, bool)
        or not (1 <= satisfaction <= 5)
    ):
        raise WorkflowError("invalid_rating", _("Give a rating from 1 to 5."), field="satisfaction")
    comment = (comment or "").strip()
    if len(comment) > 1000:
        raise WorkflowError("too_long", _("Keep the comment to 1,000 characters."), field="comment")
    now, before = timezone.now(), case.status
    case.status = Status.EVALUATED
    case.satisfaction, case.evaluation_comment = satisfaction, comment
    case.evaluation_channel, case.evaluated_at = channel, now
    case.save(
        update_fields=[
            "status",
            "satisfaction",
            "evaluation_comment",
            "evaluation_channel",
            "evaluated_at",
            "updated_at",
        ]
    )
    _record(
        case,
        Action.EVALUATE,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        detail={"satisfaction": satisfaction, "channel": channel},
    )
    return case


@transaction.atomic
def record_visit(
    case: Case,
    *,
    actor: User | None,
    membership: Membership | None,
    satisfaction: int | None,
    comment: str,
) -> Case:
    """回访: the owner unit records the follow-up visit; a rating given there evaluates the case."""
    case = _lock(case)
    _require(Action.VISIT, case, membership)
    if satisfaction is not None and case.status != Status.CLOSED:
        raise WorkflowError("already_evaluated", _("This case has already been rated."))
    if satisfaction is not None and not (isinstance(satisfaction, int) and 1 <= satisfaction <= 5):
        raise WorkflowError("invalid_rating", _("Give a rating from 1 to 5."), field="satisfaction")
    comment = _reason(comment, required=False, field_name="comment")
    now = timezone.now()
    case.visited_at = now
    case.save(update_fields=["visited_at", "updated_at"])
    _record(
        case,
        Action.VISIT,
        from_status=case.status,
        actor=actor,
        membership=membership,
        at=now,
        reason=comment,
        detail={"rated": satisfaction is not None},
    )
    if satisfaction is not None:
        case = evaluate_case(
            case,
            satisfaction=satisfaction,
            comment=comment,
            channel=EvaluationChannel.VISIT,
            actor=actor,
            membership=membership,
        )
    return case


@transaction.atomic
def reopen_case(
    case: Case, *, actor: User | None, membership: Membership | None, reason: str
) -> Case:
    """重新办理: a closed, rated or rejected case goes back to the owner, accepted, with a fresh
    handling clock."""
    case = _lock(case)
    _require(Action.REOPEN, case, membership)
    reason = _reason(reason)
    now, before = timezone.now(), case.status
    case.status = Status.ACCEPTED
    case.handler_unit = None
    _start_handling_clock(case, now)
    case.closure_method, case.resolved, case.closure_summary = "", None, ""
    case.closed_at = case.visit_due_at = case.visited_at = case.visit_notified_at = None
    case.satisfaction, case.evaluation_comment = None, ""
    case.evaluation_channel, case.evaluated_at = "", None
    case.save(
        update_fields=[
            "status",
            "handler_unit",
            "handle_due_at",
            "handle_red_at",
            "closure_method",
            "resolved",
            "closure_summary",
            "closed_at",
            "visit_due_at",
            "visited_at",
            "visit_notified_at",
            "satisfaction",
            "evaluation_comment",
            "evaluation_channel",
            "evaluated_at",
            "updated_at",
        ]
    )
    _record(
        case,
        Action.REOPEN,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        reason=reason,
        to_unit=case.owner_unit,
    )
    _notify(
        case.owner_unit,
        case,
        kind="case.reopened",
        title=_("Case %(code)s was reopened") % {"code": case.code},
    )
    return case


@transaction.atomic
def reject_case(
    case: Case, *, actor: User | None, membership: Membership | None, reason: str
) -> Case:
    """不予受理: not a matter for the platform; the citizen sees the reason."""
    case = _lock(case)
    _require(Action.REJECT, case, membership)
    reason = _reason(reason)
    now, before = timezone.now(), case.status
    case.status = Status.REJECTED
    case.save(update_fields=["status", "updated_at"])
    _record(
        case,
        Action.REJECT,
        from_status=before,
        actor=actor,
        membership=membership,
        at=now,
        reason=reason,
    )
    return case
