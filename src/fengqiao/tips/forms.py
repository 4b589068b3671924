"""Forms of the tip pages: the reporter's form, receipt lookup and reply, staff actions, intake,
statistics.

Forms parse and check input only (lengths, enums, ID numbers by check digit, regions that exist);
every change is one call into ``tips.services``, which checks again and owns the transaction.
Files are not opened here: the service reads, type-checks and strips them (``tips.attachments``),
so a refused file is reported once, by the service, with its reason.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fengqiao.core.forms import DateInput, StyledForm
from fengqiao.core.validators import validate_id_number
from fengqiao.regions.models import Level, Region, Unit
from fengqiao.tips import attachments
from fengqiao.tips.models import (
    OPERATOR_CHANNELS,
    Category,
    Disposal,
    Opinion,
    Verification,
)
from fengqiao.tips.services import MAX_ACCUSED, MAX_DESCRIPTION, MAX_SHORT, MAX_TEXT

# Levels a reporter may pick the place down to: grids are an internal division, not an address.
PICK_LEVELS = (Level.COUNTY, Level.TOWN, Level.VILLAGE)
# The officials' level, as a reporter knows it; the code is read off the place (officials_code).
OFFICIALS_LEVELS = [
    ("", _("Not sure")),
    (Level.VILLAGE, _("Village or community (村/社区干部)")),
    (Level.TOWN, _("Town or street (乡镇/街道)")),
    (Level.COUNTY, _("County or district (县/市/区)")),
    (Level.CITY, _("City (市)")),
]
# Code length of a region at each level below the city (regions.models: statistical codes).
_DEPTH = {Level.COUNTY: 6, Level.TOWN: 9, Level.VILLAGE: 12}
REPORTER_OPINIONS = [
    (value, label) for value, label in Opinion.choices if value != Opinion.NOT_GIVEN
]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class FilesField(forms.FileField):
    """Several files at once (Django's documented multiple-file pattern); the count is checked
    here, type, size and metadata by the service."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            MultipleFileInput(
                attrs={"accept": "image/jpeg,image/png,image/webp,image/gif,text/plain"}
            ),
        )
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > attachments.max_files():
            raise ValidationError(
                _("Attach at most %(count)d files.") % {"count": attachments.max_files()},
                code="too_many_files",
            )
        for upload in files:
            super().clean(upload, initial)
        return files


def incoming_files(uploads: list[Any]) -> list[attachments.IncomingFile]:
    """The uploads as the services take them (read up to one byte past the size limit)."""
    return [attachments.read_upload(upload) for upload in uploads]


def officials_code(region: Region, level: str) -> str:
    """The code of the officials' region: the place's ancestor at ``level``.

    When the place was given less precisely than the level (a county picked, officials of a
    village), the place itself stands in: it covers the officials' region, so the bypass keeps
    the tip away from at least as many units as it should.
    """
    if not level or region.level == Level.PROVINCE:
        return ""
    if level == Level.CITY:
        return region.code[:4] + "00"
    depth = _DEPTH[level]
    return region.code[:depth] if len(region.code) >= depth else region.code


def root_region() -> Region | None:
    """The deployment's single top region (the city), the place of a tip given only as text."""
    roots = list(Region.objects.filter(parent__isnull=True).order_by("code")[:2])
    while len(roots) == 1 and roots[0].level == Level.PROVINCE:
        roots = list(Region.objects.children_of(roots[0]).order_by("code")[:2])
    return roots[0] if len(roots) == 1 else None


# --- the reporter's tip -------------------------------------------------------------------------


class AccusedForm(StyledForm):
    """One accused person (被举报人); every field optional, an empty row is dropped."""

    name = forms.CharField(label=_("Full name"), required=False, max_length=MAX_SHORT)
    nickname = forms.CharField(label=_("Nickname"), required=False, max_length=MAX_SHORT)
    age = forms.CharField(
        label=_("Age"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        help_text=_("An estimate is fine, e.g. about 40."),
    )
    occupation = forms.CharField(label=_("Occupation"), required=False, max_length=MAX_SHORT)
    id_number = forms.CharField(label=_("ID number"), required=False, max_length=MAX_SHORT)
    address = forms.CharField(label=_("Address"), required=False, max_length=MAX_SHORT)
    workplace = forms.CharField(label=_("Workplace"), required=False, max_length=MAX_SHORT)

    def clean_id_number(self) -> str:
        value = self.cleaned_data["id_number"].strip()
        if value:
            validate_id_number(value)
        return value


AccusedFormSet = forms.formset_factory(
    AccusedForm, extra=1, max_num=MAX_ACCUSED, absolute_max=MAX_ACCUSED, validate_max=True
)


def accused_formset(data: Any = None) -> Any:
    return AccusedFormSet(data, prefix="accused")


class TipForm(StyledForm):
    """A tip (举报): what, where, who, whether officials protect them, files, and optionally who
    is reporting. Used by the public page and, with ``channel``, by operator intake."""

    category = forms.ChoiceField(
        label=_("What kind of matter is it?"),
        choices=Category.choices,
        initial=Category.OTHER,
    )
    # The region picker: the deepest level picked wins (see clean()).
    county = forms.CharField(label=_("County / district"), required=False, max_length=15)
    town = forms.CharField(label=_("Town / street"), required=False, max_length=15)
    village = forms.CharField(label=_("Village / community"), required=False, max_length=15)
    place_text = forms.CharField(
        label=_("Place"),
        required=False,
        max_length=MAX_SHORT,
        help_text=_("A street, a building, a landmark — whatever helps find the place."),
    )
    description = forms.CharField(
        label=_("What happened?"),
        max_length=MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 7}),
        help_text=_(
            "Who did what, when and where; who was harmed; what you saw yourself and what you "
            "heard from others."
        ),
    )
    officials_involved = forms.BooleanField(
        label=_("Officials protect them or take part (保护伞)"), required=False
    )
    officials_level = forms.ChoiceField(
        label=_("Where do these officials work?"),
        choices=OFFICIALS_LEVELS,
        required=False,
        help_text=_(
            "Your tip then goes to the office one level above them, and their own level never "
            "sees it."
        ),
    )
    officials_text = forms.CharField(
        label=_("Which officials or which unit?"),
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    files = FilesField(
        label=_("Pictures or text files"),
        help_text=_(
            "Up to 10 files. Location and camera details are removed from pictures. Documents "
            "(PDF, Word) can reveal their author and are not accepted: photograph the pages."
        ),
    )
    is_real_name = forms.BooleanField(label=_("I report under my real name"), required=False)
    reporter_name = forms.CharField(label=_("Your name"), required=False, max_length=MAX_SHORT)
    reporter_contact = forms.CharField(
        label=_("How to reach you"),
        required=False,
        max_length=MAX_SHORT,
        help_text=_(
            "A phone number or address. Only the office handling the tip can ask to see it."
        ),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        try:
            cleaned["region"] = self._region(cleaned)
        except ValidationError as exc:
            self.add_error("county", exc)
            return cleaned
        if cleaned.get("officials_involved") and cleaned["region"] is not None:
            cleaned["officials_region_code"] = officials_code(
                cleaned["region"], cleaned.get("officials_level", "")
            )
        else:
            cleaned["officials_region_code"] = ""
        if not cleaned.get("is_real_name") and (
            cleaned.get("reporter_name") or cleaned.get("reporter_contact")
        ):
            self.add_error(
                "is_real_name",
                _("You gave a name or contact: tick “I report under my real name”, or clear them."),
            )
        if cleaned.get("is_real_name") and not cleaned.get("reporter_name"):
            self.add_error("reporter_name", _("A real-name report needs your name."))
        return cleaned

    def _region(self, cleaned: dict[str, Any]) -> Region | None:
        codes = [cleaned.get(name) or "" for name in ("village", "town", "county")]
        code = next((c for c in codes if c), "")
        if not code:
            region = root_region()
            if region is None or not cleaned.get("place_text"):
                raise ValidationError(_("Pick the county at least, or describe the place."))
            return region
        region = Region.objects.filter(code=code, level__in=PICK_LEVELS).first()
        if region is None or not all(not c or code.startswith(c) for c in codes):
            raise ValidationError(_("The area picked is not known; pick it again."))
        return region


class IntakeForm(TipForm):
    """Operator mode (phone, letter, walk-in): the same tip, filed on the reporter's behalf."""

    channel = forms.ChoiceField(
        label=_("How did the tip come in?"),
        choices=[(c.value, c.label) for c in OPERATOR_CHANNELS],
    )
    field_order = ["channel"]


# --- the reporter checks back -------------------------------------------------------------------


class ReceiptForm(StyledForm):
    """The receipt, typed as printed (dashes and spaces allowed; the service reads the digits)."""

    receipt = forms.CharField(
        label=_("Receipt"),
        max_length=40,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "off",
                "autocapitalize": "off",
                "spellcheck": "false",
                "placeholder": "0000-0000-0000-0000-0000-0",
            }
        ),
    )


class ReplyForm(StyledForm):
    """The reporter answers the handler and/or adds material while the tip is open."""

    receipt = forms.CharField(widget=forms.HiddenInput, max_length=40)
    body = forms.CharField(
        label=_("Your message"),
        required=False,
        max_length=MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    files = FilesField(label=_("Add pictures or text files"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not (cleaned.get("body") or "").strip() and not cleaned.get("files"):
            raise ValidationError(_("Write a message or attach a file."))
        return cleaned


class OpinionForm(StyledForm):
    """The reporter's opinion of the handling (举报人意见), once action was taken."""

    receipt = forms.CharField(widget=forms.HiddenInput, max_length=40)
    opinion = forms.ChoiceField(
        label=_("What do you think of the handling?"),
        choices=REPORTER_OPINIONS,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["opinion"].widget.attrs["class"] = "form-check-input"


# --- staff actions ------------------------------------------------------------------------------


class EmptyForm(StyledForm):
    """An action that needs nothing but the click."""


class AcceptForm(StyledForm):
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)


class MergeForm(StyledForm):
    target = forms.RegexField(
        label=_("Reference of the earlier tip"),
        regex=r"^\s*XS-[0-9A-Z]{4}-[0-9A-Z]{4}\s*$",
        max_length=20,
        help_text=_("e.g. XS-7KQ2-M9DA; the candidates below fill it in."),
        error_messages={"invalid": _("A tip reference looks like XS-7KQ2-M9DA.")},
    )

    def clean_target(self) -> str:
        return self.cleaned_data["target"].strip().upper()


class RejectForm(StyledForm):
    reason = forms.CharField(
        label=_("Why is it not gang-related?"),
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Internal: the reporter does not see this."),
    )
    message_to_reporter = forms.CharField(
        label=_("Message to the reporter"),
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional, e.g. where else the matter can be reported."),
    )


class FlagOfficialsForm(StyledForm):
    officials_region_code = forms.ChoiceField(label=_("Where do the officials work?"))
    officials_text = forms.CharField(
        label=_("Which officials or which unit?"),
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, regions: list[Region], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["officials_region_code"].choices = [
            (region.code, f"{region.get_level_display()} · {region.display_name}")
            for region in regions
        ]


class UnitChoiceField(forms.ChoiceField):
    """A unit picked by its public id among the units offered (never by integer key)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units: dict[str, Unit] = {}

    def set_units(self, units: list[Unit], *, blank: str | None = None) -> None:
        self.units = {str(unit.public_id): unit for unit in units}
        choices = [(key, f"{unit.name}") for key, unit in self.units.items()]
        self.choices = ([("", blank)] if blank is not None else []) + choices

    def clean(self, value: Any) -> Unit | None:
        key = super().clean(value)
        return self.units.get(key) if key else None


class AssignForm(StyledForm):
    unit = UnitChoiceField(label=_("Assign to"))

    def __init__(self, *args: Any, units: list[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].set_units(units)


class TransferForm(StyledForm):
    unit = UnitChoiceField(label=_("Transfer to"))
    reason = forms.CharField(
        label=_("Reason"), max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, units: list[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].set_units(units)


class VerifyForm(StyledForm):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Verification.choices)
    summary = forms.CharField(
        label=_("What was found"),
        max_length=MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class DisposeForm(StyledForm):
    disposal = forms.ChoiceField(label=_("Disposal"), choices=Disposal.choices)
    unit = UnitChoiceField(label=_("Organ on the platform"), required=False)
    unit_name = forms.CharField(
        label=_("Organ outside the platform"),
        required=False,
        max_length=MAX_SHORT,
        help_text=_("For a case opened or a transfer: the organ, if it is not in the list."),
    )
    charges = forms.CharField(
        label=_("Suspected charges"),
        required=False,
        max_length=MAX_SHORT,
        help_text=_("For a case opened, e.g. 寻衅滋事罪, 强迫交易罪."),
    )
    case_opened_on = forms.DateField(label=_("Case opened on"), required=False, widget=DateInput())
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required for “investigated and punished”: say what was done."),
    )

    def __init__(self, *args: Any, units: list[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].set_units(units, blank=_("— not on the platform —"))
        self.fields["case_opened_on"].widget.attrs["max"] = timezone.localdate().isoformat()


class CloseForm(StyledForm):
    opinion = forms.ChoiceField(
        label=_("Reporter's opinion"),
        choices=[("", _("Not given"))] + REPORTER_OPINIONS,
        required=False,
        help_text=_("Record the opinion the reporter gave by phone or letter, if any."),
    )
    comment = forms.CharField(
        label=_("Reporter's comment"),
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class LinkCaseForm(StyledForm):
    case_code = forms.RegexField(
        label=_("Case code"),
        regex=r"^\s*[0-9A-Za-z-]{4,40}\s*$",
        max_length=40,
        help_text=_("The code of a case in the case engine, e.g. 330681-20260301-00042."),
        error_messages={"invalid": _("Enter a case code.")},
    )

    def clean_case_code(self) -> str:
        return self.cleaned_data["case_code"].strip()


class MessageForm(StyledForm):
    body = forms.CharField(
        label=_("Message to the reporter"),
        max_length=MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The reporter reads it with the receipt. Your name and unit are not shown."),
    )


class NoteForm(StyledForm):
    body = forms.CharField(
        label=_("Internal note"),
        max_length=MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For the units that see this tip; never shown to the reporter."),
    )


class RevealRequestForm(StyledForm):
    reason = forms.CharField(
        label=_("Why do you need the reporter's identity?"),
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Another person of the supervising office must approve. Both are audited."),
    )


# --- lists and statistics -----------------------------------------------------------------------


class StatisticsForm(StyledForm):
    region = forms.ChoiceField(label=_("Region"))
    start = forms.DateField(label=_("Received from"), widget=DateInput())
    end = forms.DateField(label=_("Received until"), widget=DateInput())

    def __init__(self, *args: Any, regions: list[Region], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [
            (region.code, region.full_name or region.display_name) for region in regions
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            raise ValidationError(_("The end date is before the start date."))
        return cleaned
