"""Supervision from above (督办) and the violence-risk flag, which tells the police and the
town's command room at once (人民调解法 art. 25)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.models import Action, Case, Supervision
from fengqiao.cases.services.steps import _check, _lock, _notify, _reason, _record, _require
from fengqiao.regions.models import Unit, UnitKind

if TYPE_CHECKING:
    from fengqiao.accounts.models import Membership, User


@transaction.atomic
def supervise_case(
    case: Case, *, actor: User | None, membership: Membership | None, level: int, reason: str
) -> Case:
    """督办 by hand from a level above: supervised, yellow or red card. Supervision only rises."""
    case = _lock(case)
    _require(Action.SUPERVISE, case, membership)
    reason = _reason(reason)
    if level not in (Supervision.NORMAL, Supervision.YELLOW, Supervision.RED):
        raise WorkflowError("invalid_supervision", _("Choose a supervision level."), field="level")
    if level <= case.supervision:
        raise WorkflowError(
            "already_supervised",
            _("The case is already supervised at this level or higher."),
            field="level",
        )
    now, previous = timezone.now(), case.supervision
    case.supervision, case.supervised_by = level, membership.unit
    case.save(update_fields=["supervision", "supervised_by", "updated_at"])
    _record(
        case,
        Action.SUPERVISE,
        from_status=case.status,
        actor=actor,
        membership=membership,
        at=now,
        reason=reason,
        detail={"from": previous, "to": level},
    )
    title = _("Case %(code)s is under supervision (%(level)s)") % {
        "code": case.code,
        "level": Supervision(level).label,
    }
    for unit in {case.owner_unit, case.handler_unit} - {None}:
        _notify(unit, case, kind="case.supervised", title=title)
    return case


def _town_code(case: Case) -> str | None:
    return case.region_code[:9] if len(case.region_code) >= 9 else None


def _notify_violence_risk(case: Case) -> None:
    """人民调解法 art. 25: report at once to the police and to the town's command room (the
    county's public security bureau and centre when no town is known)."""
    town = _town_code(case)
    if town is not None:
        wanted = [(town, UnitKind.POLICE_STATION), (town, UnitKind.COMMAND_ROOM)]
    else:
        county = case.region_code[:6]
        wanted = [
            (county, UnitKind.PUBLIC_SECURITY_BUREAU),
            (county, UnitKind.GOVERNANCE_CENTRE),
        ]
    units = Unit.objects.active().filter(
        region_code__in={code for code, _kind in wanted}, kind__in={kind for _code, kind in wanted}
    )
    title = _("Case %(code)s may turn violent: act now (People's Mediation Law art. 25)") % {
        "code": case.code
    }
    for unit in units:
        _notify(
            unit,
            case,
            kind="case.violence_risk",
            title=title,
            dedupe=f"case-violence:{case.pk}:{unit.pk}",
        )


@transaction.atomic
def mark_may_turn_violent(
    case: Case, *, actor: User | None, membership: Membership | None, reason: str
) -> Case:
    """Flag an open dispute as likely to turn violent and tell the police and the town centre."""
    case = _lock(case)
    _check(Action.RISK_FLAG, case)
    if case.may_turn_violent:
        raise WorkflowError("already_flagged", _("This case is already marked and reported."))
    _require(Action.RISK_FLAG, case, membership)
    reason = _reason(reason)
    now = timezone.now()
    case.may_turn_violent = True
    case.save(update_fields=["may_turn_violent", "updated_at"])
    _record(
        case,
        Action.RISK_FLAG,
        from_status=case.status,
        actor=actor,
        membership=membership,
        at=now,
        reason=reason,
    )
    _notify_violence_risk(case)
    return case
