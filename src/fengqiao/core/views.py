"""Audit viewer (audit administrator only) and working-day calendar admin (system administrator)."""

from __future__ import annotations

import sys
from contextlib import suppress
from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import defaults
from django.views.decorators.http import require_http_methods, require_POST

from fengqiao.accounts.roles import Cap
from fengqiao.core import services, workdays
from fengqiao.core.access import requires
from fengqiao.core.forms import AuditFilterForm, CalendarDayForm, CalendarImportForm
from fengqiao.core.middleware import is_database_outage, outage_response
from fengqiao.core.models import AuditEvent, CalendarDay, CalendarYear

AUDIT_PAGE_SIZE = 50
MIN_YEAR, MAX_YEAR = 2000, 2100

VERIFY_REASONS = {
    "missing": gettext_lazy("an earlier event is missing before it"),
    "link": gettext_lazy("its link to the previous event does not match"),
    "content": gettext_lazy("it was changed after it was written"),
    "tail": gettext_lazy("events after the last remaining one were removed"),
}


# --- audit viewer -----------------------------------------------------------------------------


@requires(Cap.AUDIT_VIEW)
def audit_list(request: HttpRequest) -> HttpResponse:
    """Audit events, newest first, filtered by action prefix, user name and local date."""
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.newest_first()
    if form.is_valid():
        data = form.cleaned_data
        if data["action"]:
            events = events.action_prefix(data["action"].strip())
        if data["actor"]:
            events = events.by_username(data["actor"].strip())
        if data["date_from"]:
            events = events.on_or_after(data["date_from"])
        if data["date_to"]:
            events = events.on_or_before(data["date_to"])
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "core/audit_list.html", {"form": form, "page": page})


@requires(Cap.AUDIT_VERIFY)
@require_POST
def audit_verify(request: HttpRequest) -> HttpResponse:
    """Verify the whole chain now and show the result on the viewer."""
    report = services.verify_audit_chain(
        actor=request.user, membership=request.membership, request=request
    )
    if report.ok:
        messages.success(
            request,
            _("The audit chain is intact: %(count)d events verified.") % {"count": report.checked},
        )
    else:
        messages.error(
            request,
            _("The audit chain is broken at event #%(id)d: %(reason)s.")
            % {
                "id": report.first_broken_id,
                "reason": VERIFY_REASONS.get(report.reason, report.reason),
            },
        )
    return redirect("core:audit_list")


# --- working-day calendar ---------------------------------------------------------------------


def _year_from(value: str | None) -> int:
    try:
        year = int(value or "")
    except ValueError:
        return timezone.localdate().year
    return year if MIN_YEAR <= year <= MAX_YEAR else timezone.localdate().year


def _day_or_404(day: str) -> CalendarDay:
    try:
        parsed = date.fromisoformat(day)
    except ValueError as exc:
        raise Http404 from exc
    entry = CalendarDay.objects.filter(date=parsed).first()
    if entry is None:
        raise Http404
    return entry


def _list_url(year: int) -> str:
    return f"{reverse('core:calendar_list')}?{urlencode({'year': year})}"


@requires(Cap.CALENDAR_MANAGE)
def calendar_list(request: HttpRequest) -> HttpResponse:
    """One year's holidays and make-up working days, with the year's known/unknown state."""
    year = _year_from(request.GET.get("year"))
    schedule = workdays.schedule(year)
    known = CalendarYear.objects.filter(year=year).first()
    return render(
        request,
        "core/calendar_list.html",
        {
            "year": year,
            "previous_year": year - 1,
            "next_year": year + 1,
            "days": CalendarDay.objects.in_year(year),
            "known": known,
            "working_days": workdays.working_days_between(
                date(year - 1, 12, 31), date(year, 12, 31)
            ),
            "holiday_count": len(schedule.holidays),
            "makeup_count": len(schedule.makeup_workdays),
            "known_years": CalendarYear.objects.values_list("year", flat=True),
            "calendar_warning": workdays.calendar_warning(),
        },
    )


def _save_day(request: HttpRequest, form: CalendarDayForm, original: CalendarDay | None):
    data = form.cleaned_data
    try:
        entry = services.save_calendar_day(
            day=data["date"],
            kind=data["kind"],
            name=data["name"],
            actor=request.user,
            membership=request.membership,
            original=original,
        )
    except ValidationError as exc:
        for field_name, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field_name if field_name in form.fields else None, error)
        return None
    return entry


@requires(Cap.CALENDAR_MANAGE)
@require_http_methods(["GET", "POST"])
def calendar_add(request: HttpRequest) -> HttpResponse:
    initial = {}
    if request.GET.get("date"):
        with suppress(ValueError):
            initial["date"] = date.fromisoformat(request.GET["date"])
    form = CalendarDayForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        entry = _save_day(request, form, None)
        if entry is not None:
            messages.success(
                request, _("%(date)s was added to the calendar.") % {"date": entry.date.isoformat()}
            )
            return redirect(_list_url(entry.date.year))
    return render(request, "core/calendar_form.html", {"form": form, "entry": None})


@requires(Cap.CALENDAR_MANAGE)
@require_http_methods(["GET", "POST"])
def calendar_edit(request: HttpRequest, day: str) -> HttpResponse:
    original = _day_or_404(day)
    form = CalendarDayForm(
        request.POST or None,
        initial={"date": original.date, "kind": original.kind, "name": original.name},
    )
    if request.method == "POST" and form.is_valid():
        entry = _save_day(request, form, original)
        if entry is not None:
            messages.success(request, _("%(date)s was changed.") % {"date": entry.date.isoformat()})
            return redirect(_list_url(entry.date.year))
    return render(request, "core/calendar_form.html", {"form": form, "entry": original})


@requires(Cap.CALENDAR_MANAGE)
@require_http_methods(["GET", "POST"])
def calendar_delete(request: HttpRequest, day: str) -> HttpResponse:
    entry = _day_or_404(day)
    if request.method == "POST":
        services.delete_calendar_day(entry=entry, actor=request.user, membership=request.membership)
        messages.success(
            request, _("%(date)s was removed from the calendar.") % {"date": entry.date.isoformat()}
        )
        return redirect(_list_url(entry.date.year))
    return render(request, "core/calendar_confirm_delete.html", {"entry": entry})


@requires(Cap.CALENDAR_MANAGE)
@require_POST
def calendar_year_known(request: HttpRequest, year: int) -> HttpResponse:
    """Declare a year's schedule complete, or withdraw that declaration."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Http404
    known = request.POST.get("known") == "1"
    services.set_year_known(
        year=year, known=known, actor=request.user, membership=request.membership
    )
    if known:
        messages.success(
            request, _("The schedule of %(year)d is marked complete.") % {"year": year}
        )
    else:
        messages.warning(request, _("The schedule of %(year)d is marked unknown.") % {"year": year})
    return redirect(_list_url(year))


@requires(Cap.CALENDAR_MANAGE)
@require_http_methods(["GET", "POST"])
def calendar_import(request: HttpRequest) -> HttpResponse:
    """Import a CSV; any error refuses the whole file and lists every bad line."""
    form = CalendarImportForm(request.POST or None, request.FILES or None)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            result = services.import_calendar_csv(
                data=form.cleaned_data["file"].read(),
                mark_complete=form.cleaned_data["mark_complete"],
                actor=request.user,
                membership=request.membership,
            )
        except services.CalendarImportError as exc:
            errors = exc.errors
        except UnicodeDecodeError:
            errors = [_("The file is not a text CSV file.")]
        else:
            messages.success(
                request,
                _("Imported: %(created)d days added, %(updated)d changed.")
                % {"created": result.created, "updated": result.updated},
            )
            return redirect(_list_url(result.years[0]))
    return render(request, "core/calendar_import.html", {"form": form, "errors": errors})


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``. A database outage raised outside a view (in a session or token lookup)
    still answers 503 like the middleware's; anything else is Django's plain 500, no details."""
    error = sys.exc_info()[1]
    if error is not None and is_database_outage(error):
        return outage_response(request)
    return defaults.server_error(request)
