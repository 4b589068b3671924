"""Forms for login, second factor, passwords, user administration and API tokens.

Every form validates on the server and says what is wrong per field (in Chinese by default).
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from fengqiao.accounts.models import User
from fengqiao.accounts.passwords import MAX_LENGTH
from fengqiao.accounts.roles import ADMIN_ROLES, Role
from fengqiao.accounts.services import TOKEN_LIFETIMES_DAYS
from fengqiao.regions.models import Unit, UnitKind

REQUIRED = {"required": _("This field is required.")}


def _password_field(label, autocomplete: str) -> forms.CharField:
    # Paste is allowed and nothing is trimmed: ASVS 6.2 (spaces count, managers welcome).
    return forms.CharField(
        label=label,
        strip=False,
        max_length=MAX_LENGTH * 2,
        error_messages=REQUIRED,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        error_messages=REQUIRED,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = _password_field(_("Password"), "current-password")


class CodeForm(forms.Form):
    # django-otp's field name, which password managers and browser tests know.
    otp_token = forms.CharField(
        label=_("Verification code"),
        min_length=6,
        max_length=6,
        error_messages={
            **REQUIRED,
            "min_length": _("Enter the 6-digit code from your authenticator app."),
            "max_length": _("Enter the 6-digit code from your authenticator app."),
        },
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]{6}",
                "autofocus": True,
            }
        ),
    )

    def clean_otp_token(self) -> str:
        code = self.cleaned_data["otp_token"].replace(" ", "")
        if not code.isdigit():
            raise ValidationError(_("Enter the 6-digit code from your authenticator app."))
        return code


class NewPasswordMixin(forms.Form):
    """Two new-password fields checked against AUTH_PASSWORD_VALIDATORS."""

    new_password1 = _password_field(_("New password"), "new-password")
    new_password2 = _password_field(_("New password again"), "new-password")

    user_for_validation: User | None = None

    def clean_new_password2(self) -> str:
        first = self.cleaned_data.get("new_password1")
        second = self.cleaned_data["new_password2"]
        if first and first != second:
            raise ValidationError(_("The two passwords do not match."))
        return second

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("new_password1")
        if password and not self.errors.get("new_password2"):
            candidate = self.user_for_validation or User(
                username=cleaned.get("username", ""), full_name=cleaned.get("full_name", "")
            )
            try:
                password_validation.validate_password(password, user=candidate)
            except ValidationError as exc:
                self.add_error("new_password1", exc)
        return cleaned


class PasswordChangeForm(NewPasswordMixin):
    old_password = _password_field(_("Current password"), "current-password")
    field_order = ["old_password", "new_password1", "new_password2"]

    def __init__(self, user: User, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user_for_validation = user

    def clean_old_password(self) -> str:
        password = self.cleaned_data["old_password"]
        if not self.user_for_validation.check_password(password):
            raise ValidationError(_("Your current password is not correct."))
        return password

    def clean(self):
        cleaned = super().clean()
        old, new = cleaned.get("old_password"), cleaned.get("new_password1")
        if old and new and old == new:
            self.add_error("new_password1", _("Choose a password different from the current one."))
        return cleaned


class UserCreateForm(NewPasswordMixin):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        error_messages=REQUIRED,
        help_text=_("Letters, digits and @ . + - _ only."),
    )
    full_name = forms.CharField(label=_("Full name"), max_length=100, error_messages=REQUIRED)
    field_order = ["username", "full_name", "new_password1", "new_password2"]

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError(_("A user with that username already exists."))
        return username


class InitialPasswordForm(NewPasswordMixin):
    def __init__(self, user: User, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user_for_validation = user


class UserSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=100, required=False)


def grantable_roles() -> list[tuple[str, str]]:
    """Roles the web may grant: every role but the three administrators (SECURITY 9)."""
    return [(value, label) for value, label in Role.choices if value not in ADMIN_ROLES]


class MembershipAddForm(forms.Form):
    """Pick a unit by region code and kind (the unit's name only when a region has several)."""

    region_code = forms.CharField(
        label=_("Region code"),
        max_length=15,
        error_messages=REQUIRED,
        help_text=_("Statistical code of the unit's region, e.g. 330681109."),
    )
    kind = forms.ChoiceField(
        label=_("Unit kind"), choices=UnitKind.choices, error_messages=REQUIRED
    )
    unit_name = forms.CharField(
        label=_("Unit name"),
        max_length=200,
        required=False,
        help_text=_("Only needed when the region has several units of this kind."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=grantable_roles, error_messages=REQUIRED)

    def __init__(self, *args, units=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The units the acting administrator may assign (already scoped by the view).
        self.units = units if units is not None else Unit.objects.none()
        self.unit: Unit | None = None

    def clean_region_code(self) -> str:
        code = self.cleaned_data["region_code"].strip()
        if not code.isdigit() or len(code) not in (6, 9, 12, 15):
            raise ValidationError(_("Enter a statistical code of 6, 9, 12 or 15 digits."))
        return code

    def clean(self):
        cleaned = super().clean()
        code, kind = cleaned.get("region_code"), cleaned.get("kind")
        if not code or not kind:
            return cleaned
        candidates = self.units.filter(region__code=code, kind=kind, is_active=True)
        name = (cleaned.get("unit_name") or "").strip()
        if name:
            candidates = candidates.filter(name=name)
        found = list(candidates.order_by("name")[:6])
        if not found:
            self.add_error(
                "region_code", _("No active unit of this kind in this region within your scope.")
            )
        elif len(found) > 1:
            self.add_error(
                "unit_name",
                _("Several units match: %(names)s. Enter the unit name.")
                % {"names": "、".join(unit.name for unit in found[:5])},
            )
        else:
            self.unit = found[0]
        return cleaned


class RoleChangeForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=grantable_roles, error_messages=REQUIRED)


def lifetime_choices() -> list[tuple[int, str]]:
    return [(days, gettext("%(days)d days") % {"days": days}) for days in TOKEN_LIFETIMES_DAYS]


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        error_messages=REQUIRED,
        help_text=_("What the token is for, e.g. the system that uses it."),
    )
    lifetime_days = forms.TypedChoiceField(
        label=_("Valid for"),
        coerce=int,
        choices=lifetime_choices,
        initial=90,
        error_messages=REQUIRED,
    )
