"""Staff work pages: queues, the filtered list, the case page, actions, notes, reveal, files."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fengqiao.cases import services
from fengqiao.cases.models import Attachment, Status, Supervision
from fengqiao.core.models import AuditEvent
from fengqiao.regions.models import Level, Unit, UnitKind
from personas import DIANKOU_TOWN, FENGQIAO_TOWN, FENGYUAN_VILLAGE

from .factories import id_number, make_category, report

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


@pytest.fixture
def town_category(db):
    """Handled by the town command room itself."""
    return make_category(level=Level.TOWN, unit_kind=UnitKind.COMMAND_ROOM)


@pytest.fixture
def town_case(town_category):
    return report(town_category, region_code=FENGYUAN_VILLAGE, title="枫源村排水沟纠纷")


def detail(case) -> str:
    return reverse("cases:detail", kwargs={"case_code": case.code})


def act(persona, case, action, **data):
    return persona.client.post(
        reverse("cases:act", kwargs={"case_code": case.code}), {"action": action, **data}
    )


# --- lists ------------------------------------------------------------------------------------


def test_list_shows_cases_in_scope_only(
    town_operator_fengqiao, town_operator_other_town, town_case
):
    mine = town_operator_fengqiao.client.get(reverse("cases:list"))
    assert mine.status_code == 200
    assert town_case.code in mine.content.decode()
    theirs = town_operator_other_town.client.get(reverse("cases:list"))
    assert theirs.status_code == 200
    assert town_case.code not in theirs.content.decode()


def test_list_filters_by_status_and_region(town_operator_fengqiao, town_category):
    here = report(town_category, region_code=FENGYUAN_VILLAGE)
    elsewhere = report(town_category, region_code=FENGQIAO_TOWN)
    client = town_operator_fengqiao.client
    html = client.get(reverse("cases:list"), {"region": FENGYUAN_VILLAGE}).content.decode()
    assert here.code in html and elsewhere.code not in html
    html = client.get(reverse("cases:list"), {"status": Status.CLOSED}).content.decode()
    assert here.code not in html
    # A region outside the membership filters inside the scope: nothing, never a leak.
    html = client.get(reverse("cases:list"), {"region": DIANKOU_TOWN}).content.decode()
    assert here.code not in html


def test_bad_filters_are_reported_not_crashing(town_operator_fengqiao, town_case):
    response = town_operator_fengqiao.client.get(
        reverse("cases:list"), {"region": "abc", "since": "not a date"}
    )
    assert response.status_code == 200
    assert "invalid-feedback" in response.content.decode()


def test_queue_to_accept_lists_the_units_new_cases(town_operator_fengqiao, town_case):
    url = reverse("cases:queue", kwargs={"queue": "to-accept"})
    assert town_case.code in town_operator_fengqiao.client.get(url).content.decode()
    url = reverse("cases:queue", kwargs={"queue": "to-sign"})
    assert town_case.code not in town_operator_fengqiao.client.get(url).content.decode()
    assert town_operator_fengqiao.client.get("/cases/queue/nonsense/").status_code == 404


@pytest.mark.parametrize(
    "queue",
    [
        "to-accept",
        "to-assign",
        "to-sign",
        "in-progress",
        "due-soon",
        "overdue",
        "to-verify",
        "to-visit",
    ],
)
def test_every_queue_opens(town_operator_fengqiao, queue):
    url = reverse("cases:queue", kwargs={"queue": queue})
    assert town_operator_fengqiao.client.get(url).status_code == 200


def test_list_and_queue_query_counts_do_not_grow_with_the_data(
    town_operator_fengqiao, town_category, django_assert_max_num_queries
):
    client = town_operator_fengqiao.client
    for _ in range(3):
        report(town_category, region_code=FENGYUAN_VILLAGE)
    with django_assert_max_num_queries(10) as few:
        assert client.get(reverse("cases:list")).status_code == 200
    for _ in range(60):
        report(town_category, region_code=FENGYUAN_VILLAGE)
    with django_assert_max_num_queries(10) as many:
        response = client.get(reverse("cases:list"), {"page": 2})
        assert response.status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)
    with django_assert_max_num_queries(10):
        client.get(reverse("cases:queue", kwargs={"queue": "to-accept"}))


def test_anonymous_is_sent_to_login(client, town_case):
    for url in (reverse("cases:list"), detail(town_case)):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_administrators_do_not_see_cases(audit_admin, town_case):
    assert audit_admin.client.get(reverse("cases:list")).status_code == 404
    assert audit_admin.client.get(detail(town_case)).status_code == 404


# --- the case page ----------------------------------------------------------------------------


def test_case_page_in_scope_and_404_outside(
    town_operator_fengqiao, town_operator_other_town, grid_worker_fengqiao, town_case
):
    page = town_operator_fengqiao.client.get(detail(town_case))
    assert page.status_code == 200
    assert "枫源村排水沟纠纷" in page.content.decode()
    assert town_operator_other_town.client.get(detail(town_case)).status_code == 404
    # The grid worker's scope is one grid: a case seated at the village is outside it.
    assert grid_worker_fengqiao.client.get(detail(town_case)).status_code == 404
    assert town_operator_fengqiao.client.get("/cases/330681-20990101-00001/").status_code == 404


def test_only_available_actions_are_offered(town_operator_fengqiao, town_case):
    html = town_operator_fengqiao.client.get(detail(town_case)).content.decode()
    offered = set(services.available_actions(town_case, town_operator_fengqiao.membership))
    assert "accept" in offered
    for action in offered:
        assert f'value="{action}"' in html
    assert 'value="verify_pass"' not in html


def test_accept_then_assign_through_the_page(town_operator_fengqiao, town_case):
    response = act(town_operator_fengqiao, town_case, "accept")
    assert response.status_code == 302
    town_case.refresh_from_db()
    assert town_case.status == Status.ACCEPTED
    html = town_operator_fengqiao.client.get(detail(town_case)).content.decode()
    police = town_operator_fengqiao.membership.unit.region.units.get(kind=UnitKind.POLICE_STATION)
    assert str(police.public_id) in html  # the unit picker lists units in the owner's scope
    response = act(
        town_operator_fengqiao, town_case, "assign", **{"act-assign-unit": str(police.public_id)}
    )
    assert response.status_code == 302
    town_case.refresh_from_db()
    assert (town_case.status, town_case.handler_unit) == (Status.ASSIGNED, police)


def test_assign_refuses_a_unit_outside_the_owners_scope(town_operator_fengqiao, town_case):
    act(town_operator_fengqiao, town_case, "accept")
    far = Unit.objects.filter(region_code__startswith=DIANKOU_TOWN).first()
    response = act(
        town_operator_fengqiao, town_case, "assign", **{"act-assign-unit": far.public_id}
    )
    assert response.status_code == 400
    town_case.refresh_from_db()
    assert town_case.status == Status.ACCEPTED


def test_an_action_not_offered_changes_nothing(town_operator_fengqiao, town_case):
    response = act(town_operator_fengqiao, town_case, "verify_pass")
    assert response.status_code == 302
    town_case.refresh_from_db()
    assert town_case.status == Status.REPORTED


def test_an_action_from_another_town_is_404(town_operator_other_town, town_case):
    assert act(town_operator_other_town, town_case, "accept").status_code == 404
    town_case.refresh_from_db()
    assert town_case.status == Status.REPORTED


def test_a_reason_is_required_to_reject(town_operator_fengqiao, town_case):
    response = act(town_operator_fengqiao, town_case, "reject", **{"act-reject-reason": ""})
    assert response.status_code == 400
    town_case.refresh_from_db()
    assert town_case.status == Status.REPORTED


def test_a_refused_service_call_shows_its_message(county_centre_zhuji, town_case):
    first = act(
        county_centre_zhuji,
        town_case,
        "supervise",
        **{"act-supervise-level": Supervision.YELLOW, "act-supervise-reason": "超期未受理"},
    )
    assert first.status_code == 302
    again = act(
        county_centre_zhuji,
        town_case,
        "supervise",
        **{"act-supervise-level": Supervision.NORMAL, "act-supervise-reason": "再次督办"},
    )
    # Lower than the current card: offered (the case is open) but refused by the service.
    assert again.status_code == 400
    assert "invalid-feedback" in again.content.decode() or "alert-danger" in again.content.decode()
    town_case.refresh_from_db()
    assert town_case.supervision == Supervision.YELLOW


def test_get_on_an_action_is_refused(town_operator_fengqiao, town_case):
    url = reverse("cases:act", kwargs={"case_code": town_case.code})
    assert town_operator_fengqiao.client.get(url).status_code == 405


# --- notes, parties, files --------------------------------------------------------------------


def test_notes_are_added_by_the_owner_unit(town_operator_fengqiao, town_case):
    url = reverse("cases:add_note", kwargs={"case_code": town_case.code})
    response = town_operator_fengqiao.client.post(url, {"body": "已电话联系", "is_public": "on"})
    assert response.status_code == 302
    note = town_case.notes.get()
    assert note.is_public and note.body == "已电话联系"


def test_parties_are_masked_and_revealed_with_an_audit_event(
    town_operator_fengqiao, town_category, grid_worker_fengqiao
):
    number = id_number("33068119800101123")
    case = report(
        town_category,
        region_code=FENGYUAN_VILLAGE,
        parties=[
            services.PartyData(role="applicant", name="李四", id_number=number, phone="13912345678")
        ],
    )
    html = town_operator_fengqiao.client.get(detail(case)).content.decode()
    assert number not in html and "13912345678" not in html
    assert "139****5678" in html or "*******5678" in html
    party = case.parties.get()
    url = reverse("cases:reveal", kwargs={"case_code": case.code, "party_id": party.public_id})
    before = AuditEvent.objects.filter(action="cases.reveal_party_field").count()
    revealed = town_operator_fengqiao.client.post(url, {"field": "id_number"})
    assert revealed.status_code == 200
    assert number in revealed.content.decode()
    assert AuditEvent.objects.filter(action="cases.reveal_party_field").count() == before + 1
    # Without cases.reveal the route does not exist for the grid worker.
    assert grid_worker_fengqiao.client.post(url, {"field": "id_number"}).status_code == 404


def test_same_party_in_other_open_cases_is_listed(town_operator_fengqiao, town_category):
    party = services.PartyData(role="applicant", name="张三", phone="13700001111")
    first = report(town_category, region_code=FENGYUAN_VILLAGE, parties=[party])
    second = report(town_category, region_code=FENGQIAO_TOWN, parties=[party])
    html = town_operator_fengqiao.client.get(detail(first)).content.decode()
    assert second.code in html


def test_upload_and_download_an_attachment(
    town_operator_fengqiao, town_operator_other_town, town_case
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = reverse("cases:upload", kwargs={"case_code": town_case.code})
    upload = SimpleUploadedFile("调解记录.pdf", PDF, content_type="application/pdf")
    response = town_operator_fengqiao.client.post(url, {"file": upload})
    assert response.status_code == 302
    attachment = Attachment.objects.get(case=town_case)
    download = reverse(
        "cases:download",
        kwargs={"case_code": town_case.code, "attachment_id": attachment.public_id},
    )
    got = town_operator_fengqiao.client.get(download)
    assert got.status_code == 200
    assert b"".join(got.streaming_content) == PDF
    assert got["Content-Type"] == "application/pdf"
    assert got["Content-Disposition"].startswith("attachment;")
    assert got["X-Content-Type-Options"] == "nosniff"
    assert AuditEvent.objects.filter(action="cases.attachment_downloaded").exists()
    assert town_operator_other_town.client.get(download).status_code == 404


def test_an_upload_of_the_wrong_type_is_refused(town_operator_fengqiao, town_case):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = reverse("cases:upload", kwargs={"case_code": town_case.code})
    fake = SimpleUploadedFile("photo.jpg", b"<html><script>x</script>", content_type="image/jpeg")
    response = town_operator_fengqiao.client.post(url, {"file": fake})
    assert response.status_code == 400
    assert not Attachment.objects.filter(case=town_case).exists()


def test_dispute_pages_load_the_mediation_panel(town_operator_fengqiao, town_case):
    html = town_operator_fengqiao.client.get(detail(town_case)).content.decode()
    assert f"/mediation/case/{town_case.code}/panel/" in html


# --- metrics ----------------------------------------------------------------------------------


def test_metrics_page_counts_the_regions_timeline(town_operator_fengqiao, town_case):
    act(town_operator_fengqiao, town_case, "accept")
    response = town_operator_fengqiao.client.get(reverse("cases:metrics"))
    assert response.status_code == 200
    rows = dict((str(label), ratio) for label, ratio in response.context["rows"])
    assert sum(r.denominator for r in rows.values()) >= 1


def test_metrics_refuse_a_region_outside_the_scope(town_operator_fengqiao, grid_worker_fengqiao):
    url = reverse("cases:metrics")
    response = town_operator_fengqiao.client.get(
        url, {"region": DIANKOU_TOWN, "since": "2026-01-01", "until": "2026-12-31"}
    )
    assert response.status_code == 404  # like any object outside the scope (SECURITY 7)
    assert grid_worker_fengqiao.client.get(url).status_code == 404


@pytest.mark.parametrize("code", ["33068\x00", "330681' OR 1=1", "x" * 300])
def test_metrics_answer_a_malformed_region_code_as_not_found(town_operator_fengqiao, code):
    # A NUL reached PostgreSQL, which refuses it in a query (500 before); codes are digits.
    response = town_operator_fengqiao.client.get(reverse("cases:metrics"), {"region": code})
    assert response.status_code == 404
