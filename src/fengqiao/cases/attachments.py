"""Upload checking for case attachments (附件): size quota, type by content, metadata removed.

SECURITY 15: the type is read from the file's magic bytes (the ``filetype`` package), never from
its name or the browser's Content-Type. Images are decoded and re-encoded from their pixels
alone, so EXIF (including GPS position), XMP, ICC and comments never reach storage; the EXIF
orientation is applied first so the cleaned picture still stands upright. PDFs are accepted as
they are: they are only ever served as downloads with ``nosniff`` (see ``views/files.py``), never
rendered inline by the platform, and rewriting them would need a PDF library we do not ship.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# A phone photo is 12–50 megapixels; anything far beyond is a decompression bomb, not a photo.
MAX_PIXELS = 80_000_000

# Detected MIME type → (extension, Pillow format or None for files kept as they are).
ALLOWED: dict[str, tuple[str, str | None]] = {
    "image/jpeg": ("jpg", "JPEG"),
    "image/png": ("png", "PNG"),
    "image/webp": ("webp", "WEBP"),
    "application/pdf": ("pdf", None),
}

_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


@dataclass(frozen=True)
class CleanFile:
    """A checked upload, ready to store: the bytes to keep and what they are."""

    content: bytes
    content_type: str
    extension: str
    original_name: str
    size: int
    sha256: str


def max_upload_bytes() -> int:
    return int(getattr(settings, "FENGQIAO_UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES))


def check_and_clean(upload: UploadedFile) -> CleanFile:
    """Check an uploaded file and return what may be stored, or raise ``ValidationError``.

    Refusals carry a Chinese message for the person who uploaded the file and a stable code:
    ``empty``, ``too_large``, ``type_not_allowed``, ``broken_image``.
    """
    limit = max_upload_bytes()
    if upload.size is not None and upload.size > limit:
        raise _too_large(limit)
    upload.seek(0)
    # Read one byte past the limit: a client may lie about the size it announced.
    raw = upload.read(limit + 1)
    if not raw:
        raise ValidationError(_("The file is empty."), code="empty")
    if len(raw) > limit:
        raise _too_large(limit)

    kind = filetype.guess(raw)
    if kind is None or kind.mime not in ALLOWED:
        raise ValidationError(
            _("Only JPEG, PNG or WebP pictures and PDF documents can be attached."),
            code="type_not_allowed",
        )
    extension, image_format = ALLOWED[kind.mime]
    content = raw if image_format is None else _reencode(raw, image_format)
    return CleanFile(
        content=content,
        content_type=kind.mime,
        extension=extension,
        original_name=_safe_name(upload.name or "", extension),
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )


def _too_large(limit: int) -> ValidationError:
    return ValidationError(
        _("The file is larger than %(limit)s.") % {"limit": filesizeformat(limit)},
        code="too_large",
    )


def _reencode(raw: bytes, image_format: str) -> bytes:
    """Decode the picture and write its pixels, upright, into a fresh file with no metadata."""
    broken = ValidationError(_("The picture cannot be read."), code="broken_image")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format != image_format:
                raise broken
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ValidationError(_("The picture is too large."), code="too_large")
            upright = ImageOps.exif_transpose(image)
            pixels = _normalise_mode(upright, image_format)
            # A new image from raw pixels carries no info dict at all: EXIF, GPS, XMP, ICC
            # profiles and text chunks stay behind, whatever the encoder would copy over.
            clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise broken from exc
    buffer = io.BytesIO()
    if image_format == "JPEG":
        clean.save(buffer, format="JPEG", quality=88, optimize=True)
    elif image_format == "WEBP":
        clean.save(buffer, format="WEBP", quality=85)
    else:
        clean.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _normalise_mode(image: Image.Image, image_format: str) -> Image.Image:
    """Plain RGB (or RGBA where the format keeps transparency), so ``frombytes`` needs no
    palette or other side data from the original."""
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or (
        image.mode == "P" and "transparency" in image.info
    )
    if image_format != "JPEG" and has_alpha:
        return image.convert("RGBA")
    if image.mode == "L" and image_format != "WEBP":
        return image
    return image.convert("RGB")


def _safe_name(name: str, extension: str) -> str:
    """The uploaded name as data: no path, no control characters, the true extension."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = _UNSAFE_NAME.sub("_", stem).strip(" ._") or _("attachment")
    return f"{stem[:150]}.{extension}"
