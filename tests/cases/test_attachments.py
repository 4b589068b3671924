"""SECURITY 15: uploads are typed by content, size-limited and stripped of picture metadata."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

from fengqiao.cases.attachments import check_and_clean

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def photo_with_gps(image_format: str = "JPEG", size=(40, 20)) -> bytes:
    """A picture as a phone takes it: EXIF with camera, orientation and a GPS position."""
    image = Image.new("RGB", size, (200, 10, 10))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # rotate 90° clockwise to display
    exif[ExifTags.Base.Make] = "CanaryCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (29.0, 40.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (120.0, 14.0, 3.0)
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, exif=exif)
    return buffer.getvalue()


def upload(content: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def test_the_fixture_really_carries_gps():
    raw = photo_with_gps()
    exif = Image.open(io.BytesIO(raw)).getexif()
    assert exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
    assert b"CanaryCam" in raw


@pytest.mark.parametrize(
    ("image_format", "mime", "extension"),
    [("JPEG", "image/jpeg", "jpg"), ("PNG", "image/png", "png"), ("WEBP", "image/webp", "webp")],
)
def test_pictures_lose_all_metadata_and_stand_upright(image_format, mime, extension):
    raw = photo_with_gps(image_format)
    clean = check_and_clean(upload(raw, name="IMG_0001.jpeg", content_type="text/plain"))

    assert clean.content_type == mime
    assert clean.extension == extension
    assert clean.original_name == f"IMG_0001.{extension}"
    assert b"CanaryCam" not in clean.content
    reopened = Image.open(io.BytesIO(clean.content))
    exif = reopened.getexif()
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert ExifTags.Base.Orientation not in exif
    assert "exif" not in reopened.info
    # Orientation 6 was applied before the metadata went: 40×20 stored, 20×40 shown.
    assert reopened.size == (20, 40)
    assert clean.size == len(clean.content)
    assert clean.sha256 == hashlib.sha256(clean.content).hexdigest()


def test_a_pdf_is_kept_as_it_is():
    clean = check_and_clean(upload(PDF, name="协议.pdf", content_type="application/pdf"))
    assert clean.content == PDF
    assert clean.content_type == "application/pdf"
    assert clean.original_name == "协议.pdf"


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200, "photo.jpg"),
        (b"<!doctype html><script>alert(1)</script>", "photo.png"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "photo.jpg"),
        (b"PK\x03\x04" + b"\x00" * 100, "report.pdf"),
    ],
)
def test_other_types_are_refused_whatever_their_name(content, name):
    with pytest.raises(ValidationError) as caught:
        check_and_clean(upload(content, name=name))
    assert caught.value.code == "type_not_allowed"
    assert "PDF" in caught.value.messages[0]


def test_a_jpeg_header_on_garbage_is_refused():
    with pytest.raises(ValidationError) as caught:
        check_and_clean(upload(b"\xff\xd8\xff\xe0" + b"\x00" * 64))
    assert caught.value.code == "broken_image"


def test_files_over_the_quota_are_refused(settings):
    settings.FENGQIAO_UPLOAD_MAX_BYTES = 1000
    with pytest.raises(ValidationError) as caught:
        check_and_clean(upload(PDF + b"0" * 1000, name="big.pdf"))
    assert caught.value.code == "too_large"


def test_a_lying_size_is_caught_while_reading(settings):
    settings.FENGQIAO_UPLOAD_MAX_BYTES = 100
    lying = upload(PDF + b"0" * 200, name="big.pdf")
    lying.size = 10
    with pytest.raises(ValidationError) as caught:
        check_and_clean(lying)
    assert caught.value.code == "too_large"


def test_an_empty_file_is_refused():
    with pytest.raises(ValidationError) as caught:
        check_and_clean(upload(b"", name="empty.pdf"))
    assert caught.value.code == "empty"


def test_the_uploaded_name_loses_its_path_and_control_characters():
    clean = check_and_clean(upload(PDF, name="..\\..\\etc/pass\x00wd.exe"))
    assert clean.original_name == "pass_wd.pdf"
