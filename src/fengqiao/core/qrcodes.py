"""QR codes drawn on the server: the TOTP enrolment secret, a citizen's tracking link."""

from __future__ import annotations

import base64
import io

import segno


def qr_data_uri(text: str) -> str:
    """A QR code as an SVG data URI (the CSP allows data: images, no script needed)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
