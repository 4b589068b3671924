"""System administrator pages: users and memberships, through the services, audited."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.flows import code_for_key, password_step
from fengqiao.accounts.authentication import offered_enrol_key
from fengqiao.accounts.models import Membership, User, UserSession
from fengqiao.accounts.roles import Role
from fengqiao.core.models import AuditEvent
from fengqiao.regions.models import Region, Unit, UnitKind
from personas import FENGQIAO_TOWN, FENGYUAN_VILLAGE, make_persona, unit_of

pytestmark = pytest.mark.django_db

INITIAL = "temporary passphrase 2026"


def create(client, **overrides):
    data = {
        "username": "zhao.lei",
        "full_name": "赵磊",
        "new_password1": INITIAL,
        "new_password2": INITIAL,
        **overrides,
    }
    return client.post("/manage/users/new/", data)


def test_create_user_then_first_login_forces_password_change_and_enrolment(system_admin):
    response = create(system_admin.client)
    user = User.objects.get(username="zhao.lei")
    assert response.url == f"/manage/users/{user.public_id}/"
    assert user.password_must_change and user.check_password(INITIAL)
    assert AuditEvent.objects.filter(action="accounts.user_created").exists()

    system_admin.client.post(
        f"/manage/users/{user.public_id}/memberships/add/",
        {"region_code": FENGQIAO_TOWN, "kind": UnitKind.COMMAND_ROOM, "role": Role.TOWN_OPERATOR},
    )
    client = Client()
    assert password_step(client, "zhao.lei", INITIAL).url == "/login/enrol/"
    client.get("/login/enrol/")
    key = offered_enrol_key(client.session, user)
    response = client.post("/login/enrol/", {"otp_token": code_for_key(key)})
    assert response.url == "/password/"
    assert client.get("/workbench/").url == "/password/"
    client.post(
        "/password/",
        {
            "old_password": INITIAL,
            "new_password1": "my very own passphrase",
            "new_password2": "my very own passphrase",
        },
    )
    assert client.get("/workbench/").status_code == 200


def test_create_user_form_reports_each_problem_in_chinese(system_admin):
    make_persona("taken", Role.GRID_WORKER, UnitKind.GRID_STATION, "330681109290001")
    response = create(
        system_admin.client,
        username="taken",
        full_name="",
        new_password1="short",
        new_password2="short",
    )
    errors = response.context["form"].errors
    assert set(errors) == {"username", "full_name", "new_password1"}
    assert "已存在" in str(errors["username"])
    assert "太短" in str(errors["new_password1"])


def test_user_list_search_and_query_count(
    system_admin, town_operator_fengqiao, django_assert_max_num_queries
):
    for i in range(5):
        make_persona(f"grid.{i}", Role.GRID_WORKER, UnitKind.GRID_STATION, "330681109290001")
    with django_assert_max_num_queries(12):
        page = system_admin.client.get("/manage/users/")
    assert page.status_code == 200
    names = [u.username for u in page.context["page"]]
    assert "town_operator_fengqiao" in names and "grid.4" in names
    found = system_admin.client.get("/manage/users/?q=grid.3").context["page"]
    assert [u.username for u in found] == ["grid.3"]


def test_disable_ends_sessions_and_enable_restores_login(system_admin, town_operator_fengqiao):
    subject = town_operator_fengqiao.user
    response = system_admin.client.post(f"/manage/users/{subject.public_id}/disable/")
    assert response.status_code == 302
    subject.refresh_from_db()
    assert not subject.is_active
    assert not UserSession.objects.filter(user=subject).exists()
    assert town_operator_fengqiao.client.get("/workbench/").status_code == 302
    event = AuditEvent.objects.get(action="accounts.user_disabled")
    assert event.actor_id == system_admin.user.pk and event.object_id == str(subject.public_id)

    system_admin.client.post(f"/manage/users/{subject.public_id}/enable/")
    subject.refresh_from_db()
    assert subject.is_active


def test_add_membership_by_region_code_and_kind(system_admin, town_operator_fengqiao):
    subject = town_operator_fengqiao.user
    response = system_admin.client.post(
        f"/manage/users/{subject.public_id}/memberships/add/",
        {
            "region_code": FENGYUAN_VILLAGE,
            "kind": UnitKind.MEDIATION_COMMITTEE,
            "role": Role.VILLAGE_MEDIATOR,
        },
    )
    assert response.status_code == 302
    added = Membership.objects.get(user=subject, role=Role.VILLAGE_MEDIATOR)
    assert added.unit == unit_of(UnitKind.MEDIATION_COMMITTEE, FENGYUAN_VILLAGE)
    assert added.region_code == FENGYUAN_VILLAGE
    event = AuditEvent.objects.get(action="accounts.membership_added")
    assert event.detail["role"] == Role.VILLAGE_MEDIATOR


def test_add_membership_reports_a_missing_unit(system_admin, town_operator_fengqiao):
    response = system_admin.client.post(
        f"/manage/users/{town_operator_fengqiao.user.public_id}/memberships/add/",
        {"region_code": FENGYUAN_VILLAGE, "kind": UnitKind.COURT, "role": Role.GRID_WORKER},
    )
    assert response.status_code == 400
    assert "region_code" in response.context["add_form"].errors
    response = system_admin.client.post(
        f"/manage/users/{town_operator_fengqiao.user.public_id}/memberships/add/",
        {"region_code": "33x", "kind": "", "role": ""},
    )
    assert set(response.context["add_form"].errors) == {"region_code", "kind", "role"}


def test_remove_and_change_role(system_admin, town_operator_fengqiao):
    subject = town_operator_fengqiao.user
    membership = town_operator_fengqiao.membership
    system_admin.client.post(
        f"/manage/users/{subject.public_id}/memberships/role/",
        {"membership": membership.pk, "role": Role.CENTRE_STAFF},
    )
    membership.refresh_from_db()
    assert membership.role == Role.CENTRE_STAFF
    assert (
        AuditEvent.objects.get(action="accounts.membership_role_changed").detail["old_role"]
        == Role.TOWN_OPERATOR
    )

    system_admin.client.post(
        f"/manage/users/{subject.public_id}/memberships/remove/", {"membership": membership.pk}
    )
    membership.refresh_from_db()
    assert not membership.is_active
    assert AuditEvent.objects.filter(action="accounts.membership_removed").exists()


def test_removed_membership_can_be_added_again(system_admin, town_operator_fengqiao):
    subject = town_operator_fengqiao.user
    membership = town_operator_fengqiao.membership
    client = system_admin.client
    client.post(
        f"/manage/users/{subject.public_id}/memberships/remove/", {"membership": membership.pk}
    )
    client.post(
        f"/manage/users/{subject.public_id}/memberships/add/",
        {"region_code": FENGQIAO_TOWN, "kind": UnitKind.COMMAND_ROOM, "role": Role.TOWN_OPERATOR},
    )
    membership.refresh_from_db()
    assert membership.is_active
    assert Membership.objects.filter(user=subject).count() == 1


def test_initial_password_reset_forces_a_change(system_admin, town_operator_fengqiao):
    subject = town_operator_fengqiao.user
    system_admin.client.post(
        f"/manage/users/{subject.public_id}/password/",
        {"new_password1": INITIAL, "new_password2": INITIAL},
    )
    subject.refresh_from_db()
    assert subject.password_must_change and subject.check_password(INITIAL)
    assert town_operator_fengqiao.client.get("/workbench/").status_code == 302


def test_county_admin_sees_only_users_of_their_county(
    town_operator_fengqiao, county_centre_yuecheng
):
    region = Region.objects.get(code="330602")
    Unit.objects.get_or_create(
        kind=UnitKind.ADMINISTRATION, region=region, defaults={"name": "越城区平台管理"}
    )
    admin = make_persona("yuecheng.admin", Role.SYSTEM_ADMIN, UnitKind.ADMINISTRATION, "330602")
    names = [u.username for u in admin.client.get("/manage/users/").context["page"]]
    assert "county_centre_yuecheng" in names
    assert "town_operator_fengqiao" not in names
    assert (
        admin.client.get(f"/manage/users/{town_operator_fengqiao.user.public_id}/").status_code
        == 404
    )
    # Nor can they give anyone a role in a unit outside their county.
    response = admin.client.post(
        f"/manage/users/{county_centre_yuecheng.user.public_id}/memberships/add/",
        {"region_code": FENGQIAO_TOWN, "kind": UnitKind.COMMAND_ROOM, "role": Role.TOWN_OPERATOR},
    )
    assert response.status_code == 400
    assert not Membership.objects.filter(
        user=county_centre_yuecheng.user, region_code=FENGQIAO_TOWN
    ).exists()
