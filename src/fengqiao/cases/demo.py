"""Demo cases (演示事件) for ``fengqiao demo``: a few cases in every state of the loop, made through
the real services by the demo accounts, so the workbench, case pages and metrics have something
to show. Idempotent: cases carry ``external_ref`` "demo-N" and are made only once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from fengqiao.accounts.models import Membership
from fengqiao.cases import services
from fengqiao.cases.models import Case, Category, Channel
from fengqiao.cases.services import IntakeData, PartyData
from fengqiao.regions.models import Unit

FENGQIAO = "330681109"
FENGYUAN = "330681109290"


@dataclass(frozen=True)
class DemoCase:
    ref: str
    category: str
    title: str
    description: str
    place: str
    region_code: str
    reporter: str  # demo username that reports it
    steps: tuple[str, ...]  # how far it goes through the loop


DEMO_CASES = (
    DemoCase(
        "demo-1",
        "dispute.neighbour",
        "邻居违章搭建遮挡采光",
        "村民反映邻居在房屋南侧搭建彩钢棚，遮挡自家采光，双方多次争吵。",
        "诸暨市枫桥镇枫源村",
        FENGYUAN,
        "demo.grid",
        (),
    ),
    DemoCase(
        "demo-2",
        "dispute.homestead",
        "宅基地界址争议",
        "两户村民对宅基地界址认定不一，要求村调委会调解。",
        "诸暨市枫桥镇枫源村",
        FENGYUAN,
        "demo.grid",
        ("accept", "sign"),
    ),
    DemoCase(
        "demo-3",
        "dispute.marriage_family",
        "赡养老人费用分担纠纷",
        "三兄弟就父母赡养费用分担产生矛盾，老人请求调解。",
        "诸暨市枫桥镇枫源村",
        FENGYUAN,
        "demo.grid",
        ("accept", "sign", "feedback"),
    ),
    DemoCase(
        "demo-4",
        "hazard.fire",
        "出租房楼道堆放电动车充电",
        "出租房楼道内多辆电动车集中充电，存在火灾隐患。",
        "诸暨市枫桥镇",
        FENGQIAO,
        "demo.town",
        (),
    ),
    DemoCase(
        "demo-5",
        "dispute.loan_debt",
        "民间借贷逾期未还",
        "村民借款三万元逾期一年未还，债权人情绪激动。",
        "诸暨市枫桥镇枫源村",
        FENGYUAN,
        "demo.grid",
        ("accept", "sign", "feedback", "verify", "evaluate"),
    ),
    DemoCase(
        "demo-6",
        "livelihood.social_insurance",
        "咨询城乡居民养老保险补缴",
        "居民咨询城乡居民基本养老保险补缴政策和办理地点。",
        "诸暨市枫桥镇",
        FENGQIAO,
        "demo.town",
        ("accept",),
    ),
)


def _membership(username: str) -> Membership | None:
    return (
        Membership.objects.select_related("unit", "user")
        .filter(user__username=username, is_active=True)
        .first()
    )


def _member_of(unit: Unit) -> Membership | None:
    return Membership.objects.select_related("user").filter(unit=unit, is_active=True).first()


def _act(case: Case, step: str) -> Case:
    """Run one step as a member of the unit that does it in real life."""
    owner = _member_of(case.owner_unit)
    handler = _member_of(case.handler_unit) if case.handler_unit_id else owner
    runs: dict[str, Callable[[], Case]] = {
        "accept": lambda: services.accept_case(case, actor=owner.user, membership=owner),
        "sign": lambda: services.sign_case(case, actor=owner.user, membership=owner),
        "feedback": lambda: services.submit_feedback(
            case,
            actor=handler.user,
            membership=handler,
            method="mediated",
            resolved=True,
            summary="经调解，双方达成一致意见。",
        ),
        "verify": lambda: services.verify_case(
            case, actor=owner.user, membership=owner, passed=True
        ),
        "evaluate": lambda: services.evaluate_case(
            case, satisfaction=5, comment="处理及时，很满意。", channel="visit"
        ),
    }
    if owner is None:
        return case
    return runs[step]()


@transaction.atomic
def ensure_demo_cases() -> int:
    """Create the demo cases that do not exist yet; returns how many were made."""
    made = 0
    existing = set(
        Case.objects.unscoped_all()
        .filter(external_ref__startswith="demo-")
        .values_list("external_ref", flat=True)
    )
    for spec in DEMO_CASES:
        if spec.ref in existing:
            continue
        reporter = _membership(spec.reporter)
        category = Category.objects.filter(code=spec.category).first()
        if reporter is None or category is None:
            continue
        case = services.report_case(
            data=IntakeData(
                category=category,
                channel=Channel.GRID_APP if spec.reporter == "demo.grid" else Channel.WALK_IN,
                title=spec.title,
                description=spec.description,
                place_text=spec.place,
                region_code=spec.region_code,
                external_ref=spec.ref,
                parties=[PartyData(role="applicant", name="王建军", phone="13857500123")],
            ),
            actor=reporter.user,
            membership=reporter,
        )
        for step in spec.steps:
            case = _act(case, step)
        made += 1
    return made


def load_demo() -> str:
    """Called by ``fengqiao demo`` after the demo accounts exist."""
    made = ensure_demo_cases()
    return f"演示事件 Demo cases: {made} new, {Case.objects.unscoped_all().count()} in all"
