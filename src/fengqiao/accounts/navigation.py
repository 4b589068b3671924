"""The main menu: entries by capability, built for the active membership.

Apps add their entries with ``register_nav_item`` in ``AppConfig.ready``. An entry whose URL name
does not (yet) resolve is left out rather than breaking every page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fengqiao.accounts.roles import Cap

if TYPE_CHECKING:
    from fengqiao.accounts.models import Membership


@dataclass(frozen=True)
class NavEntry:
    url_name: str
    # Other names the same page may be registered under; the first that resolves is used.
    alternatives: tuple[str, ...]
    label: Promise | str
    capabilities: tuple[str, ...]
    order: int


_ENTRIES: dict[str, NavEntry] = {}


def register_nav_item(
    url_name: str,
    *,
    label: Promise | str,
    capability: str | tuple[str, ...],
    order: int = 100,
    alternatives: tuple[str, ...] = (),
) -> None:
    """Show a menu entry to memberships holding ``capability`` (or any of several)."""
    caps = (capability,) if isinstance(capability, str) else tuple(capability)
    _ENTRIES[url_name] = NavEntry(
        url_name=url_name, alternatives=alternatives, label=label, capabilities=caps, order=order
    )


def _resolve(names: tuple[str, ...]) -> str | None:
    for name in names:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return None


register_nav_item("accounts:workbench", label=_("Workbench"), capability=Cap.WORKBENCH, order=10)
register_nav_item("regions:browser", label=_("Regions"), capability=Cap.REGIONS_BROWSE, order=20)
register_nav_item(
    "accounts:users",
    label=_("Users and memberships"),
    capability=(Cap.USERS_MANAGE, Cap.MEMBERSHIPS_MANAGE),
    order=60,
)
register_nav_item(
    "core:calendar_list",
    label=_("Calendar"),
    capability=Cap.CALENDAR_MANAGE,
    order=70,
    alternatives=("core:calendar",),
)
register_nav_item("core:audit_list", label=_("Audit log"), capability=Cap.AUDIT_VIEW, order=80)
register_nav_item(
    "accounts:security_lockouts", label=_("Lockouts"), capability=Cap.LOCKOUTS_MANAGE, order=85
)
register_nav_item(
    "accounts:security_users",
    label=_("Sessions and second factor"),
    capability=(Cap.SESSIONS_MANAGE, Cap.SECOND_FACTOR_RESET),
    order=86,
)
register_nav_item("accounts:tokens", label=_("API tokens"), capability=Cap.API_TOKENS, order=90)


def nav_items_for(membership: Membership | None, path: str) -> list[dict[str, object]]:
    """``[{url, label, active}]`` for the menu; the entry whose URL prefixes ``path`` is active."""
    if membership is None:
        return []
    items: list[dict[str, object]] = []
    for entry in sorted(_ENTRIES.values(), key=lambda e: (e.order, e.url_name)):
        if not any(membership.can(cap) for cap in entry.capabilities):
            continue
        url = _resolve((entry.url_name, *entry.alternatives))
        if url is None:
            continue
        active = path.startswith(url) or (entry.url_name == "accounts:workbench" and path == "/")
        items.append({"url": url, "label": str(entry.label), "active": active})
    return items


# Where each kind of person starts their day, before any other menu entry.
HOME_PAGES = (
    "accounts:workbench",
    "accounts:users",
    "accounts:security_lockouts",
    "accounts:security_users",
    "core:audit_list",
)


def home_url_for(membership: Membership | None) -> str | None:
    """Where a membership lands after login: its home page, else its first menu entry."""
    items = nav_items_for(membership, "")
    if not items:
        return None
    urls = [str(item["url"]) for item in items]
    for url_name in HOME_PAGES:
        url = _resolve((url_name,))
        if url is not None and url in urls:
            return url
    return urls[0]
