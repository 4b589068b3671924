"""What the tip services refuse with. The API maps them: 404, a stable code (409/422), 404."""

from __future__ import annotations


class TipNotFound(Exception):
    """The tip does not exist for this person (missing, out of scope, or bypassed): a 404."""


class ReceiptNotRecognised(Exception):
    """The one answer for a malformed, wrongly checked or unknown receipt."""


class TipRefused(Exception):
    """The step is not possible now or not this person's to take."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
