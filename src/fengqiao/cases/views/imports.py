"""Excel batch import page (批量导入) for staff who report cases, and its blank template."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from fengqiao.accounts.roles import Cap
from fengqiao.cases import imports
from fengqiao.core.access import requires
from fengqiao.core.forms import StyledForm

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportForm(StyledForm):
    file = forms.FileField(
        label=gettext_lazy("Excel file (.xlsx)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx," + XLSX_TYPE}),
        help_text=gettext_lazy("Use the template; at most 2,000 cases and 5 MB per file."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > imports.MAX_FILE_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB."))
        return upload


@requires(Cap.CASES_REPORT)
@require_http_methods(["GET", "POST"])
def import_cases(request: HttpRequest) -> HttpResponse:
    """Upload a workbook; any problem refuses the whole file and lists every bad cell."""
    form = ImportForm(request.POST or None, request.FILES or None)
    issues: list[imports.ImportIssue] = []
    if request.method == "POST" and form.is_valid():
        try:
            result = imports.import_cases(
                data=form.cleaned_data["file"].read(),
                actor=request.user,
                membership=request.membership,
            )
        except imports.ImportRejected as rejected:
            issues = rejected.issues
        else:
            if result.replayed:
                messages.info(
                    request,
                    _(
                        "This file was imported before; nothing was imported again "
                        "(%(count)d cases were created then)."
                    )
                    % {"count": len(result.created)},
                )
            else:
                messages.success(
                    request,
                    _(
                        "Imported %(created)d cases; %(skipped)d rows were skipped because their "
                        "external reference had been imported already."
                    )
                    % {"created": len(result.created), "skipped": len(result.skipped)},
                )
            return redirect("cases:import")
    return render(
        request,
        "cases/imports/import.html",
        {
            "form": form,
            "issues": issues,
            "columns": [(header, imports.COLUMN_HELP[name]) for name, header in imports.COLUMNS],
        },
    )


@requires(Cap.CASES_REPORT)
def import_template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(imports.build_template(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = 'attachment; filename="case-import-template.xlsx"'
    return response
