"""Staff pages of the tip line: the list, the sealed tip, its workflow steps, messages, notes,
files and the two-person reveal of a real-name reporter.

Every read starts from ``Tip.objects.visible_to(request.membership)`` — need to know: the tips
assigned or routed to the membership's own unit, never merely those of its region, and never one
that names officials at or above the unit's seat. Anything else answers 404, exactly like a
missing tip. The list shows no content (nothing is decrypted there); the tip page opens the tip
through ``services.open_tip``, which audits every open. Every change is one service call; the
service checks the state and whose step it is, and its refusal is shown in Chinese.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from fengqiao.accounts.roles import Cap
from fengqiao.core.access import requires
from fengqiao.regions.models import Level, Region, Unit
from fengqiao.tips import routing, services
from fengqiao.tips.forms import (
    AcceptForm,
    AssignForm,
    CloseForm,
    DisposeForm,
    EmptyForm,
    FlagOfficialsForm,
    LinkCaseForm,
    MergeForm,
    MessageForm,
    NoteForm,
    RejectForm,
    RevealRequestForm,
    TransferForm,
    VerifyForm,
)
from fengqiao.tips.models import (
    TRIAGE_CLOCK_STATUSES,
    VERIFY_CLOCK_STATUSES,
    Action,
    RevealRequest,
    RevealStatus,
    Status,
    Tip,
    TipAttachment,
)

PAGE_SIZE = 50


def visible_tip_or_404(request: HttpRequest, tip_id: UUID) -> Tip:
    """The tip if this membership may see it; 404 whether it is missing, elsewhere or bypassed."""
    tip = Tip.objects.visible_to(request.membership).filter(public_id=tip_id).first()
    if tip is None:
        raise Http404
    return tip


# --- the list -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueDef:
    label: Promise
    select: Callable[[Any, Any], Any]  # (visible queryset, membership) → queue


QUEUES: dict[str, QueueDef] = {
    "open": QueueDef(gettext_lazy("All open"), lambda qs, m: qs.open()),
    "triage": QueueDef(gettext_lazy("To triage and assign"), lambda qs, m: qs.to_triage_by(m.unit)),
    "handling": QueueDef(gettext_lazy("Verifying here"), lambda qs, m: qs.handled_by(m.unit)),
    "carded": QueueDef(gettext_lazy("Overdue (carded)"), lambda qs, m: qs.open().carded()),
    "all": QueueDef(gettext_lazy("All, closed included"), lambda qs, m: qs),
}


@requires(Cap.TIPS_HANDLE)
@require_GET
def tip_list(request: HttpRequest) -> HttpResponse:
    """The tips this membership's unit sees, by queue, with their clocks and cards (no content)."""
    key = request.GET.get("queue", "open")
    if key not in QUEUES:
        raise Http404
    tips = QUEUES[key].select(Tip.objects.visible_to(request.membership), request.membership)
    tips = tips.select_related("region", "routed_unit", "assigned_unit").order_by(
        "-received_at", "-id"
    )
    page = Paginator(tips, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "queue": key,
        "queues": [(k, q.label) for k, q in QUEUES.items()],
        "today": timezone.localdate(),
        "triage_clock": set(TRIAGE_CLOCK_STATUSES),
        "verify_clock": set(VERIFY_CLOCK_STATUSES),
        "can_intake": request.membership.can(Cap.TIPS_INTAKE),
        "can_stats": request.membership.can(Cap.TIPS_STATS),
    }
    return render(request, "tips/tip_list.html", context)


# --- the tip page and its workflow steps --------------------------------------------------------


def receiving_units(tip: Tip, *, keep_assigned: bool = False) -> list[Unit]:
    """Units the tip may be assigned or transferred to: 公安, 扫黑办 or 纪委监委, active, inside
    the supervising office's area and not seated where the named officials are (with
    ``keep_assigned`` the unit holding it now too: the organ of a disposal may be that unit)."""
    routed = Unit.objects.select_related("region").filter(pk=tip.routed_unit_id).first()
    if routed is None:
        return []
    within = routed.scope_prefix
    candidates = (
        Unit.objects.active()
        .within(within)
        .filter(kind__in=routing.HANDLING_KINDS)
        .order_by("region_code", "kind", "name")
    )
    return [
        unit
        for unit in candidates
        if routing.may_receive(unit, bypass_prefix=tip.bypass_prefix, within=within)
        and (keep_assigned or unit.pk != tip.assigned_unit_id)
    ]


def officials_regions(tip: Tip) -> list[Region]:
    """The levels the named officials may work at: the tip's place and the regions above it."""
    codes = [*tip.region.ancestor_codes, tip.region.code]
    regions = Region.objects.filter(code__in=codes).exclude(level__in=(Level.PROVINCE, Level.GRID))
    return sorted(regions, key=lambda region: -len(region.code))


def _merge_target(tip: Tip, membership: Any, reference: str) -> Tip:
    """The earlier tip named by its reference, among the tips this membership sees."""
    target = (
        Tip.objects.visible_to(membership).filter(reference=reference).exclude(pk=tip.pk).first()
    )
    if target is None:
        raise ValidationError({"target": [_("No tip you can see has this reference.")]})
    return target


@dataclass(frozen=True)
class ActionDef:
    label: Promise
    form: type
    run: Callable[[Tip, Any, dict[str, Any]], Any]  # (tip, membership, cleaned data)
    style: str = "primary"


ACTIONS: dict[str, ActionDef] = {
    Action.ACCEPT: ActionDef(
        gettext_lazy("Accept: gang-related"),
        AcceptForm,
        lambda t, m, d: services.accept_tip(t, membership=m, category=d["category"]),
    ),
    Action.MERGE: ActionDef(
        gettext_lazy("Merge into an earlier tip"),
        MergeForm,
        lambda t, m, d: services.merge_tip(t, into=_merge_target(t, m, d["target"]), membership=m),
        "outline-secondary",
    ),
    Action.REJECT: ActionDef(
        gettext_lazy("Reject: not gang-related"),
        RejectForm,
        lambda t, m, d: services.reject_tip(
            t, membership=m, reason=d["reason"], message_to_reporter=d["message_to_reporter"]
        ),
        "outline-danger",
    ),
    Action.FLAG_OFFICIALS: ActionDef(
        gettext_lazy("Officials involved: re-route around them"),
        FlagOfficialsForm,
        lambda t, m, d: services.flag_officials(
            t,
            membership=m,
            officials_region_code=d["officials_region_code"],
            officials_text=d["officials_text"],
        ),
        "outline-warning",
    ),
    Action.ASSIGN: ActionDef(
        gettext_lazy("Assign to a unit"),
        AssignForm,
        lambda t, m, d: services.assign_tip(t, membership=m, unit=d["unit"]),
    ),
    Action.TRANSFER: ActionDef(
        gettext_lazy("Transfer to another unit"),
        TransferForm,
        lambda t, m, d: services.transfer_tip(
            t, membership=m, to_unit=d["unit"], reason=d["reason"]
        ),
        "outline-secondary",
    ),
    Action.START_VERIFYING: ActionDef(
        gettext_lazy("Take up and start verifying"),
        EmptyForm,
        lambda t, m, d: services.start_verifying(t, membership=m),
    ),
    Action.VERIFY: ActionDef(
        gettext_lazy("Record the verification"),
        VerifyForm,
        lambda t, m, d: services.record_verification(
            t, membership=m, outcome=d["outcome"], summary=d["summary"]
        ),
    ),
    Action.DISPOSE: ActionDef(
        gettext_lazy("Record the disposal"),
        DisposeForm,
        lambda t, m, d: services.dispose_tip(
            t,
            membership=m,
            disposal=d["disposal"],
            unit=d["unit"],
            unit_name=d["unit_name"],
            charges=d["charges"],
            case_opened_on=d["case_opened_on"],
            note=d["note"],
        ),
    ),
    Action.CLOSE: ActionDef(
        gettext_lazy("Close the tip"),
        CloseForm,
        lambda t, m, d: services.close_tip(
            t, membership=m, opinion=d["opinion"], comment=d["comment"]
        ),
        "success",
    ),
}
# Field names the services use that the forms call otherwise.
_FORM_FIELD = {"to_unit": "unit", "outcome": "outcome", "into": "target", "comment": "comment"}


def _action_form(action: str, tip: Tip, data: Any = None) -> Any:
    form_class = ACTIONS[action].form
    prefix = f"act-{action}"
    if form_class in (AssignForm, TransferForm):
        return form_class(data, prefix=prefix, units=receiving_units(tip))
    if form_class is DisposeForm:
        return form_class(data, prefix=prefix, units=receiving_units(tip, keep_assigned=True))
    if form_class is FlagOfficialsForm:
        return form_class(data, prefix=prefix, regions=officials_regions(tip))
    if form_class is AcceptForm:
        return form_class(data, prefix=prefix, initial={"category": tip.category})
    return form_class(data, prefix=prefix)


def put_errors(form: Any, exc: Exception) -> None:
    """A service refusal onto a form: ``TipRefused`` as a form error, a ``ValidationError`` on the
    fields it names (or the form when it names none the form has)."""
    if isinstance(exc, services.TipRefused):
        form.add_error(None, exc.message)
        return
    assert isinstance(exc, ValidationError)
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, errors in exc.message_dict.items():
        name = _FORM_FIELD.get(key, key)
        form.add_error(name if name in form.fields else None, errors)


def _reveal_rows(tip: Tip, membership: Any) -> list[dict[str, Any]]:
    now = timezone.now()
    rows = []
    for reveal in RevealRequest.objects.filter(tip=tip).select_related(
        "requested_by", "requested_unit", "decided_by", "tip"
    ):
        rows.append(
            {
                "reveal": reveal,
                "mine": reveal.requested_by_id == membership.user_id,
                "pending": reveal.status == RevealStatus.PENDING,
                "usable": reveal.status == RevealStatus.APPROVED
                and reveal.requested_by_id == membership.user_id
                and reveal.expires_at is not None
                and reveal.expires_at > now,
            }
        )
    return rows


def render_tip_page(
    request: HttpRequest,
    tip: Tip,
    *,
    bound: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The tip page. Opening it is audited by ``services.open_tip`` every time it is shown."""
    membership = request.membership
    try:
        dossier = services.open_tip(tip, membership=membership)
    except services.TipNotFound as exc:
        raise Http404 from exc
    tip = dossier.tip
    bound = bound or {}
    allowed = set(dossier.allowed_actions)
    actions = [
        {
            "key": action,
            "definition": definition,
            "form": bound.get(action) or _action_form(action, tip),
            "open": action in bound,
        }
        for action, definition in ACTIONS.items()
        if action in allowed
    ]
    candidates = (
        services.candidates_for(tip, membership=membership)
        if Action.MERGE in allowed or tip.status == Status.RECEIVED
        else []
    )
    merged_into = (
        Tip.objects.visible_to(membership).filter(pk=tip.merged_into_id).first()
        if tip.merged_into_id
        else None
    )
    context = {
        "tip": tip,
        "dossier": dossier,
        "today": timezone.localdate(),
        "actions": actions,
        "candidates": candidates,
        "merged_into": merged_into,
        "pending_transfer": next((t for t in dossier.transfers if t.settled_at is None), None),
        "can_message": Action.MESSAGE in allowed,
        "can_note": Action.NOTE in allowed,
        "can_link": Action.CASE_LINKED in allowed,
        "can_request_reveal": Action.REVEAL_REQUESTED in allowed,
        # Prefixed: several forms on the page have a "body" or "reason" field.
        "message_form": bound.get("message") or MessageForm(prefix="message"),
        "note_form": bound.get("note") or NoteForm(prefix="note"),
        "link_form": bound.get("link") or LinkCaseForm(prefix="link"),
        "reveal_form": bound.get("reveal") or RevealRequestForm(prefix="reveal"),
        "reveals": _reveal_rows(tip, membership) if tip.is_real_name else [],
        "triage_clock": tip.status in TRIAGE_CLOCK_STATUSES,
        "verify_clock": tip.status in VERIFY_CLOCK_STATUSES,
    }
    return render(request, "tips/tip_detail.html", context, status=status)


@requires(Cap.TIPS_HANDLE)
@require_GET
def tip_detail(request: HttpRequest, tip_id: UUID) -> HttpResponse:
    return render_tip_page(request, visible_tip_or_404(request, tip_id))


def _after_change(request: HttpRequest, tip: Tip, done: str) -> HttpResponse:
    messages.success(request, done)
    # A re-route or transfer may take the tip out of this unit's sight.
    if not Tip.objects.visible_to(request.membership).filter(pk=tip.pk).exists():
        return redirect("tips:list")
    return redirect("tips:detail", tip_id=tip.public_id)


@requires(Cap.TIPS_HANDLE)
@require_POST
def tip_act(request: HttpRequest, tip_id: UUID) -> HttpResponse:
    """One workflow step, named by the ``action`` field; only those the service offers now."""
    tip = visible_tip_or_404(request, tip_id)
    action = request.POST.get("action", "")
    if action not in ACTIONS or action not in services.allowed_actions(tip, request.membership):
        messages.error(request, _("This step is not possible on this tip now."))
        return redirect("tips:detail", tip_id=tip.public_id)
    done = _("%(action)s: done for tip %(reference)s.") % {
        "action": ACTIONS[action].label,
        "reference": tip.reference,
    }
    return _submit(
        request,
        tip,
        key=action,
        form=_action_form(action, tip, request.POST),
        run=lambda tip, data: ACTIONS[action].run(tip, request.membership, data),
        done=done,
    )


def _submit(
    request: HttpRequest,
    tip: Tip,
    *,
    key: str,
    form: Any,
    run: Callable[[Tip, dict[str, Any]], Any],
    done: str,
) -> HttpResponse:
    """Run the step a valid form asks for; on a refusal, the tip page again with the form's
    errors under ``key`` (400)."""
    if form.is_valid():
        try:
            run(tip, form.cleaned_data)
        except services.TipNotFound as exc:
            raise Http404 from exc
        except (services.TipRefused, ValidationError) as exc:
            put_errors(form, exc)
        else:
            return _after_change(request, tip, done)
    return render_tip_page(request, tip, bound={key: form}, status=400)


def _simple_post(
    request: HttpRequest,
    tip_id: UUID,
    *,
    key: str,
    form_class: type,
    run: Callable[[Tip, dict[str, Any]], Any],
    done: Promise,
) -> HttpResponse:
    tip = visible_tip_or_404(request, tip_id)
    form = form_class(request.POST, prefix=key)
    return _submit(request, tip, key=key, form=form, run=run, done=str(done))


@requires(Cap.TIPS_HANDLE)
@require_POST
def send_message(request: HttpRequest, tip_id: UUID) -> HttpResponse:
    """A message to the reporter, who reads it with the receipt."""
    return _simple_post(
        request,
        tip_id,
        key="message",
        form_class=MessageForm,
        run=lambda tip, d: services.send_message(
            tip, membership=request.membership, body=d["body"]
        ),
        done=gettext_lazy("The message was sent to the reporter."),
    )


@requires(Cap.TIPS_HANDLE)
@require_POST
def add_note(request: HttpRequest, tip_id: UUID) -> HttpResponse:
    return _simple_post(
        request,
        tip_id,
        key="note",
        form_class=NoteForm,
        run=lambda tip, d: services.add_note(tip, membership=request.membership, body=d["body"]),
        done=gettext_lazy("The note was added."),
    )


@requires(Cap.TIPS_HANDLE)
@require_POST
def link_case(request: HttpRequest, tip_id: UUID) -> HttpResponse:
    return _simple_post(
        request,
        tip_id,
        key="link",
        form_class=LinkCaseForm,
        run=lambda tip, d: services.link_case(
            tip, membership=request.membership, case_code=d["case_code"]
        ),
        done=gettext_lazy("The tip was linked to the case."),
    )


@requires(Cap.TIPS_HANDLE)
@require_GET
def download(request: HttpRequest, tip_id: UUID, file_id: UUID) -> HttpResponse:
    """One file of the tip, through the authorising, audited service; always a download."""
    tip = visible_tip_or_404(request, tip_id)
    attachment = (
        TipAttachment.objects.filter(tip=tip, public_id=file_id).select_related("tip").first()
    )
    if attachment is None:
        raise Http404
    try:
        found = services.download_attachment(attachment, membership=request.membership)
    except services.TipNotFound as exc:
        raise Http404 from exc
    response = HttpResponse(found.content, content_type=found.content_type)
    response["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- revealing a real-name reporter (two people) ------------------------------------------------


@requires(Cap.TIPS_HANDLE)
@require_POST
def request_reveal(request: HttpRequest, tip_id: UUID) -> HttpResponse:
    return _simple_post(
        request,
        tip_id,
        key="reveal",
        form_class=RevealRequestForm,
        run=lambda tip, d: services.request_reveal(
            tip, membership=request.membership, reason=d["reason"]
        ),
        done=gettext_lazy("The request was recorded. Another person must approve it."),
    )


@requires(Cap.TIPS_HANDLE)
@require_POST
def decide_reveal(request: HttpRequest, tip_id: UUID, reveal_id: UUID) -> HttpResponse:
    """A second person approves or refuses; the service refuses the requester themself."""
    tip = visible_tip_or_404(request, tip_id)
    reveal = RevealRequest.objects.filter(tip=tip, public_id=reveal_id).first()
    decision = request.POST.get("decision", "")
    if reveal is None or decision not in ("approve", "refuse"):
        raise Http404
    try:
        services.decide_reveal(reveal, membership=request.membership, approve=decision == "approve")
    except services.TipNotFound as exc:
        raise Http404 from exc
    except services.TipRefused as exc:
        messages.error(request, exc.message)
        return redirect("tips:detail", tip_id=tip.public_id)
    done = (
        _("The request was approved.") if decision == "approve" else _("The request was refused.")
    )
    return _after_change(request, tip, done)


@requires(Cap.TIPS_HANDLE)
@require_POST
def reveal_identity(request: HttpRequest, tip_id: UUID) -> HttpResponse:
    """The reporter's name and contact, once per click, for the approved requester (audited)."""
    tip = visible_tip_or_404(request, tip_id)
    try:
        identity = services.reveal_reporter(tip, membership=request.membership)
    except services.TipNotFound as exc:
        raise Http404 from exc
    except services.TipRefused as exc:
        messages.error(request, exc.message)
        return redirect("tips:detail", tip_id=tip.public_id)
    return render(request, "tips/identity.html", {"tip": tip, "identity": identity})
