"""QR codes drawn on the server: the TOTP enrolment secret, a citizen's tracking link."""

from __future__ import annotations

import base64
import io

import segno

QR_MASK = 2


def qr_data_uri(text: str) -> str:
    """A QR code as an SVG data URI (the CSP allows data: images, no script needed)."""
    buffer = io.BytesIO()
    # A fixed mask pattern: any of the eight is a valid code, and scoring all eight to pick the
    # "best" cost three quarters of the drawing time (≈ 5 ms per tracking page).
    segno.make(text, error="m", mask=QR_MASK).save(
        buffer, kind="svg", scale=5, border=2, xmldecl=False
    )
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
