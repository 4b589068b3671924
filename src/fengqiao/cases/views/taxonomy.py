"""Taxonomy administration (事项分类管理), system administrator only: categories per taxonomy with
their routing rules, and the clock policies. Every save goes through ``cases.taxonomy``, which
writes the ``cases.taxonomy_changed`` audit event."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from fengqiao.accounts.roles import Cap
from fengqiao.cases import taxonomy
from fengqiao.cases.models import Category, CategoryRule, ClockPolicy, DayBasis, Severity, Taxonomy
from fengqiao.core.access import requires
from fengqiao.core.forms import StyledForm
from fengqiao.regions.models import Level, UnitKind

# Levels a case can be routed to (grids report into their village; the province is not a unit).
ROUTING_LEVELS = [
    (level.value, level.label) for level in (Level.VILLAGE, Level.TOWN, Level.COUNTY, Level.CITY)
]


class CategoryForm(StyledForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    name_en = forms.CharField(label=gettext_lazy("English name"), max_length=100, required=False)
    is_active = forms.BooleanField(
        label=gettext_lazy("Active (offered when reporting)"), required=False
    )
    statistics_class = forms.ModelChoiceField(
        label=gettext_lazy("People's mediation statistics class"),
        queryset=Category.objects.of_taxonomy(Taxonomy.MEDIATION_STATS).order_by("sort_order"),
        required=False,
        empty_label="—",
        help_text=gettext_lazy("Dispute categories only: the class they count under."),
    )
    sort_order = forms.IntegerField(
        label=gettext_lazy("Order"),
        min_value=0,
        max_value=100_000,
        help_text=gettext_lazy("Smaller numbers come first."),
    )

    def __init__(self, *args, category: Category, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if category.kind != "dispute" or category.taxonomy == Taxonomy.MEDIATION_STATS:
            del self.fields["statistics_class"]


class RuleForm(StyledForm):
    default_level = forms.ChoiceField(label=gettext_lazy("Default level"), choices=ROUTING_LEVELS)
    handling_unit_kind = forms.ChoiceField(
        label=gettext_lazy("Handling unit kind"), choices=UnitKind.choices
    )
    escalate_severity = forms.TypedChoiceField(
        label=gettext_lazy("Raise the level from severity"),
        choices=[("", "—"), *Severity.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    escalate_level = forms.ChoiceField(
        label=gettext_lazy("Level for grave cases"),
        choices=[("", "—"), *ROUTING_LEVELS],
        required=False,
    )
    clock_policy = forms.ModelChoiceField(
        label=gettext_lazy("Clock policy"), queryset=ClockPolicy.objects.all(), empty_label=None
    )

    def clean(self):
        cleaned = super().clean()
        if "default_level" in cleaned and "escalate_level" in cleaned:
            try:
                taxonomy.check_rule_levels(
                    cleaned["default_level"],
                    cleaned.get("escalate_severity"),
                    cleaned["escalate_level"],
                )
            except ValidationError as exc:
                for field_name, errors in exc.message_dict.items():
                    for error in errors:
                        self.add_error(field_name, error)
        return cleaned


def _days(label, *, low: int = 1, high: int = 3650) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=low, max_value=high)


def _points(label) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=-100, max_value=100)


class ClockPolicyForm(StyledForm):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=40,
        validators=[
            RegexValidator(
                r"^[a-z][a-z0-9_]{1,39}$",
                gettext_lazy(
                    "Use 2–40 lower-case letters, digits and underscores, starting with a letter."
                ),
            )
        ],
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    basis = forms.ChoiceField(label=gettext_lazy("Day basis"), choices=DayBasis.choices)
    accept_days = _days(gettext_lazy("Acceptance limit (days)"))
    accept_red_days = _days(gettext_lazy("Acceptance red card (days)"))
    handle_days = _days(gettext_lazy("Handling limit (days)"))
    handle_red_days = _days(gettext_lazy("Handling red card (days)"))
    max_handle_days = _days(gettext_lazy("Handling cap (natural days)"))
    urgent_handle_days = _days(gettext_lazy("Urgent handling limit (natural days)"))
    due_soon_hours = _days(gettext_lazy("Due soon window (hours)"), high=720)
    visit_after_days = _days(gettext_lazy("Follow-up visit after closure (days)"), low=0)
    max_extension_days = _days(gettext_lazy("Longest extension (days)"), low=0)
    points_on_time = _points(gettext_lazy("Points for on-time handling"))
    points_yellow = _points(gettext_lazy("Points for a yellow card"))
    points_red = _points(gettext_lazy("Points for a red card"))

    def __init__(self, *args, policy: ClockPolicy | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if policy is not None:
            # The code is the policy's identity (shipped data and rules refer to it).
            del self.fields["code"]

    def clean(self):
        cleaned = super().clean()
        limits = ("accept_days", "accept_red_days", "handle_days", "handle_red_days")
        if all(cleaned.get(name) is not None for name in limits):
            try:
                taxonomy.check_policy_limits(cleaned)
            except ValidationError as exc:
                for field_name, errors in exc.message_dict.items():
                    for error in errors:
                        self.add_error(field_name, error)
        return cleaned


def _apply_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field_name, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field_name if field_name in form.fields else None, error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


def _category_or_404(code: str) -> Category:
    category = (
        Category.objects.select_related("parent", "statistics_class").filter(code=code).first()
    )
    if category is None:
        raise Http404
    return category


def _list_url(taxonomy_code: str) -> str:
    return f"{reverse('cases:taxonomy')}?{urlencode({'taxonomy': taxonomy_code})}"


@requires(Cap.TAXONOMY_MANAGE)
def category_list(request: HttpRequest) -> HttpResponse:
    """The categories of one taxonomy as a tree, each with its rule and clock policy."""
    current = request.GET.get("taxonomy") or Taxonomy.GRID_DISPUTE
    if current not in Taxonomy.values:
        current = Taxonomy.GRID_DISPUTE
    categories = list(
        Category.objects.of_taxonomy(current)
        .select_related("statistics_class", "rule__clock_policy")
        .order_by("sort_order", "code")
    )
    children: dict[int | None, list[Category]] = {}
    for category in categories:
        children.setdefault(category.parent_id, []).append(category)
    rows: list[tuple[Category, int, CategoryRule | None]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for category in children.get(parent_id, []):
            rows.append((category, depth, getattr(category, "rule", None)))
            walk(category.pk, depth + 1)

    walk(None, 0)
    return render(
        request,
        "cases/taxonomy/category_list.html",
        {
            "taxonomies": Taxonomy.choices,
            "current": current,
            "rows": [
                {"category": category, "depth": depth, "rule": rule, "indent": range(depth)}
                for category, depth, rule in rows
            ],
        },
    )


@requires(Cap.TAXONOMY_MANAGE)
@require_http_methods(["GET", "POST"])
def category_edit(request: HttpRequest, category_code: str) -> HttpResponse:
    category = _category_or_404(category_code)
    form = CategoryForm(
        request.POST or None,
        category=category,
        initial={
            "name": category.name,
            "name_en": category.name_en,
            "is_active": category.is_active,
            "statistics_class": category.statistics_class,
            "sort_order": category.sort_order,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            taxonomy.update_category(
                category,
                actor=request.user,
                membership=request.membership,
                name=data["name"],
                name_en=data["name_en"],
                is_active=data["is_active"],
                statistics_class=data.get("statistics_class"),
                sort_order=data["sort_order"],
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(
                request, _("The category %(code)s was saved.") % {"code": category.code}
            )
            return redirect(_list_url(category.taxonomy))
    return render(
        request, "cases/taxonomy/category_form.html", {"form": form, "category": category}
    )


@requires(Cap.TAXONOMY_MANAGE)
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, category_code: str) -> HttpResponse:
    category = _category_or_404(category_code)
    if not category.is_reportable:
        raise Http404
    rule = CategoryRule.objects.filter(category=category).first()
    initial = {}
    if rule is not None:
        initial = {
            "default_level": rule.default_level,
            "handling_unit_kind": rule.handling_unit_kind,
            "escalate_severity": rule.escalate_severity,
            "escalate_level": rule.escalate_level,
            "clock_policy": rule.clock_policy_id,
        }
    form = RuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            taxonomy.save_rule(
                category,
                actor=request.user,
                membership=request.membership,
                default_level=data["default_level"],
                handling_unit_kind=data["handling_unit_kind"],
                escalate_severity=data["escalate_severity"],
                escalate_level=data["escalate_level"],
                clock_policy=data["clock_policy"],
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(
                request, _("The routing rule of %(code)s was saved.") % {"code": category.code}
            )
            return redirect(_list_url(category.taxonomy))
    return render(
        request,
        "cases/taxonomy/rule_form.html",
        {"form": form, "category": category, "rule": rule},
    )


@requires(Cap.TAXONOMY_MANAGE)
def clock_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "cases/taxonomy/clock_list.html",
        {"policies": ClockPolicy.objects.order_by("code")},
    )


def _policy_values(data: dict) -> dict:
    return {name: data[name] for name in taxonomy.POLICY_FIELDS}


@requires(Cap.TAXONOMY_MANAGE)
@require_http_methods(["GET", "POST"])
def clock_add(request: HttpRequest) -> HttpResponse:
    shipped = taxonomy.shipped_data()["clock_policies"][0]
    form = ClockPolicyForm(
        request.POST or None,
        initial={name: shipped[name] for name in taxonomy.POLICY_FIELDS if name != "name"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            policy = taxonomy.save_clock_policy(
                None,
                actor=request.user,
                membership=request.membership,
                code=form.cleaned_data["code"],
                **_policy_values(form.cleaned_data),
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(
                request, _("The clock policy %(code)s was added.") % {"code": policy.code}
            )
            return redirect("cases:taxonomy_clocks")
    return render(request, "cases/taxonomy/clock_form.html", {"form": form, "policy": None})


@requires(Cap.TAXONOMY_MANAGE)
@require_http_methods(["GET", "POST"])
def clock_edit(request: HttpRequest, policy_code: str) -> HttpResponse:
    policy = ClockPolicy.objects.filter(code=policy_code).first()
    if policy is None:
        raise Http404
    form = ClockPolicyForm(
        request.POST or None,
        policy=policy,
        initial={name: getattr(policy, name) for name in taxonomy.POLICY_FIELDS},
    )
    if request.method == "POST" and form.is_valid():
        try:
            taxonomy.save_clock_policy(
                policy,
                actor=request.user,
                membership=request.membership,
                **_policy_values(form.cleaned_data),
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(
                request, _("The clock policy %(code)s was saved.") % {"code": policy.code}
            )
            return redirect("cases:taxonomy_clocks")
    return render(
        request,
        "cases/taxonomy/clock_form.html",
        {"form": form, "policy": policy, "rule_count": policy.rules.count()},
    )
