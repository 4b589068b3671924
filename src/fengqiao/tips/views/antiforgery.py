"""Cross-site request protection for the anonymous tip pages, without any cookie.

Django's CSRF protection pairs a cookie with a form field. The reporter's pages must set no
cookie at all (SECURITY 19: nothing may later tie a browser to a tip), so their views are
``csrf_exempt`` and every POST passes two stateless checks instead:

1. **It comes from this site** (the real protection). Browsers say where a request was started
   in the Fetch Metadata header ``Sec-Fetch-Site``; a POST must carry ``same-origin``. A browser
   that sends no fetch metadata must send an ``Origin`` equal to this site (or one of
   ``CSRF_TRUSTED_ORIGINS``). The pages are ``Referrer-Policy: no-referrer``, under which
   browsers send ``Origin: null`` on form posts, so ``null`` proves nothing and is refused
   together with a POST that carries neither header: the check fails closed. Every browser
   released since 2023 sends fetch metadata over HTTPS and to localhost; scripts use the API.
2. **A signed, time-limited form token** in a hidden field: ``django.core.signing`` over the
   form's name and the moment it was rendered, under the ``SECRET_KEY``. A POST needs a token
   for that form younger than ``FORM_TOKEN_MAX_AGE``. The token is bound to no browser (there is
   nothing to bind it to without a cookie), so on its own it is no CSRF defence; it keeps a
   captured POST from being replayed later and a token of one form from driving another.

Neither check stores anything: the token carries its own timestamp and signature.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.http import HttpRequest

# Long enough to write a tip slowly on a phone; short enough that a harvested token goes stale.
FORM_TOKEN_MAX_AGE = 6 * 60 * 60
FIELD_NAME = "form_token"
_SALT = "fengqiao.tips.public-form"


class Forged(Exception):
    """The POST did not come from a page of this site, or its form token is missing or stale."""


class StaleToken(Forged):
    """The POST came from this site, but its form token is missing, forged or too old (the form
    stayed open for hours): the reporter's words may be shown back to send again."""


def form_token(form: str) -> str:
    """A fresh token for ``form`` (the name of the form, e.g. "report", "reply")."""
    # The nonce makes every token different, so tokens say nothing about each other.
    return signing.dumps({"f": form, "n": secrets.token_hex(4)}, salt=_SALT, compress=False)


def _token_ok(request: HttpRequest, form: str) -> bool:
    token = request.POST.get(FIELD_NAME, "")
    if not token or len(token) > 200:
        return False
    try:
        payload = signing.loads(token, salt=_SALT, max_age=FORM_TOKEN_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return False
    return isinstance(payload, dict) and payload.get("f") == form


def _own_origins(request: HttpRequest) -> set[str]:
    own = f"{request.scheme}://{request.get_host()}"
    return {own, *(origin.rstrip("/") for origin in settings.CSRF_TRUSTED_ORIGINS)}


def _same_site(request: HttpRequest) -> bool:
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("Origin", "")
    if not origin or origin == "null":
        return False
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}" in _own_origins(request)


def check(request: HttpRequest, form: str) -> None:
    """Raise ``Forged`` unless this POST passes both checks of the module docstring."""
    if not _same_site(request):
        raise Forged
    if not _token_ok(request, form):
        raise StaleToken
