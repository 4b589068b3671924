"""Operator mode (接报): a phone, letter or walk-in tip filed by staff on the reporter's behalf.

The tip is filed through the same service as the web form, with the operator's membership, so
it is audited as operator intake and routed, sealed and clocked like any other. The receipt is
shown once, on the answer to the POST, for the operator to read out or write back; it is not
stored and cannot be shown again.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from fengqiao.accounts.roles import Cap
from fengqiao.core.access import requires
from fengqiao.tips import services
from fengqiao.tips.forms import IntakeForm, accused_formset
from fengqiao.tips.models import Tip
from fengqiao.tips.views.public import picker_context
from fengqiao.tips.views.submission import apply_service_errors, submit_from_forms


def _context(form: IntakeForm, accused: Any) -> dict[str, Any]:
    return {
        "form": form,
        "accused": accused,
        **picker_context(form),
    }


@requires(Cap.TIPS_INTAKE)
@require_http_methods(["GET", "POST"])
def operator_intake(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        form, accused = IntakeForm(), accused_formset()
        return render(request, "tips/intake.html", _context(form, accused))
    form, accused = IntakeForm(request.POST, request.FILES), accused_formset(request.POST)
    if form.is_valid() and accused.is_valid():
        try:
            submission = submit_from_forms(
                form, accused, channel=form.cleaned_data["channel"], operator=request.membership
            )
        except services.TipNotFound as exc:
            raise Http404 from exc
        except ValidationError as exc:
            apply_service_errors(form, accused, exc)
        else:
            tip = submission.tip
            visible = Tip.objects.visible_to(request.membership).filter(pk=tip.pk)
            context = {
                "tip": tip,
                "groups": submission.receipt.split("-"),
                "receipt": submission.receipt,
                "can_open": visible.exists(),
            }
            return render(request, "tips/intake_receipt.html", context)
    return render(request, "tips/intake.html", _context(form, accused), status=400)
