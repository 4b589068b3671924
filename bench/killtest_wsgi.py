"""Deliberately broken servers for ``bench/killtest.py --prove`` (never used by the product).

``KILLTEST_VARIANT`` picks the fault:

- ``ack-before-commit``: each POST runs inside one transaction that commits only after the answer
  has gone out (in the response's ``close()``, after a pause) — the bug of committing in a
  response hook. A kill in that pause loses an acknowledged submission.
- ``ignore-key``: the ``Idempotency-Key`` header is dropped before the application sees it, so a
  client's retry after a lost answer creates the submission again.
"""

from __future__ import annotations

import os
import time

from django.core import signals
from django.db import close_old_connections, transaction

from fengqiao.wsgi import application as _application

VARIANT = os.environ.get("KILLTEST_VARIANT", "")

if VARIANT == "ack-before-commit":
    # Django closes (and so rolls back) a connection left inside a transaction at the start and
    # end of every request; this variant manages the connection itself.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)


class _CommitAfterAnswer:
    def __init__(self, body: list[bytes], atomic, inner) -> None:
        self.body, self.atomic, self.inner = body, atomic, inner

    def __iter__(self):
        return iter(self.body)

    def close(self) -> None:
        time.sleep(0.15)  # the answer is already with the client
        self.atomic.__exit__(None, None, None)
        self.inner.close()
        close_old_connections()


def application(environ, start_response):
    if VARIANT == "ignore-key":
        environ.pop("HTTP_IDEMPOTENCY_KEY", None)
    if VARIANT != "ack-before-commit" or environ.get("REQUEST_METHOD") != "POST":
        return _application(environ, start_response)
    atomic = transaction.atomic()
    atomic.__enter__()
    try:
        inner = _application(environ, start_response)
        body = list(inner)
    except BaseException as error:
        atomic.__exit__(type(error), error, error.__traceback__)
        raise
    return _CommitAfterAnswer(body, atomic, inner)
