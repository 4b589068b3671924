"""Citizen pages (群众端): report a matter, follow it with the tracking link, rate the outcome.

No login. Pages show no personal data: the tracking page lists public steps in citizen wording,
public notes and public files, never parties, staff names or internal notes. Every response is
``no-store`` (SecurityHeadersMiddleware). The form and the lookups are rate-limited per client
address and in total, failing closed (SECURITY 16).
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from fengqiao.cases import services
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.forms import PUBLIC_PICK_LEVELS, PublicReportForm, RatingForm, TrackLookupForm
from fengqiao.cases.models import Action, Case, Channel, Note, PartyRole, Status, StatusChange
from fengqiao.core import ratelimit
from fengqiao.core.access import public
from fengqiao.core.qrcodes import qr_data_uri
from fengqiao.regions.models import Level, Region

# What the citizen reads for each public step of the timeline.
CITIZEN_WORDING = {
    Action.REPORT: gettext_lazy("Your report was received."),
    Action.ACCEPT: gettext_lazy("Accepted for handling."),
    Action.ASSIGN: gettext_lazy("Passed to the unit that will handle it."),
    Action.SIGN: gettext_lazy("The handling unit has taken it on."),
    Action.RETURN: gettext_lazy("Being passed to the right unit."),
    Action.ESCALATE: gettext_lazy("Passed to a higher level for handling."),
    Action.ESCALATE_SKIP: gettext_lazy("Passed to a higher level for handling."),
    Action.APPROVE_EXTENSION: gettext_lazy("The time for handling was extended."),
    Action.SUSPEND: gettext_lazy("Handling is paused for now."),
    Action.RESUME: gettext_lazy("Handling has resumed."),
    Action.FEEDBACK: gettext_lazy("Handling is finished and being checked."),
    Action.VERIFY_PASS: gettext_lazy("The matter is closed."),
    Action.VERIFY_FAIL: gettext_lazy("Handling continues after a check."),
    Action.CLOSE: gettext_lazy("The matter is closed."),
    Action.EVALUATE: gettext_lazy("Thank you for your rating."),
    Action.REOPEN: gettext_lazy("The matter was reopened."),
    Action.REJECT: gettext_lazy("The report could not be accepted."),
    Action.ARCHIVE: gettext_lazy("The file was archived."),
}
CITIZEN_STATUS = {
    Status.REPORTED: gettext_lazy("Received"),
    Status.ACCEPTED: gettext_lazy("Accepted"),
    Status.ASSIGNED: gettext_lazy("Being handled"),
    Status.IN_PROGRESS: gettext_lazy("Being handled"),
    Status.SUSPENDED: gettext_lazy("Paused"),
    Status.PENDING_VERIFY: gettext_lazy("Being checked"),
    Status.CLOSED: gettext_lazy("Closed"),
    Status.EVALUATED: gettext_lazy("Closed and rated"),
    Status.ARCHIVED: gettext_lazy("Closed"),
    Status.REJECTED: gettext_lazy("Not accepted"),
}


def _client_key(request: HttpRequest) -> str:
    # Hashed by ratelimit before it reaches the cache; never stored with the case.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _check_rate(request: HttpRequest, *limits: ratelimit.Limit) -> HttpResponse | None:
    """Count the request against the limits; a rendered refusal (429) when one is full."""
    try:
        for limit in limits:
            key = "global" if limit.name.endswith(".total") else _client_key(request)
            ratelimit.hit(limit, key=key)
    except ratelimit.RateLimited as exc:
        response = render(request, "cases/public_rate_limited.html", status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    return None


def _report_limits() -> tuple[ratelimit.Limit, ...]:
    return (
        ratelimit.Limit.parse("cases.report", settings.CASES_REPORT_RATE),
        ratelimit.Limit.parse("cases.report.total", settings.CASES_REPORT_RATE_TOTAL),
    )


def _track_limits() -> tuple[ratelimit.Limit, ...]:
    return (ratelimit.Limit.parse("cases.track", settings.CASES_TRACK_RATE),)


# --- region picker ----------------------------------------------------------------------------

# The empty choice of each select of the picker (regions/_region_picker.html, _region_options.html).
BLANK_REGION = gettext_lazy("Any / not sure")


def _top_regions() -> list[Region]:
    """The first level a citizen picks from: below the deployment's single root (the city)."""
    regions = list(Region.objects.filter(parent__isnull=True).order_by("code"))
    while len(regions) == 1 and regions[0].level not in PUBLIC_PICK_LEVELS:
        regions = list(Region.objects.children_of(regions[0]).order_by("code"))
    return regions


def _children(code: str, level: str) -> list[Region]:
    # Codes are digits; anything else (a NUL above all, which PostgreSQL refuses in a query)
    # names no region.
    if not code.isdigit():
        return []
    parent = Region.objects.filter(code=code, level=level).first()
    if parent is None:
        return []
    return list(
        Region.objects.children_of(parent).filter(level__in=PUBLIC_PICK_LEVELS).order_by("code")
    )


@public
@require_GET
def region_options(request: HttpRequest) -> HttpResponse:
    """``<option>`` rows for the next select of the picker (htmx). Regions are public names."""
    if request.GET.get("town"):
        options = _children(request.GET["town"], Level.TOWN)
        clear_village = False
    elif request.GET.get("county"):
        options = _children(request.GET["county"], Level.COUNTY)
        clear_village = True
    else:
        options, clear_village = [], False
    return render(
        request,
        "regions/_region_options.html",
        {"options": options, "clear_village": clear_village, "blank_label": BLANK_REGION},
    )


def _picker_context(form: PublicReportForm) -> dict[str, object]:
    county = form.data.get("county", "") if form.is_bound else ""
    town = form.data.get("town", "") if form.is_bound else ""
    return {
        "regions_url": reverse("cases_public:regions"),
        "blank_label": BLANK_REGION,
        "counties": _top_regions(),
        "towns": _children(county, Level.COUNTY) if county else [],
        "villages": _children(town, Level.TOWN) if town else [],
        "picked": {
            "county": county,
            "town": town,
            "village": form.data.get("village", "") if form.is_bound else "",
        },
    }


# --- report -----------------------------------------------------------------------------------


@public
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    """The public report form; a report answers with the tracking page (code, QR, link)."""
    if request.method == "GET":
        form = PublicReportForm()
        return render(request, "cases/public_report.html", {"form": form, **_picker_context(form)})
    refused = _check_rate(request, *_report_limits())
    if refused is not None:
        return refused
    form = PublicReportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            case = _create_report(form.cleaned_data)
        except WorkflowError as exc:
            field = "photo" if exc.field == "upload" else exc.field
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            url = reverse("cases_public:track", args=[case.code, case.tracking_token])
            return redirect(f"{url}?new=1")
    return render(
        request,
        "cases/public_report.html",
        {"form": form, **_picker_context(form)},
        status=400,
    )


def _create_report(data: dict) -> Case:
    """The case and its photo together, or neither (a refused photo leaves no case behind)."""
    parties = []
    if data["contact_name"] or data["contact_phone"]:
        parties.append(
            services.PartyData(
                role=PartyRole.REPORTER, name=data["contact_name"], phone=data["contact_phone"]
            )
        )
    description = data["description"].strip()
    intake = services.IntakeData(
        category=data["category"],
        channel=Channel.WEB,
        title=_title_from(description),
        description=description,
        place_text=data["place_text"],
        latitude=data["latitude"],
        longitude=data["longitude"],
        region_code=data["region"].code if data["region"] else None,
        parties=parties,
        uploads=[data["photo"]] if data.get("photo") else [],
    )
    return services.report_case(data=intake)


def _title_from(description: str) -> str:
    """A citizen is not asked for a title: the first line of the description, shortened."""
    first_line = description.splitlines()[0].strip() if description else ""
    return first_line[:40] + ("…" if len(first_line) > 40 else "")


# --- tracking ---------------------------------------------------------------------------------


def _tracked_case(code: str, token: str) -> Case:
    """The case a tracking link names, or 404 for a wrong code or token alike.

    A deliberate bypass of ``visible_to``: the citizen has no membership, the token is the
    authorisation (only its hash is stored; compared in constant time by the service).
    """
    case = (
        Case.objects.unscoped_all().select_related("category", "region").filter(code=code).first()
    )
    if case is None or not services.check_tracking_token(case, token):
        raise Http404
    return case


@public
@require_http_methods(["GET", "POST"])
def track(request: HttpRequest, code: str, token: str) -> HttpResponse:
    """Public progress of one case; once closed, the citizen rates the outcome here."""
    refused = _check_rate(request, *_track_limits())
    if refused is not None:
        return refused
    case = _tracked_case(code, token)
    rating_form = None
    status = 200
    if case.status == Status.CLOSED:
        rating_form = RatingForm(request.POST or None)
        if request.method == "POST":
            if rating_form.is_valid():
                try:
                    services.evaluate_case(
                        case,
                        satisfaction=rating_form.cleaned_data["satisfaction"],
                        comment=rating_form.cleaned_data["comment"],
                        channel="tracking",
                    )
                except WorkflowError as exc:
                    rating_form.add_error(None, exc.message)
                else:
                    return redirect(request.path)
            status = 400
    elif request.method == "POST":
        # Nothing to rate (not closed yet, or rated already): show the page as it is.
        return redirect(request.path)
    tracking_url = request.build_absolute_uri(reverse("cases_public:track", args=[code, token]))
    changes = [
        {"at": change.at, "text": CITIZEN_WORDING.get(change.action, change.get_action_display())}
        for change in StatusChange.objects.filter(case=case).public().order_by("at", "id")
    ]
    context = {
        "case": case,
        "citizen_status": CITIZEN_STATUS.get(case.status, case.get_status_display()),
        "changes": changes,
        "notes": Note.objects.filter(case=case, is_public=True).order_by("created_at", "id"),
        "rating_form": rating_form,
        "is_new": request.GET.get("new") == "1",
        "tracking_url": tracking_url,
        "token": token,
        "qr_uri": qr_data_uri(tracking_url),
    }
    return render(request, "cases/public_track.html", context, status=status)


@public
@require_http_methods(["GET", "POST"])
def track_lookup(request: HttpRequest) -> HttpResponse:
    """Type the code and tracking key from the slip; a wrong pair says so without telling which
    half was wrong."""
    if request.method == "GET":
        return render(request, "cases/public_lookup.html", {"form": TrackLookupForm()})
    refused = _check_rate(request, *_track_limits())
    if refused is not None:
        return refused
    form = TrackLookupForm(request.POST)
    if form.is_valid():
        code, token = form.cleaned_data["code"], form.cleaned_data["token"]
        case = Case.objects.unscoped_all().filter(code=code).only("pk", "tracking_token_hash")
        found = case.first()
        if found is not None and services.check_tracking_token(found, token):
            return redirect("cases_public:track", code=code, token=token)
        form.add_error(None, _("No case matches this code and tracking key."))
    return render(request, "cases/public_lookup.html", {"form": form}, status=400)
