"""Mediation pages: scoping (in scope 200, out of scope 404, anonymous sent to log in), the forms
end to end, and the audited PDF download."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from fengqiao.core.models import AuditEvent
from fengqiao.mediation.models import (
    Agreement,
    FollowUpVisit,
    Mediation,
    MediationStatus,
    Performance,
)
from mediation.conftest import LI_ID, ZHANG_ID

pytestmark = pytest.mark.django_db

READ_ROUTES = ("mediation:detail", "mediation:panel")
WRITE_ROUTES = (
    "mediation:start",
    "mediation:session_new",
    "mediation:agreement_new",
    "mediation:failure_new",
    "mediation:visit_new",
    "mediation:confirmation_apply",
    "mediation:confirmation_decide",
    "mediation:flag_violent",
)
PDF_ROUTES = ("mediation:agreement_pdf", "mediation:termination_pdf")


def url(name: str, case) -> str:
    return reverse(name, args=[case.code])


def test_the_mediator_sees_the_panel_and_can_start(dispute, mediator):
    for name in READ_ROUTES:
        response = mediator.client.get(url(name, dispute))
        assert response.status_code == 200, name
        assert reverse("mediation:start", args=[dispute.code]) in response.content.decode()
    assert mediator.client.get(url("mediation:start", dispute)).status_code == 200


def test_another_town_gets_404_everywhere(mediation, town_operator_other_town):
    client = town_operator_other_town.client
    for name in READ_ROUTES + WRITE_ROUTES + PDF_ROUTES:
        assert client.get(url(name, mediation.case)).status_code == 404, name
        assert client.post(url(name, mediation.case)).status_code in {404, 405}, name


def test_anonymous_is_sent_to_log_in(mediation):
    client = Client()
    for name in READ_ROUTES + WRITE_ROUTES + PDF_ROUTES:
        response = client.get(url(name, mediation.case))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("accounts:login"))
        assert client.post(url(name, mediation.case)).status_code == 302


def test_an_unknown_case_is_404(mediator):
    assert mediator.client.get(reverse("mediation:detail", args=["nope"])).status_code == 404


def test_a_county_reader_sees_but_cannot_record(mediation, county_centre_zhuji):
    client = county_centre_zhuji.client
    assert client.get(url("mediation:detail", mediation.case)).status_code == 200
    for name in WRITE_ROUTES:
        for method in ("get", "post"):
            response = getattr(client, method)(url(name, mediation.case), {"reason": "x"})
            assert response.status_code == 302, name
            assert response["Location"] == url("mediation:detail", mediation.case)
    mediation.case.refresh_from_db()
    assert not mediation.case.may_turn_violent


def test_a_reader_without_reveal_cannot_download_unmasked_documents(written_agreement, city_leader):
    case = written_agreement.mediation.case
    page = city_leader.client.get(url("mediation:detail", case))
    assert page.status_code == 200
    assert reverse("mediation:agreement_pdf", args=[case.code]) not in page.content.decode()
    assert city_leader.client.get(url("mediation:agreement_pdf", case)).status_code == 404


def test_the_whole_mediation_through_the_forms(dispute, mediator):
    client = mediator.client
    response = client.post(
        url("mediation:start", dispute),
        {
            "started_how": "application",
            "session_preference": "private",
            "mediators": "王调解，village_mediator_fengyuan",
        },
    )
    assert response.status_code == 302
    mediation = Mediation.objects.get(case=dispute)
    assert sorted(m.name for m in mediation.mediators.all()) == [
        "village_mediator_fengyuan",
        "王调解",
    ]

    held = timezone.localtime() - timedelta(hours=2)
    response = client.post(
        url("mediation:session_new", dispute),
        {
            "held_at": held.strftime("%Y-%m-%dT%H:%M"),
            "place": "枫源村调解室",
            "attendees": "张三、李四",
            "record": "双方陈述……",
        },
    )
    assert response.status_code == 302
    assert mediation.sessions.count() == 1

    form = client.get(url("mediation:agreement_new", dispute))
    assert form.status_code == 200
    # The parties' names come from the case; their ID numbers are not shown unmasked.
    page = form.content.decode()
    assert "张三" in page and ZHANG_ID not in page

    today = timezone.localdate()
    agreement_post = {
        "form": "written",
        "party-TOTAL_FORMS": "3",
        "party-INITIAL_FORMS": "0",
        "party-MIN_NUM_FORMS": "2",
        "party-MAX_NUM_FORMS": "1000",
        "party-0-name": "张三",
        "party-0-sex": "男",
        "party-0-id_number": ZHANG_ID,
        "party-0-address": "枫源村1号",
        "party-1-name": "李四",
        "party-1-sex": "女",
        "party-1-id_number": LI_ID,
        "party-1-address": "枫源村2号",
        "facts": "排水沟堵塞。",
        "disputed_matters": "疏通与赔偿。",
        "responsibilities": "李四负主要责任。",
        "terms": "李四赔偿八百元。",
        "performance": "现金支付。",
        "performance_deadline": (today + timedelta(days=7)).isoformat(),
        "signed_on": today.isoformat(),
    }
    # Oral is refused when not performed on the spot: the form comes back with the reason.
    refused = client.post(
        url("mediation:agreement_new", dispute), {**agreement_post, "form": "oral"}
    )
    assert refused.status_code == 400
    assert "不能即时履行的调解协议应当制作书面调解协议书" in refused.content.decode()
    response = client.post(url("mediation:agreement_new", dispute), agreement_post)
    assert response.status_code == 302, response.content.decode()[:2000]
    mediation.refresh_from_db()
    assert mediation.status == MediationStatus.AGREEMENT_WRITTEN
    agreement = Agreement.objects.get(mediation=mediation)
    assert agreement.copies == 3

    download = client.get(url("mediation:agreement_pdf", dispute))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Cache-Control"] == "no-store"
    reader = PdfReader(BytesIO(download.content))
    assert "人民调解协议书" in reader.pages[0].extract_text()
    event = AuditEvent.objects.filter(action="mediation.agreement_downloaded").get()
    assert event.object_id == str(agreement.public_id)
    assert event.actor_id == mediator.user.pk

    visit = FollowUpVisit.objects.filter(mediation=mediation).order_by("due_on").first()
    response = client.post(
        url("mediation:visit_new", dispute),
        {"visit": str(visit.public_id), "performed": Performance.YES, "notes": ""},
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.performed == Performance.YES

    response = client.post(
        url("mediation:confirmation_apply", dispute),
        {"court": "诸暨市人民法院", "applied_on": today.isoformat()},
    )
    assert response.status_code == 302
    response = client.post(
        url("mediation:confirmation_decide", dispute),
        {"confirmed": "yes", "decided_on": today.isoformat()},
    )
    assert response.status_code == 302
    mediation.refresh_from_db()
    assert mediation.confirmation_decision == "confirmed"

    panel = client.get(url("mediation:panel", dispute)).content.decode()
    assert agreement.number in panel
    assert reverse("mediation:agreement_pdf", args=[dispute.code]) in panel


def test_failure_form_and_termination_pdf(mediation, mediator):
    case = mediation.case
    response = mediator.client.post(
        url("mediation:failure_new", case),
        {
            "reason_kind": "no_agreement",
            "reason": "分歧较大。",
            "routes": ["litigation"],
            "terminated_on": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 302
    download = mediator.client.get(url("mediation:termination_pdf", case))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert AuditEvent.objects.filter(action="mediation.termination_downloaded").exists()


def test_forms_before_mediation_started_send_back_to_the_panel(dispute, mediator):
    for name in WRITE_ROUTES[1:] + PDF_ROUTES:
        response = mediator.client.get(url(name, dispute))
        assert response.status_code == 302, name
        assert response["Location"] == url("mediation:detail", dispute)


def test_next_only_goes_to_this_site(mediation, mediator):
    response = mediator.client.post(
        url("mediation:flag_violent", mediation.case) + "?next=https://evil.example/",
        {"reason": "李四扬言报复", "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert response["Location"] == url("mediation:detail", mediation.case)
    mediation.case.refresh_from_db()
    assert mediation.case.may_turn_violent


def _make_visits_due(agreement) -> None:
    # Sessions end after 15 idle minutes, so time travel would log the persona out: bring the
    # schedule forward instead.
    FollowUpVisit.objects.filter(mediation=agreement.mediation).update(due_on=timezone.localdate())


def test_due_visits_show_on_the_workbench_and_their_list(written_agreement, mediator):
    from fengqiao.accounts import workbench

    def count() -> int:
        return next(
            q.count
            for q in workbench.queues_for(mediator.membership)
            if q.key == "mediation_visits"
        )

    case = written_agreement.mediation.case
    assert count() == 0
    _make_visits_due(written_agreement)
    assert count() == 2
    page = mediator.client.get(reverse("mediation:visits"))
    assert page.status_code == 200
    assert case.code in page.content.decode()
    assert url("mediation:visit_new", case) in page.content.decode()


def test_another_towns_visit_list_is_empty(written_agreement, town_operator_other_town):
    _make_visits_due(written_agreement)
    page = town_operator_other_town.client.get(reverse("mediation:visits"))
    assert page.status_code == 200
    assert written_agreement.mediation.case.code not in page.content.decode()
