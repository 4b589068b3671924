"""Categories, rules and clock policies made for a test, independent of the shipped taxonomy.

Codes start with ``test.`` so they never meet the rows migration 0002 seeds.
"""

from __future__ import annotations

import itertools
from datetime import datetime

from fengqiao.cases import services
from fengqiao.cases.models import (
    CaseKind,
    Category,
    CategoryRule,
    Channel,
    ClockPolicy,
    DayBasis,
    Taxonomy,
)
from fengqiao.core.validators import id_number_check_char
from fengqiao.regions.models import Level, UnitKind

_serial = itertools.count(1)


def make_policy(**values) -> ClockPolicy:
    """DOMAIN §2 defaults (working days: accept 1/2, handle 5/10, cap 30, urgent 1) unless given."""
    values.setdefault("code", f"test.policy.{next(_serial)}")
    values.setdefault("name", values["code"])
    values.setdefault("basis", DayBasis.WORKING)
    return ClockPolicy.objects.create(**values)


def make_category(
    *,
    kind: str = CaseKind.DISPUTE,
    level: str | None = Level.VILLAGE,
    unit_kind: str = UnitKind.MEDIATION_COMMITTEE,
    escalate_severity: int | None = None,
    escalate_level: str = "",
    policy: ClockPolicy | None = None,
    code: str | None = None,
) -> Category:
    """A category with a rule (``level`` None: no rule at all)."""
    category = Category.objects.create(
        code=code or f"test.category.{next(_serial)}",
        name="测试分类",
        taxonomy=Taxonomy.GRID_DISPUTE if kind == CaseKind.DISPUTE else Taxonomy.SECURITY,
        kind=kind,
    )
    if level is not None:
        CategoryRule.objects.create(
            category=category,
            default_level=level,
            handling_unit_kind=unit_kind,
            escalate_severity=escalate_severity,
            escalate_level=escalate_level,
            clock_policy=policy or make_policy(),
        )
    return category


def id_number(first17: str) -> str:
    """A resident ID number with the right GB 11643 check character."""
    return first17 + id_number_check_char(first17)


def intake(category: Category, **values) -> services.IntakeData:
    values.setdefault("channel", Channel.WALK_IN)
    values.setdefault("title", "邻里纠纷")
    values.setdefault("description", "两户因排水沟发生争执。")
    return services.IntakeData(category=category, **values)


def report(category: Category, *, persona=None, **values):
    """Report a case through the intake service (as ``persona`` or as a citizen)."""
    return services.report_case(
        data=intake(category, **values),
        actor=persona.user if persona else None,
        membership=persona.membership if persona else None,
    )


def at(text: str) -> datetime:
    """An aware Asia/Shanghai datetime from "2026-09-30 10:00"."""
    from django.utils import timezone

    return timezone.make_aware(datetime.fromisoformat(text), timezone.get_default_timezone())
