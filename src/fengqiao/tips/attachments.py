"""Files sent with a tip (附件): type by content, metadata stripped, size quotas (SECURITY 15).

A reporter's file can betray them more easily than their words: a phone photo carries the GPS
position and the phone's make; a Word file or PDF carries the author's name, the organisation,
the computer's user name, revision history and comments. What the tip line accepts:

- **Pictures** (JPEG, PNG, WebP, GIF), recognised by their magic bytes (``filetype``), decoded and
  re-encoded from their pixels alone (EXIF orientation applied first), so EXIF, GPS, XMP, ICC
  profiles and comments never reach storage. A GIF keeps its first frame, stored as PNG.
- **Plain text** (UTF-8), which has no metadata.

Everything else is **refused**, PDFs and Office documents included: their metadata lives in
many places (document info, XMP streams, embedded pictures with their own EXIF, comments,
tracked changes, earlier revisions kept by incremental saves) and no library the platform ships
removes all of it. The refusal tells the reporter to photograph or screenshot the page instead,
which goes through the picture path above.

The name a file was sent with is not kept either: phones name photos after the moment they were
taken (``IMG_20260301_081522.jpg``) and people name files after themselves. Stored files are
called by their position and true type (``3.jpg``).

Quotas: ``TIPS_ATTACHMENT_MAX_BYTES`` per file (10 MB), ``TIPS_ATTACHMENTS_PER_TIP`` files
(10) and ``TIPS_ATTACHMENT_TOTAL_BYTES`` per tip (30 MB), counted after cleaning.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

# A phone photo is 12–50 megapixels; far beyond that is a decompression bomb, not a photo.
MAX_PIXELS = 80_000_000

# Detected type → (stored type, extension, Pillow format to re-encode to).
PICTURES: dict[str, tuple[str, str, str]] = {
    "image/jpeg": ("image/jpeg", "jpg", "JPEG"),
    "image/png": ("image/png", "png", "PNG"),
    "image/webp": ("image/webp", "webp", "WEBP"),
    "image/gif": ("image/png", "png", "PNG"),
}
TEXT = ("text/plain", "txt")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


@dataclass(frozen=True)
class IncomingFile:
    """A file as the reporter sent it: what the web form or the API hands to the services."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class CleanFile:
    """A checked file, ready to seal: cleaned bytes and what they are (no name: see above)."""

    extension: str
    content_type: str
    content: bytes

    @property
    def size(self) -> int:
        return len(self.content)


def max_file_bytes() -> int:
    return int(getattr(settings, "TIPS_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))


def max_files() -> int:
    return int(getattr(settings, "TIPS_ATTACHMENTS_PER_TIP", 10))


def max_total_bytes() -> int:
    return int(getattr(settings, "TIPS_ATTACHMENT_TOTAL_BYTES", 30 * 1024 * 1024))


def read_upload(upload) -> IncomingFile:
    """An ``UploadedFile`` read up to one byte past the limit (a client may lie about its size)."""
    upload.seek(0)
    return IncomingFile(filename=upload.name or "", content=upload.read(max_file_bytes() + 1))


def clean(incoming: IncomingFile) -> CleanFile:
    """Check one file and strip its metadata, or raise ``ValidationError`` with a stable code:
    ``empty``, ``too_large``, ``type_not_allowed``, ``document_not_allowed``, ``broken_image``."""
    raw = incoming.content
    limit = max_file_bytes()
    if not raw:
        raise ValidationError(_("The file %(name)s is empty.") % _name(incoming), code="empty")
    if len(raw) > limit:
        raise _too_large(incoming, limit)
    kind = filetype.guess(raw)
    if kind is not None and kind.mime in PICTURES:
        content_type, extension, image_format = PICTURES[kind.mime]
        content = _reencode(raw, image_format, incoming)
        return CleanFile(extension, content_type, content)
    if kind is None and _is_text(raw):
        return CleanFile(TEXT[1], TEXT[0], raw)
    if kind is not None and kind.extension in {
        "pdf",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "ppt",
        "pptx",
        "odt",
        "rtf",
        "zip",
    }:
        raise ValidationError(
            _(
                "%(name)s is a document. Documents can carry the author's name and other "
                "hidden details, so the tip line does not accept them: please photograph or "
                "take a screenshot of the pages and attach the pictures instead."
            )
            % _name(incoming),
            code="document_not_allowed",
        )
    raise ValidationError(
        _(
            "%(name)s cannot be attached: only pictures (JPEG, PNG, WebP, GIF) and plain text are accepted."
        )
        % _name(incoming),
        code="type_not_allowed",
    )


def clean_all(
    incoming: list[IncomingFile], *, already: int = 0, already_bytes: int = 0
) -> list[CleanFile]:
    """Clean every file and check the per-tip quotas (counting files the tip already has)."""
    if already + len(incoming) > max_files():
        raise ValidationError(
            _("A tip can have at most %(count)d files.") % {"count": max_files()},
            code="too_many_files",
        )
    cleaned = [clean(item) for item in incoming]
    if already_bytes + sum(item.size for item in cleaned) > max_total_bytes():
        raise ValidationError(
            _("The files of a tip may not exceed %(limit)s in total.")
            % {"limit": filesizeformat(max_total_bytes())},
            code="quota_exceeded",
        )
    return cleaned


def _name(incoming: IncomingFile) -> dict[str, str]:
    # Only for the refusal shown back to the sender; never stored.
    return {"name": _safe_name(incoming.filename) or _("the file")}


def _too_large(incoming: IncomingFile, limit: int) -> ValidationError:
    return ValidationError(
        _("%(name)s is larger than %(limit)s.")
        % {**_name(incoming), "limit": filesizeformat(limit)},
        code="too_large",
    )


def _is_text(raw: bytes) -> bool:
    if b"\x00" in raw:
        return False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    # Control characters other than tab and line breaks mean a binary format filetype missed.
    return not any(unicodedata.category(ch) == "Cc" and ch not in "\t\r\n\f" for ch in text)


def _reencode(raw: bytes, image_format: str, incoming: IncomingFile) -> bytes:
    """Decode the picture and write its pixels, upright, into a fresh file with no metadata."""
    broken = ValidationError(
        _("The picture %(name)s cannot be read.") % _name(incoming), code="broken_image"
    )
    try:
        with Image.open(io.BytesIO(raw)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise _too_large(incoming, max_file_bytes())
            image.seek(0)  # a GIF keeps its first frame
            upright = ImageOps.exif_transpose(image)
            pixels = _plain_mode(upright, image_format)
            # A new image from raw pixels carries no info dict at all: EXIF, GPS, XMP, ICC
            # profiles and text chunks stay behind, whatever the encoder would copy over.
            fresh = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise broken from exc
    buffer = io.BytesIO()
    if image_format == "JPEG":
        fresh.save(buffer, format="JPEG", quality=88, optimize=True)
    elif image_format == "WEBP":
        fresh.save(buffer, format="WEBP", quality=85)
    else:
        fresh.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _plain_mode(image: Image.Image, image_format: str) -> Image.Image:
    """RGB, or RGBA where the format keeps transparency, so ``frombytes`` needs no palette."""
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or (
        image.mode == "P" and "transparency" in image.info
    )
    if image_format != "JPEG" and has_alpha:
        return image.convert("RGBA")
    return image.convert("RGB")


def _safe_name(name: str) -> str:
    """The sent name as text for a message: no path, no control characters, not too long."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    return _UNSAFE_NAME.sub("_", base).strip(" ._")[:80]
