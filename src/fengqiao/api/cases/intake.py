"""Reporting a case over the API (channel ``api``); honours ``Idempotency-Key``."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from fengqiao.accounts.roles import Cap
from fengqiao.api.auth import requires
from fengqiao.api.cases.rendering import _unit
from fengqiao.api.cases.routing import ERRORS, OPERATION_PREFIX, _idempotent, router
from fengqiao.api.cases.schemas import CaseCreatedOut, CaseCreateIn
from fengqiao.api.errors import ApiError
from fengqiao.api.schemas import idempotency_key_header
from fengqiao.cases import routing, services
from fengqiao.cases.models import Category

POINT_PLACES = Decimal("0.000001")


@router.post(
    "/cases",
    response={201: CaseCreatedOut, **ERRORS},
    summary="Report a case (channel: api); honours Idempotency-Key",
    operation_id=f"{OPERATION_PREFIX}case_create",
)
@requires(Cap.CASES_REPORT)
def case_create(
    request: HttpRequest,
    payload: CaseCreateIn,
    idempotency_key: str = idempotency_key_header(),
):
    def prepare() -> services.PreparedReport:
        # Checks, region and routing before the write transaction opens (SQLite writers queue
        # on one lock; nothing here needs it).
        category = routing.reportable_category(payload.category)
        if category is None:
            raise ApiError(
                code="category_not_found",
                message=_("No such reportable category."),
                status=422,
                errors=[
                    {
                        "field": "category",
                        "code": "category_not_found",
                        "message": _("No such reportable category."),
                    }
                ],
            )
        return services.prepare_report(
            data=_intake(payload, category), actor=request.user, membership=request.membership
        )

    def create(prepared: services.PreparedReport) -> tuple[int, dict[str, Any]]:
        case = services.file_report(prepared)
        body = CaseCreatedOut(
            code=case.code,
            id=case.public_id,
            status=case.status,
            level=case.level,
            region_code=case.region_code,
            owner_unit=_unit(case.owner_unit),
            reported_at=case.reported_at,
            accept_due_at=case.accept_due_at,
            tracking_token=getattr(case, "tracking_token", ""),
        )
        return 201, body.model_dump(mode="json")

    return _idempotent(
        request,
        scope="cases.create",
        key=idempotency_key,
        payload=payload.model_dump(mode="json"),
        prepare=prepare,
        create=create,
        # Replays are rare: skip the look-up before every intake and let the unique key catch
        # them (the replay's own attempt rolls back whole).
        check_first=False,
        # Filing reads nothing back of what it wrote and fails whole: its rows and audit event
        # can wait for the answer, and the chain's lock is then held for the append and the
        # commit alone.
        audit_last=True,
    )


def _point(value: float | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(POINT_PLACES, rounding=ROUND_HALF_UP)


def _intake(payload: CaseCreateIn, category: Category) -> Any:
    return services.IntakeData(
        kind=payload.kind,
        category=category,
        channel="api",
        title=payload.title,
        description=payload.description,
        place_text=payload.place_text,
        latitude=_point(payload.latitude),
        longitude=_point(payload.longitude),
        region_code=payload.region_code,
        severity=int(payload.severity),
        urgency=payload.urgency,
        people_count=payload.people_count,
        amount=payload.amount,
        occurred_at=payload.occurred_at,
        external_ref=payload.external_ref,
        parties=[
            services.PartyData(
                role=party.role,
                name=party.name,
                id_number=party.id_number,
                phone=party.phone,
                address=party.address,
            )
            for party in payload.parties
        ],
        may_turn_violent=payload.may_turn_violent,
    )
