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


def requires(capability: str) -> Callable[[F], F]:
    """Allow a view only to a person whose active membership holds ``capability``.

    The active membership is put on ``request.membership`` by the accounts session middleware.
    A person without it gets 404, exactly like a page that does not exist (ARCHITECTURE §2.4),
    so the URL space of other roles is not disclosed.
    """
    from functools import wraps

    from django.http import Http404

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            membership = getattr(request, "membership", None)
            if membership is None or not membership.can(capability):
                raise Http404
            return view(request, *args, **kwargs)

        wrapped.fengqiao_capability = capability  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator
