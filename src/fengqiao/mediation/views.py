"""Mediation pages of a dispute case: the panel shown on the case page, one form per step, PDFs.

Every page starts from ``Case.objects.visible_to(membership)``: a case outside the person's
region answers 404 like a missing one. Recording needs ``cases.handle`` and membership of a unit
working the case; the documents carry unmasked ID numbers, so downloading them needs
``cases.reveal`` and is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from fengqiao.accounts.roles import Cap
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.models import Case, CaseKind
from fengqiao.core import audit
from fengqiao.core.access import requires
from fengqiao.mediation import pdf, services
from fengqiao.mediation.forms import (
    AgreementEntryForm,
    ConfirmationForm,
    DecisionForm,
    FailureForm,
    PartyFormSet,
    SessionForm,
    StartForm,
    ViolentForm,
    VisitForm,
)
from fengqiao.mediation.models import (
    Agreement,
    AgreementForm,
    ConfirmationDecision,
    FollowUpVisit,
    Mediation,
    MediationStatus,
    Termination,
)


def _case(request: HttpRequest, case_code: str) -> Case:
    case = (
        Case.objects.visible_to(request.membership)
        .select_related("owner_unit", "handler_unit", "clock_policy")
        .filter(code=case_code)
        .first()
    )
    if case is None:
        raise Http404
    return case


def _mediation(case: Case) -> Mediation | None:
    return (
        Mediation.objects.filter(case=case)
        .select_related("committee", "case")
        .prefetch_related("mediators")
        .first()
    )


def panel_context(case: Case, membership) -> dict[str, Any]:
    """What the mediation panel shows and offers for this case and person."""
    mediation = _mediation(case)
    may_act = services.may_act(case, membership)
    mediatable = case.status in services.MEDIATABLE_CASE_STATUSES
    context: dict[str, Any] = {
        "case": case,
        "mediation": mediation,
        "is_dispute": case.kind == CaseKind.DISPUTE,
        "may_act": may_act,
        "may_download": membership.can(Cap.CASES_REVEAL),
        "can_start": may_act and mediation is None and case.kind == CaseKind.DISPUTE and mediatable,
        "can_flag": may_act and mediation is not None and not case.may_turn_violent,
    }
    if mediation is None:
        return context
    agreement = Agreement.objects.filter(mediation=mediation).first()
    termination = Termination.objects.filter(mediation=mediation).first()
    visits = list(FollowUpVisit.objects.filter(mediation=mediation))
    today = timezone.localdate()
    context.update(
        {
            "sessions": list(mediation.sessions.select_related("recorded_by")),
            "agreement": agreement,
            "termination": termination,
            "visits": visits,
            "can_record": may_act and mediation.is_open and mediatable,
            "can_visit": may_act and any(not visit.is_done for visit in visits),
            "can_apply": may_act
            and mediation.status == MediationStatus.AGREEMENT_WRITTEN
            and mediation.confirmation_applied_on is None
            and mediation.confirmation_deadline is not None
            and mediation.confirmation_deadline >= today,
            "window_closed": mediation.status == MediationStatus.AGREEMENT_WRITTEN
            and mediation.confirmation_applied_on is None
            and mediation.confirmation_deadline is not None
            and mediation.confirmation_deadline < today,
            "can_decide": may_act
            and mediation.confirmation_decision == ConfirmationDecision.PENDING,
        }
    )
    return context


@requires(Cap.CASES_VIEW)
@require_http_methods(["GET"])
def detail(request: HttpRequest, case_code: str) -> HttpResponse:
    """The mediation of a case on a page of its own (phones, links from notifications)."""
    case = _case(request, case_code)
    context = panel_context(case, request.membership)
    context["back"] = request.get_full_path()
    return render(request, "mediation/detail.html", context)


@requires(Cap.CASES_VIEW)
@require_http_methods(["GET"])
def panel(request: HttpRequest, case_code: str) -> HttpResponse:
    """The panel alone, loaded by htmx into the case page."""
    case = _case(request, case_code)
    context = panel_context(case, request.membership)
    # The forms return to the page the panel sits on (htmx names it), when it is ours.
    context["back"] = _safe_url(request, request.headers.get("HX-Current-URL", "")) or reverse(
        "mediation:detail", args=[case.code]
    )
    return render(request, "mediation/_panel.html", context)


@requires(Cap.CASES_HANDLE)
@require_http_methods(["GET"])
def visits_due(request: HttpRequest) -> HttpResponse:
    """Follow-up visits due on the agreements of the unit's cases, oldest first."""
    membership = request.membership
    visits = (
        FollowUpVisit.objects.visible_to(membership)
        .due()
        .for_unit(membership.unit_id)
        .select_related("mediation__case", "mediation__agreement")
        .order_by("due_on", "id")[:200]
    )
    return render(request, "mediation/visits.html", {"visits": visits})


# --- forms ---------------------------------------------------------------------------------------


def _safe_url(request: HttpRequest, target: str) -> str:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _next_url(request: HttpRequest, case: Case) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    return _safe_url(request, target) or reverse("mediation:detail", args=[case.code])


def _acting(*, need_mediation: bool = True):
    """Resolve the case (404 out of scope) and hand the view its mediation, for people who may
    record on it. Someone who sees the case but does not work it is sent back to the panel."""

    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, case_code: str) -> HttpResponse:
            case = _case(request, case_code)
            if not services.may_act(case, request.membership):
                messages.error(
                    request, _("Only the units handling this case may record its mediation.")
                )
                return redirect("mediation:detail", case.code)
            mediation = _mediation(case)
            if need_mediation and mediation is None:
                messages.warning(request, _("Mediation of this case has not started yet."))
                return redirect("mediation:detail", case.code)
            return view(request, case, mediation)

        return wrapped

    return decorator


def _form_page(
    request: HttpRequest,
    case: Case,
    *,
    title: str,
    form: forms.Form,
    status: int = 200,
    formset: forms.BaseFormSet | None = None,
    template: str = "mediation/form.html",
    intro: str = "",
) -> HttpResponse:
    return render(
        request,
        template,
        {
            "case": case,
            "title": title,
            "form": form,
            "formset": formset,
            "intro": intro,
            "next": _next_url(request, case),
        },
        status=status,
    )


def _apply_error(form: forms.Form, error: WorkflowError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


def _handle(
    request: HttpRequest,
    case: Case,
    form: forms.Form,
    *,
    title: str,
    action: Callable[[dict], Any],
    done: str | Callable[[Any], str],
    formset: forms.BaseFormSet | None = None,
    **page: Any,
) -> HttpResponse:
    """POST: validate, call the service, redirect with a message; re-show the form on error.

    ``done`` is the message, or makes it from what the service returned."""
    if request.method == "POST" and form.is_valid() and (formset is None or formset.is_valid()):
        try:
            result = action(form.cleaned_data)
        except WorkflowError as error:
            _apply_error(form, error)
        else:
            messages.success(request, done(result) if callable(done) else done)
            return redirect(_next_url(request, case))
    status = 400 if request.method == "POST" else 200
    return _form_page(request, case, title=title, form=form, formset=formset, status=status, **page)


@requires(Cap.CASES_HANDLE)
@require_http_methods(["GET", "POST"])
@_acting(need_mediation=False)
def start(request: HttpRequest, case: Case, mediation: Mediation | None) -> HttpResponse:
    if mediation is not None:
        messages.info(request, _("Mediation of this case has already started."))
        return redirect("mediation:detail", case.code)
    user = request.user
    form = StartForm(request.POST or None, initial={"mediators": user.full_name or user.username})
    return _handle(
        request,
        case,
        form,
        title=_("Start mediation"),
        done=_("Mediation registered."),
        action=lambda data: services.start_mediation(
            case,
            actor=user,
            membership=request.membership,
            started_how=data["started_how"],
            session_preference=data["session_preference"],
            mediator_names=form.mediator_names(),
        ),
    )


@requires(Cap.CASES_HANDLE)
@require_http_methods(["GET", "POST"])
@_acting()
def session_new(request: HttpRequest, case: Case, mediation: Mediation) -> HttpResponse:
    form = SessionForm(request.POST or None)
    return _handle(
        request,
        case,
        form,
        title=_("Record a mediation session"),
        done=_("Session recorded."),
        action=lambda data: services.record_session(
            mediation,
            actor=request.user,
            membership=request.membership,
            held_at=data["held_at"],
            place=data["place"],
            attendees=data["attendees"],
            record=data["record"],
        ),
    )


def _initial_parties(case: Case) -> list[dict[str, str]]:
    # Names and roles only: ID numbers and addresses are typed from the parties' documents,
    # so the form never shows an unmasked identifier to someone who may not reveal it.
    parties = [
        {"name": party.name, "role": party.get_role_display()} for party in case.parties.all()
    ]
    while len(parties) < 2:
        parties.append({})
    return parties


@requires(Cap.CASES_HANDLE)
@require_http_methods(["GET", "POST"])
@_acting()
def agreement_new(request: HttpRequest, case: Case, mediation: Mediation) -> HttpResponse:
    data = request.POST or None
    form = AgreementEntryForm(data)
    formset = PartyFormSet(data, prefix="party", initial=None if data else _initial_parties(case))

    def record(cleaned: dict) -> Agreement:
        entry = services.AgreementData(
            form=cleaned["form"],
            parties=[
                services.AgreementParty(**party.cleaned_data)
                for party in formset.forms
                if party.cleaned_data and party.cleaned_data.get("name")
            ],
            facts=cleaned["facts"],
            disputed_matters=cleaned["disputed_matters"],
            responsibilities=cleaned["responsibilities"],
            terms=cleaned["terms"],
            performance=cleaned["performance"],
            performance_deadline=cleaned["performance_deadline"],
            performed_immediately=cleaned["performed_immediately"],
            signed_on=cleaned["signed_on"],
            party_requested_written=cleaned["party_requested_written"],
        )
        return services.record_agreement(
            mediation, actor=request.user, membership=request.membership, data=entry
        )

    def done(agreement: Agreement) -> str:
        if agreement.form == AgreementForm.WRITTEN:
            return _("Agreement %(number)s recorded; download it to print and sign.") % {
                "number": agreement.number
            }
        return _("Oral agreement recorded.")

    return _handle(
        request,
        case,
        form,
        title=_("Record the mediation agreement"),
        action=record,
        done=done,
        formset=formset,
        template="mediation/agreement_form.html",
    )


@requires(Cap.CASES_HANDLE)
@require_http_methods(["GET", "POST"])
@_acting()
def failure_new(request: HttpRequest, case: Case, mediation: Mediation) -> HttpResponse:
    form = FailureForm(request.POST or None)
    return _handle(
        request,
        case,
        form,
        title=_("End mediation without agreement"),
        intro=_(
            "A termination notice is issued telling the parties the other routes open to them."
        ),
        done=_("Mediation ended; the termination notice is ready."),
        action=lambda data: services.record_failure(
            mediation,
            actor=request.user,
            membership=request.membership,
            reason_kind=data["reason_kind"],
            reason=data["reason"],
            routes=data["routes"],
            terminated_on=data["terminated_on"],
        ),
    )


@requires(Cap.CASES_HANDLE)
@require_http_methods(["GET", "POST"])
@_acting()
def visit_new(request: HttpRequest, case: Case, mediation: Mediation) -> HttpResponse:
    pending = list(FollowUpVisit.objects.filter(mediation=mediation).pending())
    if not pending:
        messages.info(request, _("No follow-up visit is waiting to be recorded."))
        return redirect("mediation:detail", case.code)
    form = VisitForm(request.POST or None, visits=pending)
    by_id = {str(visit.public_id): visit for visit in pending}
    return _handle(
        request,
        case,
        form,
        title=_("Record a follow-up visit"),
        done=_("Visit recorded."),
        action=lambda data: services.record_visit(
            by_id[data["visit"]],
            actor=request.user,
            membership=request.membership,
            performed=data["performed"],
            notes=data["notes"],
        ),
    )


@requires(Cap.CASES_HANDLE)
@require_http_methods(["GET", "POST"])
@_acting()
def confirmation_apply(request: HttpRequest, case: Case, mediation: Mediation) -> HttpResponse:
    form = ConfirmationForm(request.POST or None)
    intro = ""
    if mediation.confirmation_deadline:
        intro = _("The parties may apply until %(date)s (30 days from the agreement).") % {
            "date": mediation.confirmation_deadline.isoformat()
        }
    return _handle(
        request,
        case,
        form,
        title=_("Record the application for judicial confirmation"),
        intro=intro,
        done=_("Application for judicial confirmation recorded."),
        action=lambda data: services.record_judicial_confirmation(
            mediation,
            actor=request.user,
            membership=request.membership,
            court=data["court"],
            applied_on=data["applied_on"],
        ),
    )


@requires(Cap.CASES_HANDLE)
@require_http_methods(["GET", "POST"])
@_acting()
def confirmation_decide(request: HttpRequest, case: Case, mediation: Mediation) -> HttpResponse:
    form = DecisionForm(request.POST or None)
    return _handle(
        request,
        case,
        form,
        title=_("Record the court's decision"),
        done=_("Court decision recorded."),
        action=lambda data: services.record_confirmation_decision(
            mediation,
            actor=request.user,
            membership=request.membership,
            confirmed=data["confirmed"],
            decided_on=data["decided_on"],
        ),
    )


@requires(Cap.CASES_HANDLE)
@require_http_methods(["GET", "POST"])
@_acting()
def flag_violent(request: HttpRequest, case: Case, mediation: Mediation) -> HttpResponse:
    form = ViolentForm(request.POST or None)
    return _handle(
        request,
        case,
        form,
        title=_("Report a risk of violence"),
        done=_("The police station and the town command room have been told."),
        action=lambda data: services.flag_may_turn_violent(
            mediation, actor=request.user, membership=request.membership, reason=data["reason"]
        ),
    )


# --- documents -----------------------------------------------------------------------------------


def _pdf_download(
    request: HttpRequest, case: Case, document: Any, content: bytes, *, action: str, name: str
) -> HttpResponse:
    """The document as an attachment, its download audited (it carries the parties' particulars)."""
    audit.record(action, request=request, obj=document, detail={"case": case.code})
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}-{case.code}.pdf"'
    # The documents carry the parties' ID numbers: never kept by a browser or proxy cache.
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@requires(Cap.CASES_REVEAL)
@require_http_methods(["GET"])
def agreement_pdf(request: HttpRequest, case_code: str) -> HttpResponse:
    """The 人民调解协议书 as a download (audited: it shows the parties' full particulars)."""
    case = _case(request, case_code)
    agreement = (
        Agreement.objects.filter(mediation__case=case, form=AgreementForm.WRITTEN)
        .select_related("mediation__committee", "mediation__case")
        .first()
    )
    if agreement is None:
        messages.warning(request, _("There is no written agreement for this case yet."))
        return redirect("mediation:detail", case.code)
    content = pdf.agreement_pdf(agreement)
    return _pdf_download(
        request, case, agreement, content, action="mediation.agreement_downloaded", name="agreement"
    )


@requires(Cap.CASES_REVEAL)
@require_http_methods(["GET"])
def termination_pdf(request: HttpRequest, case_code: str) -> HttpResponse:
    """The 终止调解告知书 as a download (audited: it names the parties)."""
    case = _case(request, case_code)
    termination = (
        Termination.objects.filter(mediation__case=case)
        .select_related("mediation__committee", "mediation__case")
        .first()
    )
    if termination is None:
        messages.warning(request, _("Mediation of this case has not been terminated."))
        return redirect("mediation:detail", case.code)
    content = pdf.termination_pdf(termination)
    return _pdf_download(
        request,
        case,
        termination,
        content,
        action="mediation.termination_downloaded",
        name="termination",
    )
