"""Separation of duties between the three administrators (SECURITY 9, 等保 L3-CES1-08)."""

from __future__ import annotations

import pytest

from fengqiao.accounts.models import Membership
from fengqiao.accounts.roles import ADMIN_ROLES, CAPABILITIES, Role

pytestmark = pytest.mark.django_db

SYSTEM_PAGES = ["/manage/users/", "/manage/users/new/"]
SECURITY_PAGES = ["/security/lockouts/", "/security/users/"]
STAFF_PAGES = ["/tokens/"]


def test_the_three_administrators_hold_disjoint_capabilities():
    admin = [CAPABILITIES[role] for role in ADMIN_ROLES]
    for i, caps in enumerate(admin):
        for other in admin[i + 1 :]:
            assert not caps & other


@pytest.mark.parametrize(
    ("persona", "allowed", "denied"),
    [
        ("system_admin", SYSTEM_PAGES, SECURITY_PAGES + STAFF_PAGES),
        ("security_admin", SECURITY_PAGES, SYSTEM_PAGES + STAFF_PAGES),
        ("audit_admin", [], SYSTEM_PAGES + SECURITY_PAGES + STAFF_PAGES),
        ("town_operator_fengqiao", STAFF_PAGES, SYSTEM_PAGES + SECURITY_PAGES),
    ],
    indirect=["persona"],
)
def test_each_role_reaches_only_its_own_pages(persona, allowed, denied):
    for url in allowed:
        assert persona.client.get(url).status_code == 200, url
    for url in denied:
        assert persona.client.get(url).status_code == 404, url


def test_system_admin_cannot_reach_the_audit_log(system_admin):
    from django.urls import NoReverseMatch, reverse

    try:
        url = reverse("core:audit_list")
    except NoReverseMatch:
        pytest.skip("the audit log pages are not installed")
    assert system_admin.client.get(url).status_code == 404


def test_security_admin_cannot_manage_users(security_admin, town_operator_fengqiao):
    subject = town_operator_fengqiao.user
    client = security_admin.client
    assert client.post(f"/manage/users/{subject.public_id}/disable/").status_code == 404
    assert (
        client.post(
            f"/manage/users/{subject.public_id}/memberships/role/",
            {"membership": town_operator_fengqiao.membership.pk, "role": Role.LEADER},
        ).status_code
        == 404
    )
    subject.refresh_from_db()
    assert subject.is_active


def test_audit_admin_can_neither_manage_users_nor_security(audit_admin, town_operator_fengqiao):
    subject = town_operator_fengqiao.user
    client = audit_admin.client
    assert client.post(f"/manage/users/{subject.public_id}/disable/").status_code == 404
    assert client.post(f"/security/users/{subject.public_id}/totp/reset/").status_code == 404
    assert client.post(f"/security/users/{subject.public_id}/sessions/end-all/").status_code == 404
    assert town_operator_fengqiao.client.get("/workbench/").status_code == 200


@pytest.mark.parametrize("role", sorted(ADMIN_ROLES))
def test_system_admin_cannot_grant_an_admin_role(system_admin, town_operator_fengqiao, role):
    subject = town_operator_fengqiao.user
    client = system_admin.client
    response = client.post(
        f"/manage/users/{subject.public_id}/memberships/add/",
        {"region_code": "330600", "kind": "administration", "role": role},
    )
    assert response.status_code == 400
    assert "role" in response.context["add_form"].errors
    response = client.post(
        f"/manage/users/{subject.public_id}/memberships/role/",
        {"membership": town_operator_fengqiao.membership.pk, "role": role},
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(user=subject, role__in=ADMIN_ROLES).exists()


def test_admin_roles_are_not_offered_in_the_form(system_admin, town_operator_fengqiao):
    page = system_admin.client.get(f"/manage/users/{town_operator_fengqiao.user.public_id}/")
    html = page.content.decode()
    for role in ADMIN_ROLES:
        assert f'value="{role}"' not in html


def test_system_admin_cannot_touch_other_administrators(system_admin, security_admin):
    client = system_admin.client
    subject = security_admin.user
    client.post(f"/manage/users/{subject.public_id}/disable/")
    client.post(
        f"/manage/users/{subject.public_id}/memberships/remove/",
        {"membership": security_admin.membership.pk},
    )
    client.post(
        f"/manage/users/{subject.public_id}/memberships/role/",
        {"membership": security_admin.membership.pk, "role": Role.GRID_WORKER},
    )
    subject.refresh_from_db()
    security_admin.membership.refresh_from_db()
    assert subject.is_active
    assert security_admin.membership.is_active
    assert security_admin.membership.role == Role.SECURITY_ADMIN
    assert security_admin.client.get("/security/lockouts/").status_code == 200


def test_menu_shows_each_administrator_only_their_pages(system_admin, security_admin):
    system_urls = [i["url"] for i in system_admin.client.get("/manage/users/").context["nav_items"]]
    security_urls = [
        i["url"] for i in security_admin.client.get("/security/users/").context["nav_items"]
    ]
    assert "/manage/users/" in system_urls
    assert not any(url.startswith("/security/") for url in system_urls)
    assert "/tokens/" not in system_urls
    assert "/security/lockouts/" in security_urls and "/security/users/" in security_urls
    assert "/manage/users/" not in security_urls
