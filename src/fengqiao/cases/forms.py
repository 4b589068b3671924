"""Forms of the case pages: citizen report and tracking, staff intake, filters and action forms.

Forms parse and validate input only (SECURITY 12: lengths, enums, ID numbers by check digit,
phones); every change is made by one call into ``cases.services``. Each form declares exactly
the fields a page may write, nothing is bound from the model wholesale.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from fengqiao.cases.attachments import check_and_clean
from fengqiao.cases.models import (
    CaseKind,
    Category,
    Channel,
    ClosureMethod,
    PartyRole,
    Severity,
    Status,
    Supervision,
    Urgency,
)
from fengqiao.core.forms import DateInput, PlainSelect, StyledForm
from fengqiao.core.validators import (
    normalise_id_number,
    normalise_phone,
    validate_id_number,
    validate_phone,
)
from fengqiao.regions.models import LEVEL_ORDER, Level, Region, Unit

# Channels an operator records by hand (the web form, apps, imports and APIs set their own).
OPERATOR_CHANNELS = (
    Channel.WALK_IN,
    Channel.PHONE,
    Channel.HOTLINE_12345,
    Channel.VISIT,
    Channel.WECHAT,
    Channel.SMS,
    Channel.REFERRAL_COURT,
    Channel.REFERRAL_POLICE,
    Channel.REFERRAL_PETITION,
)
MAX_PHOTOS = 6
# Levels a citizen may pick down to: grids are an internal division, not an address.
PUBLIC_PICK_LEVELS = (Level.COUNTY, Level.TOWN, Level.VILLAGE)


# --- shared fields ----------------------------------------------------------------------------


def category_choices() -> list[tuple[Any, Any]]:
    """Active reportable categories grouped by case kind, for a ``<select>`` with optgroups."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for category in Category.objects.reportable().order_by("kind", "sort_order", "code"):
        groups.setdefault(category.kind, []).append((category.code, category.name))
    labels = dict(CaseKind.choices)
    return [("", _("Choose a category"))] + [
        (labels.get(kind, kind), options) for kind, options in groups.items()
    ]


class CategoryField(forms.ChoiceField):
    """A category picked by code; cleans to the ``Category`` (active and reportable only)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=category_choices, **kwargs)

    def valid_value(self, value: Any) -> bool:
        # Checked against the database in clean(), not against a choice list built earlier.
        return True

    def clean(self, value: Any) -> Category | None:
        code = super().clean(value)
        if not code:
            return None
        category = Category.objects.reportable().filter(code=code).first()
        if category is None:
            raise ValidationError(_("Choose one of the listed categories."), code="invalid_choice")
        return category


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several pictures at once (Django's documented multiple-file pattern), each checked by
    ``attachments.check_and_clean`` so a bad file is refused before anything is saved."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"})
        )
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > MAX_PHOTOS:
            raise ValidationError(
                _("Attach at most %(count)d pictures.") % {"count": MAX_PHOTOS}, code="too_many"
            )
        for upload in files:
            super().clean(upload, initial)
            check_and_clean(upload)
            upload.seek(0)
        return list(files)


def _coordinate_field(label: Any, *, limit: int, geo: str) -> forms.DecimalField:
    """A hidden degree field filled by the browser's location (``data-geo``), within ±limit."""
    return forms.DecimalField(
        label=label,
        required=False,
        # Browsers send up to 15 decimals; clean_point() rounds to the column's 6.
        max_digits=20,
        decimal_places=15,
        min_value=Decimal(-limit),
        max_value=Decimal(limit),
        widget=forms.HiddenInput(attrs={"data-geo": geo}),
    )


def _latitude_field() -> forms.DecimalField:
    return _coordinate_field(_("Latitude"), limit=90, geo="latitude")


def _longitude_field() -> forms.DecimalField:
    return _coordinate_field(_("Longitude"), limit=180, geo="longitude")


def _normalised(
    value: str, validate: Callable[[str], None], normalise: Callable[[str], str]
) -> str:
    """An optional identifier (phone, ID number) checked and put in its one stored form."""
    value = value.strip()
    if not value:
        return ""
    validate(value)
    return normalise(value)


def _round6(value: Decimal | None) -> Decimal | None:
    # Browsers report 15 decimals; the column keeps 6 (about 0.1 m).
    return None if value is None else value.quantize(Decimal("0.000001"))


class PointMixin:
    """Latitude and longitude come together or not at all."""

    def clean_point(self, cleaned: dict[str, Any]) -> None:
        latitude, longitude = cleaned.get("latitude"), cleaned.get("longitude")
        if (latitude is None) != (longitude is None):
            raise ValidationError(_("The location is incomplete; locate again or leave it out."))
        cleaned["latitude"], cleaned["longitude"] = _round6(latitude), _round6(longitude)


# --- the citizen's report ---------------------------------------------------------------------


class PublicReportForm(PointMixin, StyledForm):
    """The public web form (群众上报): no login, works on a phone."""

    category = CategoryField(label=_("What is it about?"))
    description = forms.CharField(
        label=_("What happened?"),
        max_length=2000,
        min_length=5,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Describe the matter. Do not write ID numbers here."),
    )
    # The region picker: the deepest level picked wins (see clean()).
    county = forms.CharField(label=_("County / district"), required=False, max_length=15)
    town = forms.CharField(label=_("Town / street"), required=False, max_length=15)
    village = forms.CharField(label=_("Village / community"), required=False, max_length=15)
    place_text = forms.CharField(
        label=_("Place"),
        required=False,
        max_length=300,
        help_text=_("Street, house number or a landmark, e.g. 诸暨市枫桥镇枫源村 村口桥头."),
    )
    latitude = _latitude_field()
    longitude = _longitude_field()
    contact_name = forms.CharField(label=_("Your name"), required=False, max_length=100)
    contact_phone = forms.CharField(
        label=_("Your phone"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
        help_text=_("Optional. Only the staff handling the matter can see it."),
    )
    photo = forms.FileField(
        label=_("Photo"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        help_text=_("Optional. Location and camera data are removed from the picture."),
    )

    def clean_contact_phone(self) -> str:
        return _normalised(self.cleaned_data["contact_phone"], validate_phone, normalise_phone)

    def clean_photo(self) -> Any:
        photo = self.cleaned_data.get("photo")
        if photo:
            check_and_clean(photo)
            photo.seek(0)
        return photo

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.clean_point(cleaned)
        cleaned["region"] = _picked_region(
            cleaned, ("village", "town", "county"), allowed_levels=PUBLIC_PICK_LEVELS
        )
        if (
            cleaned.get("region") is None
            and not cleaned.get("place_text")
            and cleaned.get("latitude") is None
        ):
            raise ValidationError(
                _("Tell us where: pick the area, describe the place, or use your location.")
            )
        if cleaned.get("contact_phone") and not cleaned.get("contact_name"):
            self.add_error("contact_name", _("Tell us your name so we can reach you."))
        return cleaned


def _picked_region(
    cleaned: dict[str, Any], fields: tuple[str, ...], *, allowed_levels: tuple[str, ...]
) -> Region | None:
    """The deepest region picked in a chain of selects, checked to exist and to chain up."""
    codes = [cleaned.get(name) or "" for name in fields]
    code = next((c for c in codes if c), "")
    if not code:
        return None
    region = Region.objects.filter(code=code, level__in=allowed_levels).first()
    if region is None or not all(not c or code.startswith(c) for c in codes):
        raise ValidationError(_("The area picked is not known; pick it again."))
    return region


class TrackLookupForm(StyledForm):
    """Find one's case by code and tracking token (both printed on the result page)."""

    code = forms.RegexField(
        label=_("Case code"),
        regex=r"^\s*\d{6}-\d{8}-\d{5,}\s*$",
        max_length=30,
        error_messages={"invalid": _("A case code looks like 330681-20260301-00042.")},
    )
    token = forms.RegexField(
        label=_("Tracking key"),
        regex=r"^\s*[A-Za-z0-9_-]{16,64}\s*$",
        max_length=80,
        error_messages={"invalid": _("Copy the tracking key exactly as it was shown.")},
    )

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip()

    def clean_token(self) -> str:
        return self.cleaned_data["token"].strip()


class RatingForm(StyledForm):
    """The citizen's rating once the case is closed (满意度 1–5)."""

    satisfaction = forms.TypedChoiceField(
        label=_("How satisfied are you with the outcome?"),
        coerce=int,
        choices=[
            (5, _("5 — very satisfied")),
            (4, _("4 — satisfied")),
            (3, _("3 — acceptable")),
            (2, _("2 — dissatisfied")),
            (1, _("1 — very dissatisfied")),
        ],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


# --- staff intake -----------------------------------------------------------------------------


class PartyForm(StyledForm):
    """One party (当事人) entered by staff; ID number and phone are checked, then sealed."""

    role = forms.ChoiceField(label=_("Role"), choices=PartyRole.choices)
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    id_number = forms.CharField(label=_("ID number"), max_length=30, required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )
    address = forms.CharField(label=_("Address"), max_length=200, required=False)

    def clean_id_number(self) -> str:
        return _normalised(self.cleaned_data["id_number"], validate_id_number, normalise_id_number)

    def clean_phone(self) -> str:
        return _normalised(self.cleaned_data["phone"], validate_phone, normalise_phone)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        others = any(cleaned.get(key) for key in ("id_number", "phone", "address"))
        if others and not cleaned.get("name"):
            self.add_error("name", _("A party needs a name."))
        return cleaned

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not any(data.get(key) for key in ("name", "id_number", "phone", "address"))


class BasePartyFormSet(forms.BaseFormSet):
    def parties(self) -> list[dict[str, str]]:
        """Cleaned parties, blank rows left out."""
        return [
            form.cleaned_data for form in self.forms if form.has_changed() and not form.is_blank
        ]


PartyFormSet = forms.formset_factory(
    PartyForm, formset=BasePartyFormSet, extra=2, max_num=10, validate_max=True
)


class StaffIntakeForm(PointMixin, StyledForm):
    """What grid workers and operators record (上报/登记); the operator adds channel and more."""

    category = CategoryField(label=_("Category"))
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5})
    )
    occurred_at = forms.DateTimeField(
        label=_("Occurred at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    region_code = forms.ChoiceField(label=_("Area"), required=False)
    place_text = forms.CharField(label=_("Place"), required=False, max_length=300)
    latitude = _latitude_field()
    longitude = _longitude_field()
    severity = forms.TypedChoiceField(
        label=_("Severity"), coerce=int, choices=Severity.choices, initial=Severity.GENERAL
    )
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.NORMAL)
    people_count = forms.IntegerField(
        label=_("People involved"), required=False, min_value=1, max_value=100000
    )
    may_turn_violent = forms.BooleanField(
        label=_("May turn violent (the police are told at once)"), required=False
    )
    photos = PhotosField(label=_("Photos"))

    def __init__(self, *args: Any, regions: list[Region] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.regions = {region.code: region for region in regions or []}
        self.fields["region_code"].choices = [("", _("Find it from the place or location"))] + [
            (region.code, _indented(region)) for region in regions or []
        ]

    def clean_region_code(self) -> Region | None:
        code = self.cleaned_data.get("region_code")
        return self.regions.get(code) if code else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.clean_point(cleaned)
        if (
            cleaned.get("region_code") is None
            and not cleaned.get("place_text")
            and cleaned.get("latitude") is None
        ):
            raise ValidationError(_("Give the area, the place or the location."))
        return cleaned


def _indented(region: Region) -> str:
    depth = max(0, LEVEL_ORDER.index(region.level) - LEVEL_ORDER.index(Level.COUNTY))
    return "\u3000" * depth + region.display_name


class OperatorIntakeForm(StaffIntakeForm):
    """The command-room form: walk-ins, phone calls, 12345 and referrals (转办)."""

    channel = forms.ChoiceField(
        label=_("Channel"), choices=[(c.value, c.label) for c in OPERATOR_CHANNELS]
    )
    external_ref = forms.CharField(
        label=_("External reference"),
        required=False,
        max_length=100,
        help_text=_("The number given by the court, police, 信访 or 12345 system, if any."),
    )
    amount = forms.DecimalField(
        label=_("Amount (yuan)"),
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0"),
    )

    field_order = ["channel", "external_ref", "category", "title", "description"]


# --- lists and filters ------------------------------------------------------------------------


class PeriodForm(StyledForm):
    """A form with a ``since``–``until`` pair of dates: the end may not come before the start."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned


class CaseFilterForm(PeriodForm):
    """Filters shared by the case list and the Excel export (``CaseQuerySet.apply_filters``)."""

    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any"))] + list(Status.choices)
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any"))] + list(CaseKind.choices)
    )
    category = forms.CharField(label=_("Category code"), required=False, max_length=60)
    region = forms.RegexField(
        label=_("Region code"),
        required=False,
        regex=r"^\d{2,15}$",
        max_length=15,
        error_messages={"invalid": _("A region code is 2 to 15 digits.")},
    )
    since = forms.DateField(label=_("Reported from"), required=False, widget=DateInput())
    until = forms.DateField(label=_("Reported until"), required=False, widget=DateInput())
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    supervision = forms.TypedChoiceField(
        label=_("Supervision at least"),
        required=False,
        coerce=int,
        empty_value=0,
        choices=[("", _("Any"))] + [c for c in Supervision.choices if c[0] > 0],
    )

    def filters(self) -> dict[str, Any]:
        """Only the filters that were given, for ``apply_filters(**filters)``."""
        if not self.is_valid():
            return {}
        return {key: value for key, value in self.cleaned_data.items() if value}


# --- case page forms --------------------------------------------------------------------------


class NoteForm(StyledForm):
    body = forms.CharField(
        label=_("Note"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    is_public = forms.BooleanField(
        label=_("Public: the reporter sees it on the tracking page"), required=False
    )


class AttachmentForm(StyledForm):
    file = forms.FileField(
        label=_("File"),
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp,application/pdf"}
        ),
        help_text=_("JPEG, PNG, WebP or PDF."),
    )
    is_public = forms.BooleanField(
        label=_("Public: the reporter sees it on the tracking page"), required=False
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        check_and_clean(upload)
        upload.seek(0)
        return upload


def _reason_field(required: bool = True, label: Any = None) -> forms.CharField:
    return forms.CharField(
        label=label or _("Reason"),
        required=required,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class EmptyForm(StyledForm):
    """Actions without input (accept, sign, resume)."""


class ReasonForm(StyledForm):
    reason = _reason_field()


class OptionalReasonForm(StyledForm):
    reason = _reason_field(required=False)


class AssignForm(StyledForm):
    unit = forms.ChoiceField(label=_("Assign to"), widget=PlainSelect)
    note = forms.CharField(label=_("Instructions"), required=False, max_length=1000)

    def __init__(self, *args: Any, units: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.units = {str(unit.public_id): unit for unit in units or []}
        self.fields["unit"].choices = [("", _("Choose a unit"))] + [
            (key, f"{unit.name}") for key, unit in self.units.items()
        ]

    def clean_unit(self) -> Any:
        # The choices may be rows read for the list alone (id and name): the service gets the
        # chosen unit read in full.
        return Unit.objects.get(pk=self.units[self.cleaned_data["unit"]].pk)


class EscalateForm(StyledForm):
    reason = _reason_field(required=False)


class SkipEscalateForm(StyledForm):
    target_level = forms.ChoiceField(
        label=_("Escalate to"),
        choices=[(Level.COUNTY, Level.COUNTY.label), (Level.CITY, Level.CITY.label)],
    )
    reason = _reason_field()


class ExtensionRequestForm(StyledForm):
    days = forms.IntegerField(label=_("Extra days"), min_value=1, max_value=90)
    reason = _reason_field()


class ExtensionDecisionForm(StyledForm):
    reason = _reason_field(required=False)


class FeedbackForm(StyledForm):
    method = forms.ChoiceField(label=_("How it was settled"), choices=ClosureMethod.choices)
    resolved = forms.TypedChoiceField(
        label=_("Resolved"),
        coerce=lambda value: value == "yes",
        choices=[("yes", _("Yes")), ("no", _("No"))],
    )
    summary = forms.CharField(
        label=_("Resolution notes"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class SuperviseForm(StyledForm):
    level = forms.TypedChoiceField(
        label=_("Supervision"),
        coerce=int,
        choices=[c for c in Supervision.choices if c[0] > 0],
    )
    reason = _reason_field()


class VisitForm(StyledForm):
    satisfaction = forms.TypedChoiceField(
        label=_("Satisfaction"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Not given"))] + [(n, str(n)) for n in range(5, 0, -1)],
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    comment = forms.CharField(
        label=_("What the reporter said"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class MetricsForm(PeriodForm):
    """Region (within the membership's scope) and period [since, until] for the metrics page."""

    region = forms.ChoiceField(label=_("Region"))
    since = forms.DateField(label=_("From"), widget=DateInput())
    until = forms.DateField(label=_("Until"), widget=DateInput())

    def __init__(self, *args: Any, regions: list[Region], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.regions = {region.code: region for region in regions}
        self.fields["region"].choices = [(r.code, _indented(r)) for r in regions]

    def clean_region(self) -> Region:
        return self.regions[self.cleaned_data["region"]]
