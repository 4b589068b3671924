"""A person's own pages: the workbench, switching role, personal API tokens."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from fengqiao.accounts import notifications, services, workbench
from fengqiao.accounts.forms import TokenCreateForm
from fengqiao.accounts.models import ApiToken, Membership
from fengqiao.accounts.navigation import home_url_for, nav_items_for
from fengqiao.accounts.roles import Cap
from fengqiao.core.access import requires


@require_http_methods(["GET"])
def workbench_view(request: HttpRequest) -> HttpResponse:
    """The to-do queues of the active membership; administrators land on their own home."""
    membership: Membership = request.membership
    if not membership.can(Cap.WORKBENCH):
        home = home_url_for(membership)
        if home is not None and home not in {reverse("accounts:workbench"), request.path}:
            return redirect(home)
        return render(
            request,
            "accounts/admin_home.html",
            {"membership": membership, "entries": nav_items_for(membership, request.path)},
        )
    return render(
        request,
        "accounts/workbench.html",
        {
            "membership": membership,
            "queues": workbench.queues_for(membership),
            "unread": notifications.unread_for(membership).count(),
        },
    )


@requires(Cap.WORKBENCH)
@require_http_methods(["GET"])
def notification_list(request: HttpRequest) -> HttpResponse:
    """Notices to the active membership's unit, unread first (cards, escalations, police reports)."""
    membership: Membership = request.membership
    page = Paginator(notifications.for_unit(membership), 50).get_page(request.GET.get("page"))
    return render(request, "accounts/notifications.html", {"membership": membership, "page": page})


@requires(Cap.WORKBENCH)
@require_POST
def notification_read(request: HttpRequest, public_id) -> HttpResponse:
    """Mark one notice of the unit as read and follow its link."""
    membership: Membership = request.membership
    notice = get_object_or_404(notifications.for_unit(membership), public_id=public_id)
    notifications.mark_read(membership=membership, user=request.user, public_id=public_id)
    target = notice.link if notice.link.startswith("/") and not notice.link.startswith("//") else ""
    return redirect(target or reverse("accounts:notifications"))


@require_POST
def switch_membership(request: HttpRequest) -> HttpResponse:
    """Act in another of one's own active memberships (audited)."""
    try:
        pk = int(request.POST.get("membership", ""))
    except ValueError as exc:
        raise Http404 from exc
    target = get_object_or_404(Membership.objects.active().of_user(request.user).with_unit(), pk=pk)
    services.switch_membership(
        session=request.session, user=request.user, target=target, request=request
    )
    messages.info(request, _("You are now acting as %(membership)s.") % {"membership": target})
    return redirect(home_url_for(target) or reverse("accounts:workbench"))


def _token_page(request: HttpRequest, form: TokenCreateForm, status: int = 200) -> HttpResponse:
    api_tokens = (
        ApiToken.objects.of_user(request.user)
        .select_related("membership", "membership__unit")
        .order_by("-created_at")
    )
    return render(
        request,
        "accounts/tokens.html",
        {"form": form, "api_tokens": api_tokens, "now": timezone.now()},
        status=status,
    )


@requires(Cap.API_TOKENS)
@require_http_methods(["GET"])
def token_list(request: HttpRequest) -> HttpResponse:
    return _token_page(request, TokenCreateForm())


@requires(Cap.API_TOKENS)
@require_http_methods(["GET", "POST"])
def token_create(request: HttpRequest) -> HttpResponse:
    """Issue a token for the active membership and show it once; only its hash is kept.

    Reachable only with a verified (password + TOTP) session: deny-by-default guards it.
    """
    if request.method == "GET":
        return redirect("accounts:tokens")
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return _token_page(request, form, status=400)
    api_token, raw = services.create_token(
        user=request.user,
        membership=request.membership,
        name=form.cleaned_data["name"],
        lifetime_days=form.cleaned_data["lifetime_days"],
        request=request,
    )
    return render(
        request, "accounts/token_created.html", {"api_token": api_token, "raw_token": raw}
    )


@requires(Cap.API_TOKENS)
@require_POST
def token_revoke(request: HttpRequest, prefix: str) -> HttpResponse:
    api_token = get_object_or_404(ApiToken.objects.of_user(request.user), prefix=prefix)
    services.revoke_token(api_token=api_token, actor=request.user, request=request)
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": api_token.name})
    return redirect("accounts:tokens")
