"""Staff intake (登记/上报): the grid worker's phone form and the command-room operator's form.

Both build one ``IntakeData`` and call ``services.report_case`` with the acting membership;
the case, its parties and its photos are written in one transaction, so a refused photo leaves
no case behind.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from fengqiao.accounts.roles import Cap
from fengqiao.cases import services
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.forms import OperatorIntakeForm, PartyFormSet, StaffIntakeForm
from fengqiao.cases.models import Case, Channel
from fengqiao.core.access import requires
from fengqiao.regions.models import LEVEL_ORDER, Region

# How far below their own region staff pick from a list (a city's 2,000 villages are found
# from the place text instead).
PICK_DEPTH = 2


def pickable_regions(membership: Any) -> list[Region]:
    """The membership's own region and the levels just below it, in tree order."""
    own = membership.unit.region
    index = LEVEL_ORDER.index(own.level)
    levels = LEVEL_ORDER[index : index + PICK_DEPTH + 1]
    return list(Region.objects.within(own.scope_prefix).filter(level__in=levels).order_by("code"))


def _intake(
    request: HttpRequest, *, form_class: type[StaffIntakeForm], template: str, channel: str | None
) -> HttpResponse:
    membership = request.membership
    regions = pickable_regions(membership)
    initial = {"region_code": membership.unit.region.code}
    if request.method == "POST":
        form = form_class(request.POST, request.FILES, regions=regions, initial=initial)
        parties = PartyFormSet(request.POST, prefix="party")
        if form.is_valid() and parties.is_valid():
            try:
                case = _report(request, form.cleaned_data, parties.parties(), channel)
            except WorkflowError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                return _after_intake(request, case)
        status = 400
    else:
        form = form_class(regions=regions, initial=initial)
        parties = PartyFormSet(prefix="party")
        status = 200
    return render(request, template, {"form": form, "parties": parties}, status=status)


def _report(
    request: HttpRequest, data: dict[str, Any], parties: list[dict[str, str]], channel: str | None
) -> Case:
    intake = services.IntakeData(
        category=data["category"],
        channel=channel or data["channel"],
        title=data["title"],
        description=data["description"],
        place_text=data["place_text"],
        latitude=data["latitude"],
        longitude=data["longitude"],
        region_code=data["region_code"].code if data["region_code"] else None,
        severity=data["severity"],
        urgency=data["urgency"],
        people_count=data["people_count"],
        amount=data.get("amount"),
        occurred_at=data["occurred_at"],
        external_ref=data.get("external_ref", ""),
        parties=[services.PartyData(**party) for party in parties],
        may_turn_violent=data["may_turn_violent"],
        uploads=list(data["photos"]),
    )
    return services.report_case(data=intake, actor=request.user, membership=request.membership)


def _after_intake(request: HttpRequest, case: Case) -> HttpResponse:
    messages.success(request, _("Case %(code)s was reported.") % {"code": case.code})
    # Routing may have placed it outside the reporter's own region (a place text elsewhere).
    if Case.objects.visible_to(request.membership).filter(pk=case.pk).exists():
        return redirect("cases:detail", case_code=case.code)
    return redirect("cases:list")


@requires(Cap.CASES_REPORT)
@require_http_methods(["GET", "POST"])
def grid_intake(request: HttpRequest) -> HttpResponse:
    """The grid worker's form (网格员上报): phone-first, location button, photos."""
    return _intake(
        request,
        form_class=StaffIntakeForm,
        template="cases/intake_grid.html",
        channel=Channel.GRID_APP,
    )


@requires(Cap.CASES_REPORT)
@require_http_methods(["GET", "POST"])
def operator_intake(request: HttpRequest) -> HttpResponse:
    """The command-room form (登记): walk-in, phone, 12345 and referrals, with parties."""
    return _intake(
        request, form_class=OperatorIntakeForm, template="cases/intake_operator.html", channel=None
    )
