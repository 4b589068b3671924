"""Parties: validation (GB 11643 check digit, phone numbers), sealed storage with tails for
masking, the same party in other open cases, and audited reveals."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from fengqiao.cases import services
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.models import Party, PartyRole
from fengqiao.core.fields import BlindIndexField
from fengqiao.core.masking import mask_id_number, mask_name, mask_phone
from fengqiao.core.models import AuditEvent
from fengqiao.core.validators import (
    id_number_check_char,
    is_valid_id_number,
    is_valid_phone,
    validate_id_number,
    validate_phone,
)

from .factories import id_number, report

FENGYUAN = "330681109290"
ZHANG = id_number("33068119800101001")


def act(persona):
    return {"actor": persona.user, "membership": persona.membership}


# --- validators (no database) ------------------------------------------------------------------


def test_published_example_id_number_is_valid():
    # The GB 11643-1999 worked example: 11010519491231002X.
    assert id_number_check_char("11010519491231002") == "X"
    assert is_valid_id_number("11010519491231002X")
    assert is_valid_id_number("11010519491231002x")  # typed in lower case
    assert not is_valid_id_number("110105194912310021")


birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=date.today() - timedelta(days=1))


@given(
    area=st.from_regex(r"[1-6]\d{5}", fullmatch=True),
    born=birth_dates,
    serial=st.from_regex(r"\d{3}", fullmatch=True),
)
def test_any_number_with_its_check_char_is_valid_and_any_other_char_is_not(area, born, serial):
    first17 = f"{area}{born:%Y%m%d}{serial}"
    right = id_number_check_char(first17)
    assert is_valid_id_number(first17 + right)
    validate_id_number(first17 + right)
    for wrong in set("0123456789X") - {right}:
        assert not is_valid_id_number(first17 + wrong)


@given(st.text(max_size=25))
def test_validators_never_crash_and_agree_with_their_raising_forms(text):
    valid = is_valid_id_number(text)
    try:
        validate_id_number(text)
    except ValidationError:
        assert not valid
    else:
        assert valid
    assert is_valid_phone(text) == _phone_ok(text)


def _phone_ok(text: str) -> bool:
    try:
        validate_phone(text)
    except ValidationError:
        return False
    return True


def test_impossible_birth_dates_are_refused():
    assert not is_valid_id_number(id_number("33068119800231001"))  # 31 February
    assert not is_valid_id_number(id_number("33068118800101001"))  # 1880
    assert not is_valid_id_number(id_number(f"330681{date.today().year + 1}0101001"))


@given(st.from_regex(r"1[3-9]\d{9}", fullmatch=True))
def test_mobile_numbers_in_the_forms_people_type(mobile):
    assert is_valid_phone(mobile)
    assert is_valid_phone(f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}")
    assert is_valid_phone(mobile[:3] + "-" + mobile[3:])
    assert not is_valid_phone(mobile[:-1])
    assert not is_valid_phone("2" + mobile[1:])


def test_landlines_with_area_code():
    assert is_valid_phone("0575-87012345")
    assert is_valid_phone("010 12345678")
    assert not is_valid_phone("87012345")  # no area code


@given(st.from_regex(r"1[3-9]\d{9}", fullmatch=True))
def test_masked_phone_keeps_prefix_and_last_four(mobile):
    masked = mask_phone(mobile)
    assert masked == mobile[:3] + "****" + mobile[-4:]
    assert mask_phone(mobile[-4:]) == "*******" + mobile[-4:]


def test_masks():
    assert mask_id_number("330602198001011234") == "330602********1234"
    assert mask_id_number("1234") == "**************1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("") == mask_phone("") == ""
    assert mask_name("张三丰") == "张**"


# --- parties through the services --------------------------------------------------------------


@pytest.mark.django_db
def test_parties_are_sealed_with_tails_and_blind_indexes(dispute_category):
    case = report(
        dispute_category,
        region_code=FENGYUAN,
        parties=[
            services.PartyData(
                role=PartyRole.APPLICANT,
                name="张三",
                id_number=ZHANG.lower(),
                phone="+86 138 1234 5678",
                address="枫源村1号",
            )
        ],
    )
    party = Party.objects.get(case=case)
    assert (party.id_number_tail, party.phone_tail) == (ZHANG[-4:], "5678")
    assert party.id_number == ZHANG and party.phone == "13812345678"
    assert party.id_number_index and party.phone_index
    assert mask_id_number(party.id_number_tail).endswith(ZHANG[-4:])


@pytest.mark.django_db
def test_invalid_id_number_is_refused_with_its_field(dispute_category, village_mediator_fengyuan):
    case = report(dispute_category, region_code=FENGYUAN)
    with pytest.raises(WorkflowError) as caught:
        services.add_party(
            case,
            **act(village_mediator_fengyuan),
            data=services.PartyData(
                role=PartyRole.RESPONDENT,
                name="李四",
                id_number=ZHANG[:-1] + "0" if ZHANG[-1] != "0" else ZHANG[:-1] + "1",
            ),
        )
    assert (caught.value.code, caught.value.field) == ("invalid_id_number", "id_number")
    with pytest.raises(WorkflowError) as caught:
        services.add_party(
            case,
            **act(village_mediator_fengyuan),
            data=services.PartyData(role="judge", name="李四"),
        )
    assert caught.value.field == "role"


@pytest.mark.django_db
def test_add_party_needs_a_unit_working_the_case(dispute_category, town_operator_other_town):
    case = report(dispute_category, region_code=FENGYUAN)
    with pytest.raises(WorkflowError) as caught:
        services.add_party(
            case,
            **act(town_operator_other_town),
            data=services.PartyData(role=PartyRole.RESPONDENT, name="李四"),
        )
    assert caught.value.code == "not_your_unit"


@pytest.mark.django_db
def test_same_party_in_other_open_visible_cases(
    dispute_category, village_mediator_fengyuan, town_operator_other_town
):
    def with_party(region: str, **party):
        return report(
            dispute_category,
            region_code=region,
            parties=[services.PartyData(role=PartyRole.APPLICANT, name="张三", **party)],
        )

    first = with_party(FENGYUAN, id_number=ZHANG)
    by_id = with_party(FENGYUAN, id_number=ZHANG.lower())
    by_phone = with_party("330681109", phone="13812345678")
    Party.objects.create(case=first, role=PartyRole.RESPONDENT, name="王五", phone="138 1234 5678")
    other_town = with_party("330681104", id_number=ZHANG)
    unrelated = with_party(FENGYUAN, id_number=id_number("33068119900101001"))
    closed = with_party(FENGYUAN, id_number=ZHANG)
    type(closed).objects.filter(pk=closed.pk).update(status="closed")

    committee = village_mediator_fengyuan  # sees its own village only
    seen = set(services.same_party_cases(first, membership=committee.membership))
    assert seen == {by_id}
    from personas import make_persona

    county = make_persona("county_parties", "centre_staff", "governance_centre", "330681")
    seen = set(services.same_party_cases(first, membership=county.membership))
    assert seen == {by_id, by_phone, other_town}
    assert unrelated not in seen and closed not in seen
    assert set(services.same_party_cases(unrelated, membership=county.membership)) == set()


@pytest.mark.django_db
def test_reveal_is_audited_and_limited_to_revealing_roles(
    dispute_category, village_mediator_fengyuan, grid_worker_fengqiao, town_operator_other_town
):
    case = report(
        dispute_category,
        region_code=FENGYUAN,
        parties=[services.PartyData(role=PartyRole.APPLICANT, name="张三", phone="13812345678")],
    )
    party = Party.objects.get(case=case)
    value = services.reveal_party_field(party, **act(village_mediator_fengyuan), field="phone")
    assert value == "13812345678"
    event = AuditEvent.objects.filter(action="cases.reveal_party_field").latest("id")
    assert event.detail["field"] == "phone" and "13812345678" not in str(event.detail)
    for persona in (grid_worker_fengqiao, town_operator_other_town):
        with pytest.raises(WorkflowError) as caught:
            services.reveal_party_field(party, **act(persona), field="phone")
        assert caught.value.code == "not_allowed"
    denied = AuditEvent.objects.filter(action="cases.reveal_party_field", outcome="denied")
    assert denied.count() == 2
    with pytest.raises(WorkflowError):
        services.reveal_party_field(party, **act(village_mediator_fengyuan), field="role")


# Indexed text columns compared for equality only, beside the blind indexes (cases.0008,
# core.0007); the audit event's ``action`` keeps its companion, for prefix filters.
EQUALITY_ONLY = [
    ("cases_case", "code"),
    ("core_auditevent", "hash"),
    ("core_auditevent", "actor_username"),
    ("core_idempotencyrecord", "key_hash"),
]


@pytest.mark.django_db
def test_equality_only_indexes_keep_no_pattern_ops_companions():
    """Blind indexes, digests and codes are compared for equality only: PostgreSQL's ``*_like``
    indexes beside them served no query and cost every insert (cases.0007 and 0008, core.0007,
    tips.0002)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no such indexes")
    blind = [
        (model._meta.db_table, field.column)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, BlindIndexField)
    ] + EQUALITY_ONLY
    assert {table for table, _ in blind} >= {"cases_party", "tips_accused"}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE tablename = ANY(%s)",
            [sorted({table for table, _ in blind})],
        )
        indexes = cursor.fetchall()
    for table, column in blind:
        on_column = [d for t, d in indexes if t == table and f"({column}" in d.replace('"', "")]
        assert on_column, f"{table}.{column} has lost its index"
        assert not [d for d in on_column if "pattern_ops" in d], f"{table}.{column}: {on_column}"
