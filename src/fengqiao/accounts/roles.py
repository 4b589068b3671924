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
    # system administrator
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

CAPABILITIES: dict[str, frozenset[str]] = {
    Role.GRID_WORKER: _STAFF,
    Role.VILLAGE_MEDIATOR: _STAFF,
    Role.TOWN_OPERATOR: _STAFF,
    Role.DEPARTMENT_HANDLER: _STAFF,
    Role.CENTRE_STAFF: _STAFF,
    Role.ANTI_GANG_HANDLER: _STAFF,
    Role.DISCIPLINE_LIAISON: _STAFF,
    Role.INSPECTOR: _STAFF,
    Role.LEADER: _STAFF,
    Role.SYSTEM_ADMIN: frozenset(
        {
            Cap.USERS_MANAGE,
            Cap.MEMBERSHIPS_MANAGE,
            Cap.CALENDAR_MANAGE,
            Cap.REGIONS_MANAGE,
            Cap.REGIONS_BROWSE,
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
