"""Dispute cases for the mediation tests, made through the case engine's own services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fengqiao.accounts.roles import Role
from fengqiao.cases import services as case_services
from fengqiao.cases.models import Category, Channel, PartyRole, Severity
from fengqiao.core.validators import id_number_check_char
from fengqiao.mediation import services
from fengqiao.mediation.models import AgreementForm, StartedHow
from fengqiao.regions.models import UnitKind
from personas import FENGYUAN_VILLAGE, Persona, make_persona


def id_number(first17: str) -> str:
    return first17 + id_number_check_char(first17)


ZHANG_ID = id_number("33068119800101001")
LI_ID = id_number("33068119850505002")


def report_dispute(
    persona: Persona,
    *,
    category: str = "dispute.neighbour",
    region_code: str = FENGYUAN_VILLAGE,
    severity: int = Severity.GENERAL,
    accept: bool = True,
):
    """A neighbour dispute in 枫源村 reported by ``persona`` and, by default, accepted by it."""
    case = case_services.report_case(
        data=case_services.IntakeData(
            category=Category.objects.get(code=category),
            channel=Channel.WALK_IN,
            title="邻里排水沟纠纷",
            description="张三与李四因宅前排水沟堵塞发生争执。",
            region_code=region_code,
            severity=severity,
            parties=[
                case_services.PartyData(
                    role=PartyRole.APPLICANT, name="张三", id_number=ZHANG_ID, address="枫源村1号"
                ),
                case_services.PartyData(
                    role=PartyRole.RESPONDENT, name="李四", id_number=LI_ID, address="枫源村2号"
                ),
            ],
        ),
        actor=persona.user,
        membership=persona.membership,
    )
    if accept:
        case = case_services.accept_case(case, actor=persona.user, membership=persona.membership)
    return case


@pytest.fixture
def mediator(village_mediator_fengyuan) -> Persona:
    return village_mediator_fengyuan


@pytest.fixture
def dispute(mediator):
    return report_dispute(mediator)


@pytest.fixture
def mediation(dispute, mediator):
    return services.start_mediation(
        dispute,
        actor=mediator.user,
        membership=mediator.membership,
        started_how=StartedHow.APPLICATION,
        mediator_names=["王调解", mediator.user.full_name],
    )


@pytest.fixture
def second_mediator(db) -> Persona:
    """Another member of 枫源村's committee (same unit, own account)."""
    return make_persona(
        "village_mediator_two",
        Role.VILLAGE_MEDIATOR,
        UnitKind.MEDIATION_COMMITTEE,
        FENGYUAN_VILLAGE,
    )


def agreement_data(**overrides) -> services.AgreementData:
    values = {
        "form": AgreementForm.WRITTEN,
        "parties": [
            services.AgreementParty(
                name="张三", sex="男", ethnicity="汉", id_number=ZHANG_ID, address="枫源村1号"
            ),
            services.AgreementParty(
                name="李四", sex="女", ethnicity="汉", id_number=LI_ID, address="枫源村2号"
            ),
        ],
        "facts": "两家宅前共用排水沟，李四家堆放杂物致排水沟堵塞，雨天积水流入张三家院内。",
        "disputed_matters": "排水沟疏通责任及张三院内受损物品的赔偿。",
        "responsibilities": "李四对排水沟堵塞负主要责任；张三未及时告知负次要责任。",
        "terms": "一、李四于协议签订后五日内清理杂物并疏通排水沟；\n二、李四赔偿张三损失人民币八百元。",
        "performance": "李四以现金方式向张三支付赔偿款，疏通工作由村调委会现场查验。",
        "performance_deadline": timezone.localdate() + timedelta(days=5),
        "performed_immediately": False,
        "signed_on": timezone.localdate(),
    }
    values.update(overrides)
    return services.AgreementData(**values)


@pytest.fixture
def written_agreement(mediation, mediator):
    return services.record_agreement(
        mediation, actor=mediator.user, membership=mediator.membership, data=agreement_data()
    )
