"""Case attachments: upload through the service, download only through this authorising view.

Files live under random names outside the static tree (SECURITY 15). A download checks that the
case is visible to the membership (else 404, like a missing file), is audited, and is always an
attachment with the stored content type and ``nosniff``, so a browser never renders an uploaded
file as a page of the platform.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from fengqiao.accounts.roles import Cap
from fengqiao.cases import services
from fengqiao.cases.errors import WorkflowError
from fengqiao.cases.forms import AttachmentForm
from fengqiao.cases.models import Attachment
from fengqiao.cases.views.work import render_case_page, visible_case_or_404
from fengqiao.core import audit
from fengqiao.core.access import requires


@requires(Cap.CASES_HANDLE)
@require_POST
def upload(request: HttpRequest, case_code: str) -> HttpResponse:
    case = visible_case_or_404(request, case_code)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.add_attachment(
                case,
                actor=request.user,
                membership=request.membership,
                upload=form.cleaned_data["file"],
                is_public=form.cleaned_data["is_public"],
            )
        except WorkflowError as exc:
            form.add_error("file" if exc.field == "upload" else None, exc.message)
        else:
            messages.success(request, _("The file was attached."))
            return redirect("cases:detail", case_code=case.code)
    return render_case_page(request, case, attachment_form=form, status=400)


@requires(Cap.CASES_VIEW)
@require_GET
def download(request: HttpRequest, case_code: str, attachment_id: UUID) -> HttpResponse:
    case = visible_case_or_404(request, case_code)
    attachment = Attachment.objects.filter(case=case, public_id=attachment_id).first()
    if attachment is None:
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    audit.record(
        "cases.attachment_downloaded",
        request=request,
        obj=case,
        detail={"code": case.code, "attachment": str(attachment.public_id)},
    )
    return attachment_response(handle, attachment)


def attachment_response(handle, attachment: Attachment) -> FileResponse:
    """A stored attachment as a download: its checked type, its name, never rendered inline."""
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "no-store"
    return response
