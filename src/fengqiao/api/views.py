"""Staff pages of the API app: Open311 client keys (issue once, list, revoke).

The Open311 endpoints themselves are in ``api.open311``; these pages are for operators
(Cap.OPEN311_KEYS) and show the keys issued in their own region subtree only.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from fengqiao.accounts.roles import Cap
from fengqiao.api import services
from fengqiao.api.forms import Open311ClientForm
from fengqiao.api.models import Open311Client
from fengqiao.core.access import requires


def _key_page(request: HttpRequest, form: Open311ClientForm, status: int = 200) -> HttpResponse:
    clients = Open311Client.objects.visible_to(request.membership).select_related("created_by")
    return render(
        request,
        "api/open311_keys.html",
        {"form": form, "clients": clients[:200]},
        status=status,
    )


@requires(Cap.OPEN311_KEYS)
@require_http_methods(["GET"])
def key_list(request: HttpRequest) -> HttpResponse:
    return _key_page(request, Open311ClientForm())


@requires(Cap.OPEN311_KEYS)
@require_http_methods(["GET", "POST"])
def key_create(request: HttpRequest) -> HttpResponse:
    """Issue a key for the operator's region and show it once; only its hash is kept."""
    if request.method == "GET":
        return redirect("open311_keys:list")
    form = Open311ClientForm(request.POST)
    if not form.is_valid():
        return _key_page(request, form, status=400)
    client, raw = services.create_client(
        name=form.cleaned_data["name"],
        region_code=request.membership.region_code,
        actor=request.user,
        membership=request.membership,
        request=request,
    )
    return render(request, "api/open311_key_created.html", {"client": client, "raw_key": raw})


@requires(Cap.OPEN311_KEYS)
@require_POST
def key_revoke(request: HttpRequest, prefix: str) -> HttpResponse:
    client = get_object_or_404(Open311Client.objects.visible_to(request.membership), prefix=prefix)
    services.revoke_client(
        client=client, actor=request.user, membership=request.membership, request=request
    )
    messages.success(request, _("The Open311 key “%(name)s” is revoked.") % {"name": client.name})
    return redirect("open311_keys:list")
