"""The one exception the case engine raises for a refused change (re-exported by services).

Lives apart from ``services`` so ``routing`` and ``clocks`` can raise it without importing the
services module that imports them.
"""

from __future__ import annotations


class WorkflowError(Exception):
    """A change refused for a reason the person can act on.

    ``code`` is stable (API error codes, tests); ``message`` is shown as is (Chinese via gettext).
    ``field`` names the input at fault when there is one, so forms and the API can point at it.
    """

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = str(message)
        self.field = field

    def __str__(self) -> str:
        return self.message
