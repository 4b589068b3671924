"""Forms of the mediation pages: phone-first, one screen each, errors named by field."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fengqiao.mediation.models import (
    AgreementForm,
    Performance,
    SessionPreference,
    StartedHow,
    TerminationReason,
)
from fengqiao.mediation.services import ROUTES


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class BootstrapForm(forms.Form):
    """Bootstrap classes on every widget (the CSP forbids inline styles)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            # RadioSelect covers CheckboxSelectMultiple, its subclass.
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = css


class StartForm(BootstrapForm):
    started_how = forms.ChoiceField(label=_("How mediation started"), choices=StartedHow.choices)
    session_preference = forms.ChoiceField(
        label=_("Session the parties asked for"),
        choices=SessionPreference.choices,
        initial=SessionPreference.PRIVATE,
    )
    mediators = forms.CharField(
        label=_("Mediators"),
        max_length=500,
        help_text=_("Names of the mediators the parties accepted, separated by commas."),
    )

    def mediator_names(self) -> list[str]:
        raw = self.cleaned_data["mediators"]
        for separator in ("，", "、", ";", "；"):
            raw = raw.replace(separator, ",")
        return [name.strip() for name in raw.split(",") if name.strip()]


class SessionForm(BootstrapForm):
    held_at = forms.DateTimeField(label=_("Held at"), widget=DateTimeInput())
    place = forms.CharField(label=_("Place of the session"), max_length=200)
    attendees = forms.CharField(
        label=_("Attendees"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The parties, mediators and others present."),
    )
    record = forms.CharField(
        label=_("Session record"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("What each side said and what was proposed (调解笔录)."),
    )


SEX_CHOICES = [("", "—"), ("男", _("Male")), ("女", _("Female"))]


class PartyForm(BootstrapForm):
    name = forms.CharField(label=_("Party's name"), max_length=100)
    role = forms.CharField(label=_("Party's role"), max_length=20, required=False)
    sex = forms.ChoiceField(label=_("Sex"), choices=SEX_CHOICES, required=False)
    ethnicity = forms.CharField(label=_("Ethnicity"), max_length=20, required=False)
    id_number = forms.CharField(label=_("ID number"), max_length=30, required=False)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)


PartyFormSet = forms.formset_factory(PartyForm, extra=1, min_num=2, validate_min=True)


class AgreementEntryForm(BootstrapForm):
    form = forms.ChoiceField(
        label=_("Form of agreement"),
        choices=AgreementForm.choices,
        initial=AgreementForm.WRITTEN,
        widget=forms.RadioSelect,
    )
    party_requested_written = forms.BooleanField(
        label=_("A party asked for a written agreement"), required=False
    )
    facts = forms.CharField(
        label=_("Main facts of the dispute"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    disputed_matters = forms.CharField(
        label=_("Matters in dispute"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    responsibilities = forms.CharField(
        label=_("Responsibility of each party"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    terms = forms.CharField(
        label=_("Agreed terms"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5})
    )
    performance = forms.CharField(
        label=_("Manner of performance"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    performed_immediately = forms.BooleanField(label=_("Performed on the spot"), required=False)
    performance_deadline = forms.DateField(
        label=_("Performance deadline"), required=False, widget=DateInput()
    )
    signed_on = forms.DateField(label=_("Signed on"), widget=DateInput())

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["signed_on"].initial = timezone.localdate()


class FailureForm(BootstrapForm):
    reason_kind = forms.ChoiceField(label=_("Reason for ending"), choices=TerminationReason.choices)
    reason = forms.CharField(
        label=_("Explanation"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    routes = forms.MultipleChoiceField(
        label=_("Other routes told to the parties"),
        choices=list(
            zip(
                ROUTES,
                [_("arbitration"), _("administrative channels"), _("litigation")],
                strict=True,
            )
        ),
        widget=forms.CheckboxSelectMultiple,
        initial=list(ROUTES),
    )
    terminated_on = forms.DateField(label=_("Terminated on"), widget=DateInput())

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["terminated_on"].initial = timezone.localdate()


class VisitForm(BootstrapForm):
    visit = forms.ChoiceField(label=_("Visit"))
    performed = forms.ChoiceField(
        label=_("Agreement performed"), choices=Performance.choices, widget=forms.RadioSelect
    )
    notes = forms.CharField(
        label=_("Notes"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, visits=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["visit"].choices = [
            (
                str(visit.public_id),
                f"{visit.due_on.isoformat()} · {visit.get_purpose_display()}",
            )
            for visit in visits
        ]


class ConfirmationForm(BootstrapForm):
    court = forms.CharField(label=_("Court"), max_length=200)
    applied_on = forms.DateField(label=_("Applied on"), widget=DateInput())

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["applied_on"].initial = timezone.localdate()


class DecisionForm(BootstrapForm):
    confirmed = forms.TypedChoiceField(
        label=_("Court decision"),
        choices=[("yes", _("Confirmed as valid")), ("no", _("Not confirmed by the court"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    decided_on = forms.DateField(label=_("Decided on"), widget=DateInput())

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["decided_on"].initial = timezone.localdate()


class ViolentForm(BootstrapForm):
    reason = forms.CharField(
        label=_("Why the dispute may turn violent"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "The police station and the town command room are told at once "
            "(People's Mediation Law art. 25)."
        ),
    )
