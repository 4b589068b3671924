"""View access markers used by the deny-by-default middleware."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)


def public(view: F) -> F:
    """Mark a view as reachable without a verified session (login, public citizen pages)."""
    view.fengqiao_public = True  # type: ignore[attr-defined]
    return view


def is_public_view(view: Callable) -> bool:
    view_class = getattr(view, "view_class", None)
    return bool(
        getattr(view, "fengqiao_public", False)
        or (view_class is not None and getattr(view_class, "fengqiao_public", False))
    )
