"""Forms of the API app's staff pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class Open311ClientForm(forms.Form):
    name = forms.CharField(
        label=_("Client name"),
        max_length=100,
        error_messages={"required": _("This field is required.")},
        help_text=_("Who will use the key, e.g. the 12345 hotline platform."),
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("This field is required."), code="required")
        return name
