"""Roles and what they may do. Capabilities live in code, not in database rows (ARCHITECTURE §5).

A capability is a dotted string checked by ``accounts.access.requires`` and by API routers. The
three administrators hold disjoint sets (SECURITY 9, 等保 L3-CES1-08): the system administrator
runs accounts, units and the calendar but cannot read tips or the audit log; the security
administrator runs lockouts, sessions and second factors; the audit administrator reads and
verifies the audit log and nothing else.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    GRID_WORKER = "grid_worker", _("Grid worker")
    VILLAGE_MEDIATOR = "village_mediator", _("Village mediator")
    TOWN_OPERATOR = "town_operator", _("Town command-room operator")
    DEPARTMENT_HANDLER = "department_handler", _("Department handler")
    CENTRE_STAFF = "centre_staff", _("Governance centre staff")
    ANTI_GANG_HANDLER = "anti_gang_handler", _("Anti-gang office handler")
    DISCIPLINE_LIAISON = "discipline_liaison", _("Discipline liaison")
    INSPECTOR = "inspector", _("Inspector")
    LEADER = "leader", _("Leader")
    SYSTEM_ADMIN = "system_admin", _("System administrator")
    SECURITY_ADMIN = "security_admin", _("Security administrator")
    AUDIT_ADMIN = "audit_admin", _("Audit administrator")


class Cap:
    """Capability names. Later apps add theirs here, beside the roles that hold them."""

    WORKBENCH = "workbench.view"
    REGIONS_BROWSE = "regions.browse"
    API_TOKENS = "api.tokens"
    # cases (事件) and mediation
    CASES_VIEW = "cases.view"
    CASES_REPORT = "cases.report"
    CASES_HANDLE = "cases.handle"
    CASES_SUPERVISE = "cases.supervise"
    CASES_REVEAL = "cases.reveal"
    CASES_EXPORT = "cases.export"
    CASES_METRICS = "cases.metrics"
    OPEN311_KEYS = "open311.manage_keys"
    # sealed tips (扫黑除恶线索): handle the tips assigned or routed to one's unit; file a tip on a
    # reporter's behalf; read suppressed statistics. The system administrator holds none.
    TIPS_HANDLE = "tips.handle"
    TIPS_INTAKE = "tips.intake"
    TIPS_STATS = "tips.statistics"
    # system administrator
    TAXONOMY_MANAGE = "cases.manage_taxonomy"
    USERS_MANAGE = "accounts.manage_users"
    MEMBERSHIPS_MANAGE = "accounts.manage_memberships"
    CALENDAR_MANAGE = "core.manage_calendar"
    REGIONS_MANAGE = "regions.manage"
    # security administrator
    LOCKOUTS_MANAGE = "security.manage_lockouts"
    SESSIONS_MANAGE = "security.manage_sessions"
    SECOND_FACTOR_RESET = "security.reset_second_factor"
    # audit administrator
    AUDIT_VIEW = "audit.view"
    AUDIT_VERIFY = "audit.verify"


_STAFF = frozenset({Cap.WORKBENCH, Cap.REGIONS_BROWSE, Cap.API_TOKENS})
# People who work cases: see them, report them, act on the ones at their unit.
_CASEWORK = _STAFF | {Cap.CASES_VIEW, Cap.CASES_REPORT, Cap.CASES_HANDLE}
# Reading statistics and exporting lists of a region.
_OVERSIGHT = frozenset({Cap.CASES_VIEW, Cap.CASES_EXPORT, Cap.CASES_METRICS, Cap.CASES_SUPERVISE})

CAPABILITIES: dict[str, frozenset[str]] = {
    Role.GRID_WORKER: _CASEWORK,
    Role.VILLAGE_MEDIATOR: _CASEWORK | {Cap.CASES_REVEAL},
    Role.TOWN_OPERATOR: _CASEWORK | _OVERSIGHT | {Cap.CASES_REVEAL, Cap.OPEN311_KEYS},
    Role.DEPARTMENT_HANDLER: _CASEWORK | {Cap.CASES_REVEAL, Cap.TIPS_HANDLE, Cap.TIPS_INTAKE},
    Role.CENTRE_STAFF: _CASEWORK | _OVERSIGHT | {Cap.CASES_REVEAL, Cap.OPEN311_KEYS},
    Role.ANTI_GANG_HANDLER: _STAFF | {Cap.TIPS_HANDLE, Cap.TIPS_INTAKE, Cap.TIPS_STATS},
    Role.DISCIPLINE_LIAISON: _STAFF | {Cap.TIPS_HANDLE, Cap.TIPS_INTAKE},
    Role.INSPECTOR: _STAFF | _OVERSIGHT,
    Role.LEADER: _STAFF | _OVERSIGHT | {Cap.TIPS_STATS},
    Role.SYSTEM_ADMIN: frozenset(
        {
            Cap.USERS_MANAGE,
            Cap.MEMBERSHIPS_MANAGE,
            Cap.CALENDAR_MANAGE,
            Cap.REGIONS_MANAGE,
            Cap.REGIONS_BROWSE,
            Cap.TAXONOMY_MANAGE,
        }
    ),
    Role.SECURITY_ADMIN: frozenset(
        {Cap.LOCKOUTS_MANAGE, Cap.SESSIONS_MANAGE, Cap.SECOND_FACTOR_RESET}
    ),
    Role.AUDIT_ADMIN: frozenset({Cap.AUDIT_VIEW, Cap.AUDIT_VERIFY}),
}

ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})


def capabilities_of(role: str) -> frozenset[str]:
    return CAPABILITIES.get(role, frozenset())


def has_capability(role: str, capability: str) -> bool:
    return capability in capabilities_of(role)
