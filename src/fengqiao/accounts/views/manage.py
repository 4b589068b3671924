"""System administrator pages: users and memberships (SECURITY 9).

Everything is scoped to the administrator's region (``User.objects.manageable_by``); a user or
unit outside it answers 404. The three administrator roles are not offered and are refused by the
services: they are granted only with ``fengqiao accounts grant-admin``.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from fengqiao.accounts import services
from fengqiao.accounts.forms import (
    InitialPasswordForm,
    MembershipAddForm,
    RoleChangeForm,
    UserCreateForm,
    UserSearchForm,
)
from fengqiao.accounts.models import Membership, User
from fengqiao.accounts.roles import ADMIN_ROLES, Cap
from fengqiao.core.access import requires
from fengqiao.regions.models import Unit

PAGE_SIZE = 50


def _manageable_users(request: HttpRequest):
    return User.objects.manageable_by(request.membership)


def _get_user(request: HttpRequest, public_id) -> User:
    return get_object_or_404(_manageable_users(request), public_id=public_id)


def _scoped_units(request: HttpRequest):
    return Unit.objects.visible_to(request.membership).select_related("region")


def _user_membership(request: HttpRequest, user: User) -> Membership:
    try:
        pk = int(request.POST.get("membership", ""))
    except ValueError as exc:
        raise Http404 from exc
    return get_object_or_404(
        Membership.objects.visible_to(request.membership).with_unit().filter(user=user), pk=pk
    )


@requires(Cap.USERS_MANAGE)
@require_http_methods(["GET"])
def user_list(request: HttpRequest) -> HttpResponse:
    form = UserSearchForm(request.GET or None)
    users = _manageable_users(request)
    if form.is_valid():
        users = users.search(form.cleaned_data["q"])
    users = users.order_by("username").prefetch_related(
        Prefetch(
            "memberships",
            queryset=Membership.objects.filter(is_active=True).with_unit(),
            to_attr="active_memberships",
        )
    )
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "accounts/manage/user_list.html", {"form": form, "page": page})


@requires(Cap.USERS_MANAGE)
@require_http_methods(["GET", "POST"])
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.create_user(
                username=form.cleaned_data["username"],
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["new_password1"],
                actor=request.user,
                membership=request.membership,
                request=request,
            )
        except ValidationError as exc:
            form.add_error("new_password1", exc)
        except services.AccountsError as exc:
            form.add_error("username", str(exc))
        else:
            messages.success(
                request,
                _(
                    "User %(username)s created. They must change the password and enrol an "
                    "authenticator at first login."
                )
                % {"username": user.username},
            )
            return redirect("accounts:user_detail", public_id=user.public_id)
    return render(request, "accounts/manage/user_form.html", {"form": form})


def _detail_page(
    request: HttpRequest,
    user: User,
    *,
    add_form: MembershipAddForm | None = None,
    password_form: InitialPasswordForm | None = None,
    status: int = 200,
) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=user)
        .with_unit()
        .order_by("-is_active", "region_code", "role")
    )
    rows = [
        {
            "membership": membership,
            "admin_role": membership.role in ADMIN_ROLES,
            "in_scope": membership.region_code.startswith(request.membership.scope_prefix),
            "role_form": RoleChangeForm(initial={"role": membership.role}),
        }
        for membership in memberships
    ]
    return render(
        request,
        "accounts/manage/user_detail.html",
        {
            "subject": user,
            "rows": rows,
            "holds_admin_role": any(r["admin_role"] and r["membership"].is_active for r in rows),
            "add_form": add_form or MembershipAddForm(units=_scoped_units(request)),
            "password_form": password_form or InitialPasswordForm(user),
            "can_manage_memberships": request.membership.can(Cap.MEMBERSHIPS_MANAGE),
        },
        status=status,
    )


@requires(Cap.USERS_MANAGE)
@require_http_methods(["GET"])
def user_detail(request: HttpRequest, public_id) -> HttpResponse:
    return _detail_page(request, _get_user(request, public_id))


def _apply(request: HttpRequest, action, success: str) -> bool:
    """Run a service call; turn a refusal into an error message. True when it went through."""
    try:
        action()
    except services.AccountsError as exc:
        messages.error(request, str(exc))
        return False
    messages.success(request, success)
    return True


@requires(Cap.USERS_MANAGE)
@require_POST
def user_disable(request: HttpRequest, public_id) -> HttpResponse:
    user = _get_user(request, public_id)
    _apply(
        request,
        lambda: services.disable_user(
            user=user, actor=request.user, membership=request.membership, request=request
        ),
        _("The account is disabled; its sessions and API tokens have ended."),
    )
    return redirect("accounts:user_detail", public_id=user.public_id)


@requires(Cap.USERS_MANAGE)
@require_POST
def user_enable(request: HttpRequest, public_id) -> HttpResponse:
    user = _get_user(request, public_id)
    _apply(
        request,
        lambda: services.enable_user(
            user=user, actor=request.user, membership=request.membership, request=request
        ),
        _("The account is enabled again."),
    )
    return redirect("accounts:user_detail", public_id=user.public_id)


@requires(Cap.USERS_MANAGE)
@require_POST
def user_password(request: HttpRequest, public_id) -> HttpResponse:
    user = _get_user(request, public_id)
    form = InitialPasswordForm(user, request.POST)
    if form.is_valid():
        try:
            services.set_initial_password(
                user=user,
                password=form.cleaned_data["new_password1"],
                actor=request.user,
                membership=request.membership,
                request=request,
            )
        except ValidationError as exc:
            form.add_error("new_password1", exc)
        except services.AccountsError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("New initial password set; the user must change it at next login.")
            )
            return redirect("accounts:user_detail", public_id=user.public_id)
    return _detail_page(request, user, password_form=form, status=400)


@requires(Cap.MEMBERSHIPS_MANAGE)
@require_POST
def membership_add(request: HttpRequest, public_id) -> HttpResponse:
    user = _get_user(request, public_id)
    form = MembershipAddForm(request.POST, units=_scoped_units(request))
    if form.is_valid():
        try:
            services.add_membership(
                user=user,
                unit=form.unit,
                role=form.cleaned_data["role"],
                actor=request.user,
                membership=request.membership,
                request=request,
            )
        except services.AccountsError as exc:
            form.add_error("role", str(exc))
        else:
            messages.success(request, _("The role has been added."))
            return redirect("accounts:user_detail", public_id=user.public_id)
    return _detail_page(request, user, add_form=form, status=400)


@requires(Cap.MEMBERSHIPS_MANAGE)
@require_POST
def membership_remove(request: HttpRequest, public_id) -> HttpResponse:
    user = _get_user(request, public_id)
    target = _user_membership(request, user)
    _apply(
        request,
        lambda: services.remove_membership(
            target=target, actor=request.user, membership=request.membership, request=request
        ),
        _("The role has been removed; the user's sessions have ended."),
    )
    return redirect("accounts:user_detail", public_id=user.public_id)


@requires(Cap.MEMBERSHIPS_MANAGE)
@require_POST
def membership_role(request: HttpRequest, public_id) -> HttpResponse:
    user = _get_user(request, public_id)
    target = _user_membership(request, user)
    form = RoleChangeForm(request.POST)
    if not form.is_valid():
        # The only way to get here is a role that is not offered, e.g. an administrator role.
        messages.error(request, _("Choose one of the offered roles."))
        return redirect("accounts:user_detail", public_id=user.public_id)
    _apply(
        request,
        lambda: services.change_membership_role(
            target=target,
            role=form.cleaned_data["role"],
            actor=request.user,
            membership=request.membership,
            request=request,
        ),
        _("The role has been changed; the user's sessions have ended."),
    )
    return redirect("accounts:user_detail", public_id=user.public_id)
