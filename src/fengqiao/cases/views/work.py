"""Staff work pages: workbench queues, the case list with filters, the case page and its actions.

Every read starts from ``Case.objects.visible_to(request.membership)``: a case outside the
membership's region answers 404 exactly like a missing one. Every change is one service call;
a refusal (``WorkflowError``) is shown in Chinese and nothing is half-saved (services are atomic).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from fengqiao.accounts.roles import Cap
from fengqiao.cases import exports, services
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.forms import (
    AssignForm,
    AttachmentForm,
    CaseFilterForm,
    EmptyForm,
    EscalateForm,
    ExtensionRequestForm,
    FeedbackForm,
    MetricsForm,
    NoteForm,
    OptionalReasonForm,
    ReasonForm,
    SkipEscalateForm,
    SuperviseForm,
    VisitForm,
)
from fengqiao.cases.models import Action, Case, CaseKind, Party, Status, StatusChange
from fengqiao.core import audit
from fengqiao.core.access import requires
from fengqiao.core.masking import mask_id_number, mask_phone
from fengqiao.regions.models import Unit
from fengqiao.regions.views import require_region_in_scope

PAGE_SIZE = 50


# --- queues and lists -------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueDef:
    label: Promise
    select: Callable[[Any, Any], Any]  # (visible queryset, membership) → queue queryset


# The workbench queues (cases.apps registers their counts, linking to ``cases:queue`` with these
# keys): the membership's own unit's work, with the same querysets as the counts.
QUEUES: dict[str, QueueDef] = {
    "to-accept": QueueDef(gettext_lazy("To accept"), lambda qs, m: qs.to_accept(m.unit_id)),
    "to-assign": QueueDef(gettext_lazy("To assign"), lambda qs, m: qs.to_assign(m.unit_id)),
    "to-sign": QueueDef(gettext_lazy("To sign"), lambda qs, m: qs.to_sign(m.unit_id)),
    "in-progress": QueueDef(gettext_lazy("In progress"), lambda qs, m: qs.in_progress(m.unit_id)),
    "due-soon": QueueDef(gettext_lazy("Due soon"), lambda qs, m: qs.due_soon_for(m.unit_id)),
    "overdue": QueueDef(gettext_lazy("Overdue"), lambda qs, m: qs.overdue_for(m.unit_id)),
    "to-verify": QueueDef(gettext_lazy("To verify"), lambda qs, m: qs.to_verify(m.unit_id)),
    "to-visit": QueueDef(gettext_lazy("Follow-up visits"), lambda qs, m: qs.to_visit(m.unit_id)),
}


def queue_queryset(key: str, membership: Any):
    """The cases of one workbench queue for a membership (also what the workbench counts)."""
    return QUEUES[key].select(Case.objects.visible_to(membership), membership)


def _page(request: HttpRequest, cases) -> Any:
    # The paginator's COUNT plus one page of rows; for_table() joins what the rows show.
    return Paginator(cases.for_table().order_by("-reported_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )


def _list_context(request: HttpRequest, page: Any) -> dict[str, Any]:
    query = request.GET.copy()
    query.pop("page", None)
    return {"page": page, "query": query.urlencode(), "now": timezone.now()}


@requires(Cap.CASES_VIEW)
@require_GET
def queue(request: HttpRequest, queue: str) -> HttpResponse:
    if queue not in QUEUES:
        raise Http404
    page = _page(request, queue_queryset(queue, request.membership))
    context = {
        **_list_context(request, page),
        "title": QUEUES[queue].label,
        "queues": [(key, q.label) for key, q in QUEUES.items()],
        "current_queue": queue,
    }
    return render(request, "cases/case_list.html", context)


@requires(Cap.CASES_VIEW)
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    """All visible cases, filtered (status, kind, category, region subtree, dates, overdue,
    supervision)."""
    form = CaseFilterForm(request.GET or None)
    cases = Case.objects.visible_to(request.membership).apply_filters(**form.filters())
    page = _page(request, cases)
    membership = request.membership
    context = {
        **_list_context(request, page),
        "title": _("Cases"),
        "form": form,
        "queues": [(key, q.label) for key, q in QUEUES.items()],
        "can_export": membership.can(Cap.CASES_EXPORT),
        "can_report": membership.can(Cap.CASES_REPORT),
    }
    return render(request, "cases/case_list.html", context)


# --- the case page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionDef:
    label: Promise
    form: type
    # (case, actor, membership, cleaned data) → the service call
    run: Callable[..., Any]
    style: str = "primary"


def _escalate_skip_levels(case: Case) -> list[str]:
    from fengqiao.regions.models import LEVEL_ORDER, Level

    level = Level.VILLAGE if case.level == Level.GRID else case.level
    index = LEVEL_ORDER.index(level)
    return [lvl for lvl in LEVEL_ORDER[1 : max(1, index - 1)]]


ACTIONS: dict[str, ActionDef] = {
    Action.ACCEPT: ActionDef(
        gettext_lazy("Accept"),
        EmptyForm,
        lambda c, a, m, d: services.accept_case(c, actor=a, membership=m),
    ),
    Action.ASSIGN: ActionDef(
        gettext_lazy("Assign to a unit"),
        AssignForm,
        lambda c, a, m, d: services.assign_case(
            c, actor=a, membership=m, unit=d["unit"], note=d["note"]
        ),
    ),
    Action.SIGN: ActionDef(
        gettext_lazy("Sign for it"),
        EmptyForm,
        lambda c, a, m, d: services.sign_case(c, actor=a, membership=m),
    ),
    Action.RETURN: ActionDef(
        gettext_lazy("Return (not ours)"),
        ReasonForm,
        lambda c, a, m, d: services.return_case(c, actor=a, membership=m, reason=d["reason"]),
        "outline-secondary",
    ),
    Action.ESCALATE: ActionDef(
        gettext_lazy("Escalate one level"),
        EscalateForm,
        lambda c, a, m, d: services.escalate_case(c, actor=a, membership=m, reason=d["reason"]),
        "outline-warning",
    ),
    Action.ESCALATE_SKIP: ActionDef(
        gettext_lazy("Escalate past a level"),
        SkipEscalateForm,
        lambda c, a, m, d: services.escalate_case(
            c,
            actor=a,
            membership=m,
            reason=d["reason"],
            skip=True,
            target_level=d["target_level"],
        ),
        "outline-warning",
    ),
    Action.REQUEST_EXTENSION: ActionDef(
        gettext_lazy("Ask for more time"),
        ExtensionRequestForm,
        lambda c, a, m, d: services.request_extension(
            c, actor=a, membership=m, days=d["days"], reason=d["reason"]
        ),
        "outline-secondary",
    ),
    Action.APPROVE_EXTENSION: ActionDef(
        gettext_lazy("Approve the extension"),
        OptionalReasonForm,
        lambda c, a, m, d: services.decide_extension(
            c, actor=a, membership=m, approve=True, reason=d["reason"]
        ),
    ),
    Action.DECLINE_EXTENSION: ActionDef(
        gettext_lazy("Decline the extension"),
        OptionalReasonForm,
        lambda c, a, m, d: services.decide_extension(
            c, actor=a, membership=m, approve=False, reason=d["reason"]
        ),
        "outline-danger",
    ),
    Action.SUSPEND: ActionDef(
        gettext_lazy("Suspend"),
        ReasonForm,
        lambda c, a, m, d: services.suspend_case(c, actor=a, membership=m, reason=d["reason"]),
        "outline-secondary",
    ),
    Action.RESUME: ActionDef(
        gettext_lazy("Resume"),
        EmptyForm,
        lambda c, a, m, d: services.resume_case(c, actor=a, membership=m),
    ),
    Action.FEEDBACK: ActionDef(
        gettext_lazy("Report completion"),
        FeedbackForm,
        lambda c, a, m, d: services.submit_feedback(
            c,
            actor=a,
            membership=m,
            method=d["method"],
            resolved=d["resolved"],
            summary=d["summary"],
        ),
    ),
    Action.VERIFY_PASS: ActionDef(
        gettext_lazy("Verified: close the case"),
        OptionalReasonForm,
        lambda c, a, m, d: services.verify_case(
            c, actor=a, membership=m, passed=True, reason=d["reason"]
        ),
        "success",
    ),
    Action.VERIFY_FAIL: ActionDef(
        gettext_lazy("Not verified: back to handling"),
        ReasonForm,
        lambda c, a, m, d: services.verify_case(
            c, actor=a, membership=m, passed=False, reason=d["reason"]
        ),
        "outline-danger",
    ),
    Action.REJECT: ActionDef(
        gettext_lazy("Reject as invalid"),
        ReasonForm,
        lambda c, a, m, d: services.reject_case(c, actor=a, membership=m, reason=d["reason"]),
        "outline-danger",
    ),
    Action.REOPEN: ActionDef(
        gettext_lazy("Reopen"),
        ReasonForm,
        lambda c, a, m, d: services.reopen_case(c, actor=a, membership=m, reason=d["reason"]),
        "outline-warning",
    ),
    Action.SUPERVISE: ActionDef(
        gettext_lazy("Supervise"),
        SuperviseForm,
        lambda c, a, m, d: services.supervise_case(
            c, actor=a, membership=m, level=d["level"], reason=d["reason"]
        ),
        "outline-danger",
    ),
    Action.VISIT: ActionDef(
        gettext_lazy("Record the follow-up visit"),
        VisitForm,
        lambda c, a, m, d: services.record_visit(
            c, actor=a, membership=m, satisfaction=d["satisfaction"], comment=d["comment"]
        ),
    ),
    Action.RISK_FLAG: ActionDef(
        gettext_lazy("May turn violent: tell the police"),
        ReasonForm,
        lambda c, a, m, d: services.mark_may_turn_violent(
            c, actor=a, membership=m, reason=d["reason"]
        ),
        "outline-danger",
    ),
}


def visible_case_or_404(request: HttpRequest, case_code: str) -> Case:
    case = (
        Case.objects.visible_to(request.membership)
        .select_related(
            "category", "region", "owner_unit", "handler_unit", "supervised_by", "clock_policy"
        )
        .filter(code=case_code)
        .first()
    )
    if case is None:
        raise Http404
    return case


def _assignable_units(case: Case) -> list[Unit]:
    """Units inside the owner unit's own region, other than the owner itself.

    Only what the choice list shows: a county's list runs to some 3,500 units, and whole rows
    with their regions cost a county dispatcher's case page ≈ 100 ms (AssignForm reads the
    chosen unit in full)."""
    return list(
        Unit.objects.visible_to(case.owner_unit.region)
        .active()
        .exclude(pk=case.owner_unit_id)
        .only("id", "public_id", "name")
        .order_by("region_code", "kind", "name")
    )


def _action_form(action: str, case: Case, data: Any = None) -> Any:
    definition = ACTIONS[action]
    prefix = f"act-{action}"
    if definition.form is AssignForm:
        return AssignForm(data, prefix=prefix, units=_assignable_units(case))
    form = definition.form(data, prefix=prefix)
    if definition.form is SkipEscalateForm:
        levels = _escalate_skip_levels(case)
        form.fields["target_level"].choices = [
            choice for choice in form.fields["target_level"].choices if choice[0] in levels
        ]
    return form


def _mediation_panel_url(case: Case) -> str | None:
    """The mediation panel of a dispute, when the mediation pages are installed."""
    if case.kind != CaseKind.DISPUTE:
        return None
    try:
        return reverse("mediation:panel", kwargs={"case_code": case.code})
    except NoReverseMatch:
        return None


def _masked_parties(case: Case) -> list[dict[str, Any]]:
    return [
        {
            "party": party,
            "id_number": mask_id_number(party.id_number_tail) if party.id_number_tail else "",
            "phone": mask_phone(party.phone_tail) if party.phone_tail else "",
        }
        for party in Party.objects.filter(case=case).order_by("id")
    ]


TIMELINE_COLUMNS = (
    "action",
    "from_status",
    "to_status",
    "at",
    "on_time",
    "reason",
    "actor",
    "actor__full_name",
    "actor__username",
    "actor_unit",
    "actor_unit__name",
    "to_unit",
    "to_unit__name",
)
NOTE_COLUMNS = (
    "case",
    "created_at",
    "body",
    "is_public",
    "author",
    "author__full_name",
    "author__username",
    "author_unit",
    "author_unit__name",
)


def render_case_page(
    request: HttpRequest,
    case: Case,
    *,
    bound: dict[str, Any] | None = None,
    note_form: NoteForm | None = None,
    attachment_form: AttachmentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    membership = request.membership
    bound = bound or {}
    actions = [
        {
            "key": action,
            "definition": ACTIONS[action],
            "form": bound.get(action) or _action_form(action, case),
            "open": action in bound,
        }
        for action in services.available_actions(case, membership)
        if action in ACTIONS
    ]
    # The timeline and notes read only the columns they show: whole rows of every user and unit
    # named (password hashes among them) were most of the model building on a case page.
    changes = (
        StatusChange.objects.filter(case=case)
        .select_related("actor", "actor_unit", "to_unit")
        .only(*TIMELINE_COLUMNS)
        .order_by("at", "id")
    )
    now = timezone.now()
    context = {
        "case": case,
        "now": now,
        "clock": _clock_state(case, now),
        "changes": changes,
        "parties": _masked_parties(case),
        "can_reveal": membership.can(Cap.CASES_REVEAL),
        "can_work": membership.can(Cap.CASES_HANDLE),
        "notes": case.notes.select_related("author", "author_unit")
        .only(*NOTE_COLUMNS)
        .order_by("created_at", "id"),
        "attachments": case.attachments.order_by("created_at", "id"),
        "note_form": note_form or NoteForm(),
        "attachment_form": attachment_form or AttachmentForm(),
        "same_party": list(services.same_party_cases(case, membership=membership).for_table()[:20]),
        "mediation_panel_url": _mediation_panel_url(case),
        "actions": actions,
    }
    return render(request, "cases/case_detail.html", context, status=status)


def _clock_state(case: Case, now) -> dict[str, Any]:
    """Which limit applies now and whether it is due soon or passed (for the header badges)."""
    if case.status == Status.REPORTED:
        due, red, label = case.accept_due_at, case.accept_red_at, _("Accept by")
    elif case.status in (Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS):
        due, red, label = case.handle_due_at, case.handle_red_at, _("Handle by")
    else:
        return {"label": None}
    window = timedelta(hours=case.clock_policy.due_soon_hours)
    return {
        "label": label,
        "due": due,
        "red": red,
        "overdue": bool(due and due < now),
        "red_passed": bool(red and red < now),
        "due_soon": bool(due and now <= due < now + window),
    }


@requires(Cap.CASES_VIEW)
@require_GET
def case_detail(request: HttpRequest, case_code: str) -> HttpResponse:
    return render_case_page(request, visible_case_or_404(request, case_code))


@requires(Cap.CASES_VIEW)
@require_POST
def case_act(request: HttpRequest, case_code: str) -> HttpResponse:
    """One workflow action, named by the ``action`` field; only those offered to this
    membership now. Supervisors act here too, so the gate is ``cases.view`` and the service
    decides who may do what."""
    case = visible_case_or_404(request, case_code)
    action = request.POST.get("action", "")
    if action not in ACTIONS or action not in services.available_actions(case, request.membership):
        messages.error(request, _("This action is not available on this case now."))
        return redirect("cases:detail", case_code=case.code)
    form = _action_form(action, case, request.POST)
    if not form.is_valid():
        return render_case_page(request, case, bound={action: form}, status=400)
    try:
        ACTIONS[action].run(case, request.user, request.membership, form.cleaned_data)
    except WorkflowError as exc:
        if exc.field and exc.field in form.fields:
            form.add_error(exc.field, exc.message)
        else:
            form.add_error(None, exc.message)
        return render_case_page(request, case, bound={action: form}, status=400)
    messages.success(
        request,
        _("%(action)s: done for case %(code)s.")
        % {"action": ACTIONS[action].label, "code": case.code},
    )
    # After handing a case over it may have left this membership's region (escalation).
    if not Case.objects.visible_to(request.membership).filter(pk=case.pk).exists():
        return redirect("cases:list")
    return redirect("cases:detail", case_code=case.code)


@requires(Cap.CASES_HANDLE)
@require_POST
def add_note(request: HttpRequest, case_code: str) -> HttpResponse:
    case = visible_case_or_404(request, case_code)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.add_note(
                case,
                actor=request.user,
                membership=request.membership,
                body=form.cleaned_data["body"],
                is_public=form.cleaned_data["is_public"],
            )
        except WorkflowError as exc:
            form.add_error("body" if exc.field == "body" else None, exc.message)
        else:
            messages.success(request, _("The note was added."))
            return redirect("cases:detail", case_code=case.code)
    return render_case_page(request, case, note_form=form, status=400)


@requires(Cap.CASES_REVEAL)
@require_POST
def reveal(request: HttpRequest, case_code: str, party_id: Any) -> HttpResponse:
    """The unmasked value of one party field as an htmx fragment; audited by the service."""
    case = visible_case_or_404(request, case_code)
    party = Party.objects.filter(case=case, public_id=party_id).select_related("case").first()
    if party is None:
        raise Http404
    field = request.POST.get("field", "")
    try:
        value = services.reveal_party_field(
            party, actor=request.user, membership=request.membership, field=field
        )
    except WorkflowError as exc:
        return render(request, "cases/_revealed.html", {"error": exc.message}, status=403)
    return render(request, "cases/_revealed.html", {"value": value})


# --- export -----------------------------------------------------------------------------------


@requires(Cap.CASES_EXPORT)
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    """The filtered, visible list as .xlsx (same filters as the list page); audited."""
    form = CaseFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        messages.error(request, _("Correct the filters before exporting."))
        return redirect(f"{reverse('cases:list')}?{request.GET.urlencode()}")
    filters = form.filters()
    cases = (
        Case.objects.visible_to(request.membership)
        .apply_filters(**filters)
        .for_list()
        .order_by("-reported_at", "-id")
    )
    count = cases.count()
    if count > exports.MAX_ROWS:
        messages.error(
            request,
            _("%(count)d cases match; narrow the filters to at most %(max)d to export.")
            % {"count": count, "max": exports.MAX_ROWS},
        )
        return redirect(f"{reverse('cases:list')}?{request.GET.urlencode()}")
    content = exports.cases_workbook(cases)
    audit.record(
        "cases.exported",
        request=request,
        detail={"count": count, "filters": {key: str(value) for key, value in filters.items()}},
    )
    response = HttpResponse(content, content_type=exports.XLSX_CONTENT_TYPE)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="cases-{stamp}.xlsx"'
    response["Cache-Control"] = "no-store"
    return response


# --- metrics ----------------------------------------------------------------------------------

METRIC_ROWS = (
    ("accepted_on_time", gettext_lazy("Accepted on time")),
    ("closed_on_time", gettext_lazy("Closed on time")),
    ("resolved", gettext_lazy("Resolution rate")),
    ("satisfied", gettext_lazy("Satisfaction rate")),
    ("returned", gettext_lazy("Return rate")),
    ("skipped_level", gettext_lazy("Skip-level escalation rate")),
    ("disputes_at_village", gettext_lazy("Disputes settled in the village")),
    ("disputes_at_or_below_town", gettext_lazy("Disputes settled at town level or below")),
)


@requires(Cap.CASES_METRICS)
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The rates of a region in the membership's scope over a period, with their counts."""
    from fengqiao.cases import metrics
    from fengqiao.cases.views.intake import pickable_regions

    require_region_in_scope(request.membership, request.GET.get("region"))
    today = timezone.localdate()
    form = MetricsForm(
        request.GET
        or {
            "region": request.membership.unit.region.code,
            "since": today.replace(day=1),
            "until": today,
        },
        regions=pickable_regions(request.membership),
    )
    rows, result = [], None
    if form.is_valid():
        data = form.cleaned_data
        tz = timezone.get_current_timezone()
        start = datetime.combine(data["since"], time.min, tzinfo=tz)
        end = datetime.combine(data["until"] + timedelta(days=1), time.min, tzinfo=tz)
        result = metrics.case_metrics(data["region"].scope_prefix, start, end)
        rows = [(label, getattr(result, key)) for key, label in METRIC_ROWS]
    return render(request, "cases/metrics.html", {"form": form, "rows": rows, "result": result})
