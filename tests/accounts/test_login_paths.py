"""SECURITY 1: only registered login paths create a session or a token.

Two nets: every URL's view is read for the calls that create a session or a credential, and the
whole source tree is parsed so those calls appear only where they are allowed. A new login route
(an SSO callback, an API "login" endpoint) fails here until it is added to LOGIN_PATHS, and so is
reviewed for the second factor.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver

import fengqiao
from fengqiao.accounts.authentication import LOGIN_PATHS
from fengqiao.core.access import is_public_view

# Calls that create a logged-in session or a credential.
CREATES_SESSION = re.compile(
    r"\b(complete_login|auth_login|force_login|login_user)\s*\(|\b(auth|django_otp|otp)\.login\s*\("
)
CREATES_TOKEN = re.compile(r"\bcreate_token\s*\(")


def routes():
    def walk(patterns, namespace):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, ns)
            elif isinstance(entry, URLPattern):
                yield f"{namespace}{entry.name or entry.pattern}", entry.callback

    yield from walk(get_resolver().url_patterns, "")


def view_source(callback) -> str:
    target = getattr(callback, "view_class", None) or inspect.unwrap(callback)
    try:
        return textwrap.dedent(inspect.getsource(target))
    except (OSError, TypeError):
        return ""


def creates(source: str) -> set[str]:
    found = set()
    if CREATES_SESSION.search(source):
        found.add("session")
    if CREATES_TOKEN.search(source):
        found.add("token")
    return found


def test_detector_recognises_session_and_token_creation():
    def sneaky_login(request):
        from django.contrib import auth

        auth.login(request, request.user)

    def sneaky_token(request):
        from fengqiao.accounts import services

        services.create_token(user=request.user)

    def harmless(request):
        return request.session.get("x")

    assert creates(view_source(sneaky_login)) == {"session"}
    assert creates(view_source(sneaky_token)) == {"token"}
    assert creates(view_source(harmless)) == set()
    tree = ast.parse("def callback(request):\n    auth.login(request, user)\n")
    assert calls_in(tree) == [("callback", "auth.login")]


def test_only_registered_routes_create_sessions_or_tokens():
    seen = {}
    for name, callback in routes():
        kinds = creates(view_source(callback))
        if kinds:
            assert name in LOGIN_PATHS, f"{name} creates a {kinds} but is not in LOGIN_PATHS"
            assert kinds == {LOGIN_PATHS[name]}, name
        seen[name] = kinds
    for name, kind in LOGIN_PATHS.items():
        assert name in seen, f"LOGIN_PATHS names a route that does not exist: {name}"
        assert seen[name] == {kind}, f"{name} is registered but creates nothing"


def test_token_routes_are_behind_the_verified_session_gate():
    callbacks = dict(routes())
    for name, kind in LOGIN_PATHS.items():
        if kind == "token":
            assert not is_public_view(callbacks[name]), name


def calls_in(tree: ast.AST) -> list[tuple[str, str]]:
    """(outermost enclosing function, dotted called name) for every call in a module."""
    found: list[tuple[str, str]] = []
    stack: list[str] = []

    class Visitor(ast.NodeVisitor):
        def visit_FunctionDef(self, node):
            stack.append(node.name)
            self.generic_visit(node)
            stack.pop()

        visit_AsyncFunctionDef = visit_FunctionDef

        def visit_Call(self, node):
            func = node.func
            if isinstance(func, ast.Attribute):
                owner = func.value.id if isinstance(func.value, ast.Name) else "?"
                called = f"{owner}.{func.attr}"
            else:
                called = func.id if isinstance(func, ast.Name) else ""
            found.append((stack[0] if stack else "<module>", called))
            self.generic_visit(node)

    Visitor().visit(tree)
    return found


def test_session_and_token_primitives_appear_only_where_allowed():
    callbacks = dict(routes())
    session_views = {
        inspect.unwrap(callbacks[n]).__name__ for n, k in LOGIN_PATHS.items() if k == "session"
    }
    token_views = {
        inspect.unwrap(callbacks[n]).__name__ for n, k in LOGIN_PATHS.items() if k == "token"
    }
    root = Path(fengqiao.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        module = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        for function, called in calls_in(ast.parse(path.read_text(encoding="utf-8"))):
            name = called.rsplit(".", 1)[-1]
            where = f"{module}.{function}"
            if name == "login" and called != "self.login":
                allowed = where == "fengqiao.accounts.authentication.complete_login"
            elif name in {"auth_login", "force_login", "login_user"}:
                allowed = False
            elif name == "complete_login":
                allowed = module == "fengqiao.accounts.views.login" and function in session_views
            elif name == "create_token":
                allowed = module == "fengqiao.accounts.views.personal" and function in token_views
            else:
                continue
            if not allowed:
                offenders.append(f"{where} calls {called}")
    assert not offenders, offenders
