"""What the reporter's form and the operator's intake form share: filing the tip they describe,
and the service's refusals put back on the fields they concern."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from fengqiao.tips import services
from fengqiao.tips.forms import incoming_files

ACCUSED_FIELDS = ("name", "nickname", "age", "occupation", "id_number", "address", "workplace")
# Service field names that the form calls otherwise.
_FORM_FIELD = {
    "region_code": "county",
    "officials_region_code": "officials_level",
    "attachments": "files",
}


def accused_inputs(formset: Any) -> list[services.AccusedInput]:
    """Every row of the formset, in order (the service drops empty rows and names errors by
    position, so positions must match the formset's)."""
    return [
        services.AccusedInput(**{name: form.cleaned_data.get(name, "") for name in ACCUSED_FIELDS})
        for form in formset.forms
    ]


def submit_from_forms(form: Any, accused: Any, **extra: Any) -> services.Submission:
    """File the tip that a valid tip form and accused formset describe (``services.submit_tip``;
    ``extra`` carries what only operator mode gives: ``channel`` and ``operator``)."""
    data = form.cleaned_data
    return services.submit_tip(
        description=data["description"],
        region_code=data["region"].code,
        category=data["category"],
        place_text=data["place_text"],
        accused=accused_inputs(accused),
        officials_involved=data["officials_involved"],
        officials_region_code=data["officials_region_code"],
        officials_text=data["officials_text"],
        is_real_name=data["is_real_name"],
        reporter_name=data["reporter_name"],
        reporter_contact=data["reporter_contact"],
        attachments=incoming_files(data["files"]),
        **extra,
    )


def apply_service_errors(form: Any, accused: Any, exc: ValidationError) -> None:
    """Put a ``submit_tip`` refusal onto the form fields (``accused[2].id_number`` onto the third
    accused row); an error that names no field is about the files (``tips.attachments``)."""
    if not hasattr(exc, "error_dict"):
        form.add_error("files", exc.messages)
        return
    for key, messages in exc.message_dict.items():
        if key.startswith("accused[") and "]." in key:
            index_text, field = key[len("accused[") :].split("].", 1)
            index = int(index_text) if index_text.isdigit() else -1
            if 0 <= index < len(accused.forms) and field in accused.forms[index].fields:
                accused.forms[index].add_error(field, messages)
                continue
        name = _FORM_FIELD.get(key, key)
        form.add_error(name if name in form.fields else None, messages)
