"""The reporter's pages (举报人端) under ``/tips/public/``: explanation, tip form, receipt, lookup.

No account and no trace (SECURITY 19). ``tips.middleware`` strips the client's address, agent,
referrer and session cookie before these views run; the views themselves set no cookie either:
no session, no messages framework, and no CSRF cookie — the forms are protected statelessly by
``antiforgery`` (same-origin fetch metadata plus a signed, time-limited form token). Every answer
is ``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer``; the layout
(``tips/public_base.html``) renders no CSRF token, language form or message list, which would
each set a cookie.

The receipt is never put in a URL (it would reach browser history and proxy logs): lookups and
replies are POSTs carrying it in the body, answered with the page directly. Every wrong receipt —
malformed, wrong check digit, unknown — gets the same page with the same message
(``WRONG_RECEIPT``), and the service does the same work for each (``services.find_by_receipt``).
Rate limits key nothing on the client: one bucket per route and one per receipt HMAC
(``tips.policy``); they fail closed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fengqiao.core import ratelimit
from fengqiao.core.access import public
from fengqiao.regions.models import Level, Region
from fengqiao.tips import policy, services
from fengqiao.tips.forms import (
    PICK_LEVELS,
    OpinionForm,
    ReceiptForm,
    ReplyForm,
    TipForm,
    accused_formset,
    incoming_files,
    root_region,
)
from fengqiao.tips.models import Category
from fengqiao.tips.views import antiforgery
from fengqiao.tips.views.submission import apply_service_errors, submit_from_forms

WRONG_RECEIPT = gettext_lazy(
    "This receipt does not open a tip. Check every digit against what you wrote down and try again."
)


# --- the no-trace wrapper -------------------------------------------------------------------------


def no_trace(form_name: str | None = None, *, on_stale: Callable | None = None) -> Callable:
    """Mark a reporter's view: public, no CSRF cookie, no referrer, no caching.

    With ``form_name`` a POST must pass ``antiforgery.check`` for that form first. A cross-site
    one gets a page telling the reporter to open the form again (403) and nothing else runs; a
    same-site one whose token went stale goes to ``on_stale`` when given (the tip form shows the
    reporter's words back with a fresh token rather than losing them).
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if form_name is not None and request.method == "POST":
                try:
                    antiforgery.check(request, form_name)
                except antiforgery.StaleToken:
                    if on_stale is None:
                        return _sealed(render(request, "tips/public_refused.html", status=403))
                    return _sealed(on_stale(request))
                except antiforgery.Forged:
                    return _sealed(render(request, "tips/public_refused.html", status=403))
            return _sealed(view(request, *args, **kwargs))

        return public(csrf_exempt(wrapped))

    return decorator


def _sealed(response: HttpResponse) -> HttpResponse:
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _rate_limited(request: HttpRequest, exc: ratelimit.RateLimited) -> HttpResponse:
    response = render(request, "tips/public_busy.html", status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


def _hit(*limits: tuple[ratelimit.Limit, str]) -> None:
    for limit, key in limits:
        ratelimit.hit(limit, key=key)


def _page(request: HttpRequest, template: str, context: dict[str, Any], **kwargs: Any):
    """Render a reporter's page with fresh form tokens for every form it may show."""
    tokens = {
        name: antiforgery.form_token(name) for name in ("report", "lookup", "reply", "opinion")
    }
    return render(request, template, {**context, "tokens": tokens}, **kwargs)


# --- explanation --------------------------------------------------------------------------------


@no_trace()
@require_GET
def about(request: HttpRequest) -> HttpResponse:
    """What to report, how anonymity works, what is kept, how to check back."""
    return _page(request, "tips/public_about.html", {"categories": Category.choices})


# --- the region picker --------------------------------------------------------------------------

# The empty choice of each select of the picker (regions/_region_picker.html, _region_options.html).
BLANK_REGION = gettext_lazy("Not sure")


def top_regions() -> list[Region]:
    """The first level a reporter picks from: the counties of the deployment's city."""
    root = root_region()
    if root is None:
        return list(Region.objects.filter(level=Level.CITY).order_by("code"))
    return list(Region.objects.children_of(root).filter(level__in=PICK_LEVELS).order_by("code"))


def child_regions(code: str, level: str) -> list[Region]:
    # Codes are digits; anything else (a NUL above all, which PostgreSQL refuses in a query)
    # names no region.
    if not code.isdigit():
        return []
    parent = Region.objects.filter(code=code, level=level).first()
    if parent is None:
        return []
    return list(Region.objects.children_of(parent).filter(level__in=PICK_LEVELS).order_by("code"))


def picker_context(form: Any) -> dict[str, Any]:
    """The picker's endpoint and the options of its three selects, kept as picked on errors."""
    data = form.data if form.is_bound else {}
    county, town = data.get("county", ""), data.get("town", "")
    return {
        "regions_url": reverse("tips_public:regions"),
        "blank_label": BLANK_REGION,
        "counties": top_regions(),
        "towns": child_regions(county, Level.COUNTY) if county else [],
        "villages": child_regions(town, Level.TOWN) if town else [],
        "picked": {"county": county, "town": town, "village": data.get("village", "")},
    }


@no_trace()
@require_GET
def region_options(request: HttpRequest) -> HttpResponse:
    """``<option>`` rows for the next select (htmx). Region names are public."""
    if request.GET.get("town"):
        options, clear_village = child_regions(request.GET["town"], Level.TOWN), False
    elif request.GET.get("county"):
        options, clear_village = child_regions(request.GET["county"], Level.COUNTY), True
    else:
        options, clear_village = [], False
    return render(
        request,
        "regions/_region_options.html",
        {"options": options, "clear_village": clear_village, "blank_label": BLANK_REGION},
    )


# --- the tip form and the receipt ---------------------------------------------------------------


def _report_again(request: HttpRequest) -> HttpResponse:
    """The tip form, filled in as sent, after its token went stale: nothing was filed."""
    form, accused = TipForm(request.POST), accused_formset(request.POST)
    context = {**_form_context(form, accused), "stale": True}
    return _page(request, "tips/public_report.html", context, status=400)


@no_trace("report", on_stale=_report_again)
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    """The tip form; a filed tip answers with its receipt, shown this once."""
    if request.method == "GET":
        form, accused = TipForm(), accused_formset()
        return _page(request, "tips/public_report.html", _form_context(form, accused))
    try:
        _hit((policy.submit_limit(), "global"))
    except ratelimit.RateLimited as exc:
        return _rate_limited(request, exc)
    form, accused = TipForm(request.POST, request.FILES), accused_formset(request.POST)
    if form.is_valid() and accused.is_valid():
        try:
            submission = submit_from_forms(form, accused)
        except ValidationError as exc:
            apply_service_errors(form, accused, exc)
        else:
            return _page(
                request,
                "tips/public_receipt.html",
                {"groups": submission.receipt.split("-"), "receipt": submission.receipt},
            )
    return _page(request, "tips/public_report.html", _form_context(form, accused), status=400)


def _form_context(form: TipForm, accused: Any) -> dict[str, Any]:
    return {"form": form, "accused": accused, **picker_context(form)}


# --- checking back with the receipt -------------------------------------------------------------


def _look_up(
    request: HttpRequest, receipt: str, *limits: tuple[ratelimit.Limit, str]
) -> services.ReporterView | HttpResponse:
    """The tip behind the receipt, once the lookup limits and ``limits`` let the request through;
    else the page to answer with (busy, or the one wrong-receipt page)."""
    try:
        _hit(
            (policy.lookup_limit(), "global"),
            (policy.lookup_per_receipt_limit(), services.receipt_bucket(receipt)),
            *limits,
        )
        return services.lookup_tip(receipt)
    except ratelimit.RateLimited as exc:
        return _rate_limited(request, exc)
    except services.ReceiptNotRecognised:
        return _wrong_receipt(request)


def _wrong_receipt(request: HttpRequest) -> HttpResponse:
    form = ReceiptForm()
    return _page(
        request,
        "tips/public_lookup.html",
        {"form": form, "wrong_receipt": WRONG_RECEIPT},
        status=400,
    )


def _status_page(
    request: HttpRequest,
    view: services.ReporterView,
    receipt: str,
    *,
    reply_form: ReplyForm | None = None,
    opinion_form: OpinionForm | None = None,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "view": view,
        "receipt": receipt,
        "reply_form": reply_form or ReplyForm(initial={"receipt": receipt}),
        "opinion_form": opinion_form or OpinionForm(initial={"receipt": receipt}),
        "notice": notice,
    }
    return _page(request, "tips/public_status.html", context, status=status)


@no_trace("lookup")
@require_http_methods(["GET", "POST"])
def lookup(request: HttpRequest) -> HttpResponse:
    """Type the receipt; see the status in plain words, the handler's messages, and reply."""
    if request.method == "GET":
        return _page(request, "tips/public_lookup.html", {"form": ReceiptForm()})
    form = ReceiptForm(request.POST)
    if not form.is_valid():
        return _page(request, "tips/public_lookup.html", {"form": form}, status=400)
    receipt = form.cleaned_data["receipt"]
    view = _look_up(request, receipt)
    if isinstance(view, HttpResponse):
        return view
    return _status_page(request, view, receipt)


@no_trace("reply")
@require_POST
def reply(request: HttpRequest) -> HttpResponse:
    """The reporter answers or adds material (text and/or files) while the tip is open."""
    form = ReplyForm(request.POST, request.FILES)
    receipt = request.POST.get("receipt", "")[:40]
    current = _look_up(request, receipt, (policy.submit_limit(), "global"))
    if isinstance(current, HttpResponse):
        return current
    if not form.is_valid():
        return _status_page(request, current, receipt, reply_form=form, status=400)
    try:
        view = services.reply_as_reporter(
            receipt=receipt,
            body=form.cleaned_data["body"],
            attachments=incoming_files(form.cleaned_data["files"]),
        )
    except services.ReceiptNotRecognised:
        return _wrong_receipt(request)
    except services.TipRefused as exc:
        form.add_error(None, exc.message)
        return _status_page(request, current, receipt, reply_form=form, status=400)
    except ValidationError as exc:
        _errors_to(form, exc, default="files")
        return _status_page(request, current, receipt, reply_form=form, status=400)
    return _status_page(request, view, receipt, notice=_("Thank you. Your message was sent."))


@no_trace("opinion")
@require_POST
def opinion(request: HttpRequest) -> HttpResponse:
    """The reporter's opinion of the handling, once, after action was taken."""
    form = OpinionForm(request.POST)
    receipt = request.POST.get("receipt", "")[:40]
    current = _look_up(request, receipt)
    if isinstance(current, HttpResponse):
        return current
    if not form.is_valid():
        return _status_page(request, current, receipt, opinion_form=form, status=400)
    try:
        view = services.give_opinion(
            receipt=receipt,
            opinion=form.cleaned_data["opinion"],
            comment=form.cleaned_data["comment"],
        )
    except services.ReceiptNotRecognised:
        return _wrong_receipt(request)
    except (services.TipRefused, ValidationError) as exc:
        form.add_error(None, getattr(exc, "message", None) or "; ".join(exc.messages))
        return _status_page(request, current, receipt, opinion_form=form, status=400)
    return _status_page(request, view, receipt, notice=_("Thank you for your opinion."))


def _errors_to(form: Any, exc: ValidationError, *, default: str) -> None:
    """A service's ValidationError onto the form: by field where it names one, else ``default``."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else default, errors)
    else:
        form.add_error(default, exc.messages)
