"""The shipped case taxonomy (事项分类) and the system administrator's edits to it.

``data/taxonomy.json`` holds every tree of DOMAIN §3 — the 19 grid dispute types (broad ones split
so each leaf maps to one 人民调解 statistics class), the statistics classes themselves, public
security and hazard types, livelihood services, 信访 types — with a routing rule per reportable
category and the clock policies of DOMAIN §2 (see ``data/README.md`` for the choices made).

``load_shipped`` writes it: the data migration ``0002_seed_taxonomy`` runs it on historical
models, so every database (production, not only the demo) has the taxonomy, and
``fengqiao cases load-taxonomy`` runs it by hand. The edit services below are the only writers of
the admin pages; each writes a ``cases.taxonomy_changed`` audit event in its transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from fengqiao.cases.models import Category, CategoryRule, ClockPolicy, Taxonomy
from fengqiao.core import audit
from fengqiao.regions.models import LEVEL_ORDER

SHIPPED_TAXONOMY = Path(__file__).resolve().parent / "data" / "taxonomy.json"
# Statistics classes are loaded first so grid categories can point at them.
LOAD_ORDER = (
    Taxonomy.MEDIATION_STATS,
    Taxonomy.GRID_DISPUTE,
    Taxonomy.SECURITY,
    Taxonomy.LIVELIHOOD,
    Taxonomy.PETITION,
)
# sort_order is numbered depth-first in steps of 10, so the flat ordering is the tree's order
# and an administrator can slot a category in between without renumbering.
ORDER_STEP = 10


@cache
def shipped_data() -> dict[str, Any]:
    return json.loads(SHIPPED_TAXONOMY.read_text(encoding="utf-8"))


@dataclass
class LoadReport:
    """What ``load_shipped`` did, per table: rows created, rows changed, rows left as they were."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0

    def count(self, bucket: dict[str, int], table: str) -> None:
        bucket[table] = bucket.get(table, 0) + 1

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def as_detail(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def _upsert(model, lookup: dict[str, Any], values: dict[str, Any], *, only_missing: bool, report):
    """update_or_create that counts what it did and skips saving when nothing differs."""
    table = model._meta.model_name
    known = {f.attname for f in model._meta.concrete_fields} | {
        f.name for f in model._meta.concrete_fields
    }
    # A newer data file may name fields an older (historical) model does not have yet.
    values = {key: value for key, value in values.items() if key in known}
    row = model._default_manager.filter(**lookup).first()
    if row is None:
        report.count(report.created, table)
        return model._default_manager.create(**lookup, **values)
    if only_missing:
        report.unchanged += 1
        return row
    changed = [key for key, value in values.items() if getattr(row, key) != value]
    if not changed:
        report.unchanged += 1
        return row
    for key in changed:
        setattr(row, key, values[key])
    row.save(update_fields=[*changed, "updated_at"])
    report.count(report.updated, table)
    return row


def load_shipped(apps=None, *, only_missing: bool = False, actor=None) -> LoadReport:
    """Create or update the shipped clock policies, categories and rules (idempotent).

    ``apps`` is the migration's app registry (historical models) or None for the live models.
    Rows are matched by ``code`` (rules by category), so a second run changes nothing; a run
    after an administrator's edits restores the shipped values (names, tree, statistics class,
    order, rules, clock limits) unless ``only_missing`` is set, which only adds what is missing.
    The active flag is not shipped: a category the administrator retired stays retired.
    Categories that are no longer shipped are left alone.
    """
    registry = apps or django_apps
    policy_model = registry.get_model("cases", "ClockPolicy")
    category_model = registry.get_model("cases", "Category")
    rule_model = registry.get_model("cases", "CategoryRule")
    data = shipped_data()
    report = LoadReport()

    with transaction.atomic():
        policies = {
            spec["code"]: _upsert(
                policy_model,
                {"code": spec["code"]},
                {key: value for key, value in spec.items() if key != "code"},
                only_missing=only_missing,
                report=report,
            )
            for spec in data["clock_policies"]
        }
        categories: dict[str, Any] = {}

        def walk(spec: dict, block: dict, taxonomy: str, parent, counter: list[int]) -> None:
            counter[0] += ORDER_STEP
            children = spec.get("children", [])
            stats_code = spec.get("statistics_class")
            values = {
                "name": spec["name"],
                "name_en": spec.get("name_en", ""),
                "taxonomy": taxonomy,
                "kind": spec.get("kind", block.get("kind")),
                "parent_id": parent.pk if parent else None,
                "statistics_class_id": categories[stats_code].pk if stats_code else None,
                "sort_order": counter[0],
                # A broad type with children is a heading in the picker; its leaves are reported.
                "is_reportable": block["reportable"] and not children,
            }
            category = _upsert(
                category_model,
                {"code": spec["code"]},
                values,
                only_missing=only_missing,
                report=report,
            )
            categories[spec["code"]] = category
            if "rule" in spec:
                rule = data["rules"][spec["rule"]]
                _upsert(
                    rule_model,
                    {"category_id": category.pk},
                    {
                        "default_level": rule["level"],
                        "handling_unit_kind": rule["unit_kind"],
                        "escalate_severity": rule["escalate_severity"],
                        "escalate_level": rule["escalate_level"],
                        "clock_policy_id": policies[rule["clock_policy"]].pk,
                    },
                    only_missing=only_missing,
                    report=report,
                )
            for child in children:
                walk(child, block, taxonomy, category, counter)

        for taxonomy in LOAD_ORDER:
            block = data["taxonomies"][taxonomy]
            counter = [0]
            for spec in block["categories"]:
                walk(spec, block, taxonomy, None, counter)

        # Audit only outside migrations: a historical registry has no audit chain to speak of.
        if apps is None and report.changed:
            audit.record(
                "cases.taxonomy_loaded", actor=actor, outcome="ok", detail=report.as_detail()
            )
    return report


# --- administrator edits ----------------------------------------------------------------------


def _changes(row, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Field → [before, after] for the fields that differ (names and codes, no personal data)."""
    return {
        key: [getattr(row, key), value]
        for key, value in values.items()
        if getattr(row, key) != value
    }


def _record_change(kind: str, code: str, changes: dict, *, actor, membership, obj) -> None:
    detail = {"object": kind, "code": code, "changes": changes}
    audit.record(
        "cases.taxonomy_changed", actor=actor, membership=membership, obj=obj, detail=detail
    )


@transaction.atomic
def update_category(
    category: Category,
    *,
    actor: Any,
    membership: Any,
    name: str,
    name_en: str,
    is_active: bool,
    statistics_class: Category | None,
    sort_order: int,
) -> Category:
    """Change a category's names, active flag, statistics class and order (代码 never changes)."""
    category = Category.objects.select_for_update().get(pk=category.pk)
    if statistics_class is not None and statistics_class.taxonomy != Taxonomy.MEDIATION_STATS:
        raise ValidationError(
            {"statistics_class": _("Choose one of the people's mediation statistics classes.")}
        )
    if statistics_class is not None and category.kind != "dispute":
        raise ValidationError(
            {"statistics_class": _("Only dispute categories map to a statistics class.")}
        )
    values = {
        "name": name.strip(),
        "name_en": name_en.strip(),
        "is_active": is_active,
        "statistics_class_id": statistics_class.pk if statistics_class else None,
        "sort_order": sort_order,
    }
    changes = _changes(category, values)
    if not changes:
        return category
    for key, value in values.items():
        setattr(category, key, value)
    category.save(update_fields=[*changes, "updated_at"])
    _record_change(
        "category", category.code, changes, actor=actor, membership=membership, obj=category
    )
    return category


def check_rule_levels(
    default_level: str, escalate_severity: int | None, escalate_level: str
) -> None:
    """A grave-case level must come with a severity and lie above the default level."""
    errors: dict[str, Any] = {}
    if (escalate_severity is None) != (not escalate_level):
        errors["escalate_level"] = _(
            "Give both the severity that raises the level and the level it raises to, or neither."
        )
    elif escalate_level and LEVEL_ORDER.index(escalate_level) >= LEVEL_ORDER.index(default_level):
        errors["escalate_level"] = _("The level for grave cases must be above the default level.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def save_rule(
    category: Category,
    *,
    actor: Any,
    membership: Any,
    default_level: str,
    handling_unit_kind: str,
    escalate_severity: int | None,
    escalate_level: str,
    clock_policy: ClockPolicy,
) -> CategoryRule:
    """Set a category's routing rule (分流规则), creating it when the category has none."""
    category = Category.objects.select_for_update().get(pk=category.pk)
    if not category.is_reportable:
        raise ValidationError(_("Only categories that can be reported have a routing rule."))
    check_rule_levels(default_level, escalate_severity, escalate_level)
    values = {
        "default_level": default_level,
        "handling_unit_kind": handling_unit_kind,
        "escalate_severity": escalate_severity,
        "escalate_level": escalate_level,
        "clock_policy_id": clock_policy.pk,
    }
    rule = CategoryRule.objects.select_for_update().filter(category=category).first()
    if rule is None:
        rule = CategoryRule.objects.create(category=category, **values)
        changes = {key: [None, value] for key, value in values.items()}
    else:
        changes = _changes(rule, values)
        if not changes:
            return rule
        for key, value in values.items():
            setattr(rule, key, value)
        rule.save(update_fields=[*changes, "updated_at"])
    _record_change("rule", category.code, changes, actor=actor, membership=membership, obj=category)
    return rule


# Fields of a clock policy the administrator may change (the code is its identity).
POLICY_FIELDS = (
    "name",
    "basis",
    "accept_days",
    "accept_red_days",
    "handle_days",
    "handle_red_days",
    "max_handle_days",
    "urgent_handle_days",
    "due_soon_hours",
    "visit_after_days",
    "max_extension_days",
    "points_on_time",
    "points_yellow",
    "points_red",
)


def check_policy_limits(values: dict[str, Any]) -> None:
    """Red cards come at or after the limit they follow (also a database constraint)."""
    errors: dict[str, Any] = {}
    if values["accept_red_days"] < values["accept_days"]:
        errors["accept_red_days"] = _(
            "The acceptance red card cannot come before the acceptance limit."
        )
    if values["handle_red_days"] < values["handle_days"]:
        errors["handle_red_days"] = _(
            "The handling red card cannot come before the handling limit."
        )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def save_clock_policy(
    policy: ClockPolicy | None, *, actor: Any, membership: Any, code: str = "", **values: Any
) -> ClockPolicy:
    """Create a clock policy (``policy`` None, with ``code``) or change one.

    Changes apply to cases reported from now on; the clocks of open cases were computed at
    intake and stay as they were (a limit is the one in force when the matter was received).
    """
    unknown = set(values) - set(POLICY_FIELDS)
    if unknown:
        raise TypeError(f"not clock policy fields: {sorted(unknown)}")
    if policy is None:
        if ClockPolicy.objects.filter(code=code).exists():
            raise ValidationError({"code": _("A clock policy with this code already exists.")})
        check_policy_limits(values)
        policy = ClockPolicy.objects.create(code=code, **values)
        changes = {key: [None, value] for key, value in values.items()}
    else:
        policy = ClockPolicy.objects.select_for_update().get(pk=policy.pk)
        check_policy_limits({**{key: getattr(policy, key) for key in POLICY_FIELDS}, **values})
        changes = _changes(policy, values)
        if not changes:
            return policy
        for key, value in values.items():
            setattr(policy, key, value)
        policy.save(update_fields=[*changes, "updated_at"])
    _record_change(
        "clock_policy", policy.code, changes, actor=actor, membership=membership, obj=policy
    )
    return policy
