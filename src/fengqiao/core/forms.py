"""Forms for the audit viewer and the working-day calendar admin."""

from __future__ import annotations

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from fengqiao.core.models import CalendarDay

MAX_IMPORT_BYTES = 512 * 1024


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class PlainSelect(forms.Select):
    """A single select whose options are joined as strings (no option groups).

    The stock widget renders each ``<option>`` through a template (≈ 40 µs apiece, ≈ 6 µs here):
    the units a county centre may assign a case to run to about 3,500, which made that list the
    larger part of the case page. The markup is the same.
    """

    def render(self, name, value, attrs=None, renderer=None):
        chosen = set(self.format_value(value))
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (key, " selected" if str(key) in chosen else "", label)
                for key, label in self.choices
            ),
        )
        attributes = flatatt(self.build_attrs(self.attrs, attrs))
        return format_html('<select name="{}"{}>{}</select>', name, attributes, options)


class StyledForm(forms.Form):
    """Bootstrap classes on every widget (no inline styles: the CSP forbids them)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for bound in self.fields.values():
            widget = bound.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = css


class AuditFilterForm(StyledForm):
    """Filters of the audit viewer; every field is optional."""

    action = forms.CharField(
        label=_("Action"),
        required=False,
        max_length=100,
        help_text=_("Beginning of the action name, e.g. accounts."),
    )
    actor = forms.CharField(label=_("User name"), required=False, max_length=150)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            raise forms.ValidationError(_("The end date is before the start date."))
        return cleaned


class CalendarDayForm(StyledForm):
    """One holiday or make-up working day."""

    date = forms.DateField(label=_("Date"), widget=DateInput())
    kind = forms.ChoiceField(label=_("Kind"), choices=CalendarDay.Kind.choices)
    name = forms.CharField(
        label=_("Name"), required=False, max_length=60, help_text=_("e.g. 春节, 国庆节")
    )


class CalendarImportForm(StyledForm):
    """A CSV of ``date,kind,name`` rows."""

    file = forms.FileField(
        label=_("CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        help_text=_("One day per line: date,kind,name — kind is holiday or makeup_workday."),
    )
    mark_complete = forms.BooleanField(
        label=_("The file holds the complete schedule of its years"),
        required=False,
        initial=True,
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 512 KB."))
        return upload
