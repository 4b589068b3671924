"""Audit viewer (audit administrator only) and calendar admin (system administrator only)."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fengqiao.core import audit
from fengqiao.core.models import AuditEvent, CalendarDay, CalendarYear

pytestmark = pytest.mark.django_db

AUDIT_URLS = [("get", "core:audit_list"), ("post", "core:audit_verify")]
CALENDAR_URLS = [
    ("get", "core:calendar_list", {}),
    ("get", "core:calendar_add", {}),
    ("get", "core:calendar_import", {}),
    ("get", "core:calendar_edit", {"day": "2025-01-28"}),
    ("get", "core:calendar_delete", {"day": "2025-01-28"}),
    ("post", "core:calendar_year_known", {"year": 2027}),
]


@pytest.mark.parametrize("method, name", AUDIT_URLS)
@pytest.mark.parametrize(
    "persona", ["system_admin", "security_admin", "town_operator_fengqiao"], indirect=True
)
def test_audit_viewer_is_404_for_everyone_but_the_audit_administrator(persona, method, name):
    assert getattr(persona.client, method)(reverse(name)).status_code == 404


@pytest.mark.parametrize("method, name", AUDIT_URLS)
def test_audit_viewer_sends_anonymous_visitors_to_login(client, method, name):
    response = getattr(client, method)(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("method, name, kwargs", CALENDAR_URLS)
@pytest.mark.parametrize(
    "persona", ["audit_admin", "security_admin", "town_operator_fengqiao"], indirect=True
)
def test_calendar_admin_is_404_for_everyone_but_the_system_administrator(
    persona, method, name, kwargs
):
    assert getattr(persona.client, method)(reverse(name, kwargs=kwargs)).status_code == 404


@pytest.mark.parametrize("method, name, kwargs", CALENDAR_URLS)
def test_calendar_admin_sends_anonymous_visitors_to_login(client, method, name, kwargs):
    response = getattr(client, method)(reverse(name, kwargs=kwargs))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# --- audit viewer -----------------------------------------------------------------------------


def test_audit_administrator_sees_and_filters_events(audit_admin):
    audit.record("cases.escalated", obj=("cases.case", "C-1"))
    audit.record("tips.read", obj=("tips.tip", "T-9"), outcome="denied")
    response = audit_admin.client.get(reverse("core:audit_list"), {"action": "tips."})
    assert response.status_code == 200
    body = response.content.decode()
    assert "tips.read" in body and "T-9" in body
    assert "cases.escalated" not in body


def test_audit_viewer_filters_by_user_name_and_date(audit_admin, town_operator_fengqiao):
    audit.record("cases.viewed", membership=town_operator_fengqiao.membership)
    audit.record("cases.other")
    url = reverse("core:audit_list")
    body = audit_admin.client.get(url, {"actor": "town_operator_fengqiao"}).content.decode()
    assert "cases.viewed" in body and "cases.other" not in body
    body = audit_admin.client.get(url, {"date_to": "2000-01-01"}).content.decode()
    assert "cases.viewed" not in body


def test_audit_viewer_paginates_without_a_query_per_row(audit_admin):
    url = reverse("core:audit_list")
    audit_admin.client.get(url)  # warm the session
    for i in range(3):
        audit.record(f"test.few{i}")
    with CaptureQueriesContext(connection) as few:
        audit_admin.client.get(url)
    for i in range(60):
        audit.record(f"test.many{i}")
    with CaptureQueriesContext(connection) as many:
        response = audit_admin.client.get(url)
    assert len(many) == len(few)
    assert response.context["page"].paginator.num_pages >= 2
    assert audit_admin.client.get(url, {"page": 2}).status_code == 200


def test_verify_button_reports_an_intact_chain_and_is_audited(audit_admin):
    audit.record("test.one")
    response = audit_admin.client.post(reverse("core:audit_verify"), follow=True)
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert any("完好" in m or "intact" in m for m in messages)
    last = AuditEvent.objects.last()
    assert (last.action, last.actor_id, last.role) == (
        "audit.verified",
        audit_admin.user.pk,
        "audit_admin",
    )


def test_verify_button_names_the_first_broken_row(audit_admin):
    events = [audit.record(f"test.e{i}") for i in range(3)]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER core_auditevent_no_update")
        else:
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")
        cursor.execute("UPDATE core_auditevent SET outcome = 'x' WHERE id = %s", [events[1].pk])
    response = audit_admin.client.post(reverse("core:audit_verify"), follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert any(f"#{events[1].pk}" in m for m in messages)


def test_verify_needs_post(audit_admin):
    assert audit_admin.client.get(reverse("core:audit_verify")).status_code == 405


# --- calendar admin ---------------------------------------------------------------------------


def test_system_administrator_sees_a_year_with_make_up_days(system_admin):
    response = system_admin.client.get(reverse("core:calendar_list"), {"year": 2025})
    assert response.status_code == 200
    body = response.content.decode()
    assert "2025-01-26" in body and "2025-10-08" in body
    assert response.context["working_days"] == 248  # two more holidays from 2025 on


def test_calendar_page_warns_about_an_unknown_year(system_admin):
    with time_machine.travel(date(2026, 6, 1)):
        response = system_admin.client.get(reverse("core:calendar_list"), {"year": 2027})
    assert response.context["known"] is None
    assert response.context["calendar_warning"] == {"years": [2027]}
    assert "alert-warning" in response.content.decode()
    with time_machine.travel(date(2025, 6, 1)):
        response = system_admin.client.get(reverse("core:calendar_list"), {"year": 2025})
    assert response.context["calendar_warning"] is None


def test_add_edit_and_delete_a_day_through_the_pages(system_admin):
    client = system_admin.client
    response = client.post(
        reverse("core:calendar_add"), {"date": "2030-10-01", "kind": "holiday", "name": "国庆"}
    )
    assert response.status_code == 302
    assert CalendarDay.objects.get(date=date(2030, 10, 1)).name == "国庆"
    response = client.post(
        reverse("core:calendar_edit", kwargs={"day": "2030-10-01"}),
        {"date": "2030-10-02", "kind": "holiday", "name": "国庆节"},
    )
    assert response.status_code == 302
    assert CalendarDay.objects.get(date=date(2030, 10, 2)).name == "国庆节"
    response = client.post(reverse("core:calendar_delete", kwargs={"day": "2030-10-02"}))
    assert response.status_code == 302
    assert not CalendarDay.objects.filter(date__year=2030).exists()
    actions = set(
        AuditEvent.objects.filter(actor_id=system_admin.user.pk).values_list("action", flat=True)
    )
    assert {"calendar.day_added", "calendar.day_changed", "calendar.day_deleted"} <= actions


def test_a_weekday_make_up_day_is_refused_with_a_form_error(system_admin):
    response = system_admin.client.post(
        reverse("core:calendar_add"), {"date": "2030-01-02", "kind": "makeup_workday"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["kind"]
    assert not CalendarDay.objects.filter(date=date(2030, 1, 2)).exists()


def test_unknown_day_is_404(system_admin):
    url = reverse("core:calendar_edit", kwargs={"day": "2025-03-05"})
    assert system_admin.client.get(url).status_code == 404
    url = reverse("core:calendar_edit", kwargs={"day": "2025-02-30"})
    assert system_admin.client.get(url).status_code == 404


def test_csv_import_page_lists_every_bad_line_and_imports_nothing(system_admin):
    upload = SimpleUploadedFile(
        "days.csv",
        "2027-01-01,holiday,元旦\n2027-01-05,makeup_workday,x\nnonsense\n".encode(),
        content_type="text/csv",
    )
    response = system_admin.client.post(
        reverse("core:calendar_import"), {"file": upload, "mark_complete": "on"}
    )
    assert response.status_code == 200
    assert len(response.context["errors"]) == 2
    assert not CalendarDay.objects.filter(date__year=2027).exists()


def test_csv_import_page_imports_a_good_file(system_admin):
    upload = SimpleUploadedFile(
        "days.csv", "2027-01-01,holiday,元旦\n".encode(), content_type="text/csv"
    )
    response = system_admin.client.post(
        reverse("core:calendar_import"), {"file": upload, "mark_complete": "on"}
    )
    assert response.status_code == 302
    assert CalendarYear.objects.filter(year=2027, source="import").exists()


def test_marking_a_year_complete_from_the_page(system_admin):
    response = system_admin.client.post(
        reverse("core:calendar_year_known", kwargs={"year": 2027}), {"known": "1"}
    )
    assert response.status_code == 302
    assert CalendarYear.objects.filter(year=2027, source="manual").exists()
    system_admin.client.post(
        reverse("core:calendar_year_known", kwargs={"year": 2027}), {"known": "0"}
    )
    assert not CalendarYear.objects.filter(year=2027).exists()


@pytest.mark.parametrize(
    "persona, shown", [("system_admin", True), ("audit_admin", False)], indirect=["persona"]
)
def test_calendar_warning_tag_shows_only_to_calendar_managers(persona, shown, rf):
    from django.template import Context, Template

    request = rf.get("/")
    request.membership = persona.membership
    template = Template("{% load core_calendar %}{% calendar_warning %}")
    with time_machine.travel(date(2026, 6, 1)):
        html = template.render(Context({"request": request}))
    assert ("2027" in html) is shown
    assert (reverse("core:calendar_list") in html) is shown
