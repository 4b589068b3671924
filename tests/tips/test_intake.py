"""Intake: the minimal tip, validation, operator mode, and attachments stripped of metadata."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from fengqiao.core.models import AuditEvent
from fengqiao.tips import attachments, services
from fengqiao.tips.models import Action, Channel, Status, Tip

from .factories import DESCRIPTION, FENGYUAN, file_tip, raw_row

pytestmark = pytest.mark.django_db

GPS_LATITUDE = (29.0, 42.0, 30.55)


def jpeg_with_gps() -> bytes:
    """A photo whose EXIF names the camera, the owner and a GPS position."""
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "CanaryCam"  # Make
    exif[0x013B] = "Reporter Wang"  # Artist
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = GPS_LATITUDE
    gps[3] = "E"
    gps[4] = (120.0, 14.0, 1.0)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def png_with_text() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Reporter Wang")
    buffer = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 255, 128)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def docx_with_author() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("docProps/core.xml", "<dc:creator>Reporter Wang</dc:creator>")
    return buffer.getvalue()


def test_description_and_region_are_enough():
    submission = services.submit_tip(description="有人收保护费", region_code="330681109")
    tip = submission.tip
    assert tip.status == Status.RECEIVED and tip.channel == Channel.WEB
    assert tip.category == "other" and not tip.is_real_name and not tip.officials_involved
    assert Tip.objects.get(pk=tip.pk).description == "有人收保护费"
    assert list(tip.events.values_list("action", flat=True)) == [Action.SUBMIT]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"description": "   "}, "description"),
        ({"region_code": "999999"}, "region_code"),
        ({"category": "gossip"}, "category"),
        (
            {"accused": [services.AccusedInput(name="张三", id_number="330681199001011234")]},
            "accused[0].id_number",
        ),
        ({"reporter_name": "王五"}, "reporter_name"),
        ({"is_real_name": True}, "reporter_name"),
        ({"officials_region_code": "123456789"}, "officials_region_code"),
        ({"channel": Channel.PHONE}, "channel"),
    ],
)
def test_bad_input_is_refused_naming_the_field(overrides, field):
    with pytest.raises(ValidationError) as caught:
        file_tip(**overrides)
    assert field in caught.value.message_dict
    assert not Tip.objects.exists()


def test_accused_id_numbers_are_checked_and_normalised():
    valid = "11010519491231002X"
    tip = file_tip(
        accused=[
            services.AccusedInput(name="张 三", id_number=valid.lower()),
            services.AccusedInput(),
        ]
    ).tip
    accused = tip.accused.get()  # the empty one is dropped
    assert accused.id_number == valid and accused.name == "张 三"


def test_a_real_name_report_keeps_name_and_contact_sealed():
    tip = file_tip(is_real_name=True, reporter_name="王五", reporter_contact="13800138000").tip
    reloaded = Tip.objects.get(pk=tip.pk)
    assert reloaded.is_real_name and reloaded.reporter_name == "王五"
    raw = raw_row(Tip, tip.pk)
    assert "王五" not in raw["reporter_name"] and "13800138000" not in raw["reporter_contact"]


def test_operator_mode_files_on_behalf_with_a_receipt_and_an_audited_operator(anti_gang_zhuji):
    submission = file_tip(channel=Channel.PHONE, operator=anti_gang_zhuji.membership)
    assert receipts_look_right(submission.receipt)
    event = AuditEvent.objects.filter(action="tips.received").latest("id")
    assert event.actor_id == anti_gang_zhuji.user.pk
    assert event.detail["operator_mode"] is True and event.detail["channel"] == "phone"
    assert submission.tip.events.get().actor == anti_gang_zhuji.user


def receipts_look_right(receipt: str) -> bool:
    return len(receipt) == 26 and receipt.count("-") == 5


def test_operator_mode_needs_the_intake_capability(grid_worker_fengqiao, system_admin):
    for persona in (grid_worker_fengqiao, system_admin):
        with pytest.raises(services.TipNotFound):
            file_tip(channel=Channel.PHONE, operator=persona.membership)


def test_anonymous_intake_audits_no_actor():
    file_tip()
    event = AuditEvent.objects.filter(action="tips.received").latest("id")
    assert event.actor_id is None and event.actor_username == "" and event.role == ""
    assert event.detail["operator_mode"] is False


# --- attachments --------------------------------------------------------------------------


def stored_content(tip: Tip) -> list[tuple[str, str, bytes]]:
    return [(a.filename, a.content_type, a.content) for a in tip.attachments.order_by("id")]


def test_a_photo_loses_its_exif_and_gps_and_its_name():
    photo = jpeg_with_gps()
    assert b"CanaryCam" in photo and b"Reporter Wang" in photo
    tip = file_tip(
        attachments=[attachments.IncomingFile("IMG_20260301_081522_王五.jpg", photo)]
    ).tip
    [(name, content_type, content)] = stored_content(Tip.objects.get(pk=tip.pk))
    assert name == "1.jpg" and content_type == "image/jpeg"
    assert b"CanaryCam" not in content and b"Reporter Wang" not in content
    cleaned = Image.open(io.BytesIO(content))
    assert cleaned.size == (64, 48)
    assert not cleaned.getexif() and 0x8825 not in cleaned.getexif()


def test_png_text_chunks_are_dropped_and_gif_becomes_png():
    gif = io.BytesIO()
    Image.new("P", (8, 8)).save(gif, format="GIF", comment=b"Reporter Wang")
    tip = file_tip(
        attachments=[
            attachments.IncomingFile("a.png", png_with_text()),
            attachments.IncomingFile("b.gif", gif.getvalue()),
        ]
    ).tip
    stored = stored_content(tip)
    assert [(name, kind) for name, kind, _ in stored] == [
        ("1.png", "image/png"),
        ("2.png", "image/png"),
    ]
    assert all(b"Reporter Wang" not in content for _, _, content in stored)


def test_plain_text_is_kept_as_it_is():
    text = "2026年3月，张某在村口收取保护费。".encode()
    tip = file_tip(attachments=[attachments.IncomingFile("notes.txt", text)]).tip
    assert stored_content(tip) == [("1.txt", "text/plain", text)]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"%PDF-1.7\n1 0 obj<</Author(Reporter Wang)>>endobj\n%%EOF", "document_not_allowed"),
        (docx_with_author(), "document_not_allowed"),
        (b"\x00\x01\x02binary", "type_not_allowed"),
        (b"", "empty"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "broken_image"),
    ],
)
def test_documents_and_unknown_files_are_refused(content, code):
    with pytest.raises(ValidationError) as caught:
        attachments.clean(attachments.IncomingFile("file", content))
    assert caught.value.code == code


def test_size_and_count_quotas(settings):
    settings.TIPS_ATTACHMENT_MAX_BYTES = 1000
    with pytest.raises(ValidationError) as caught:
        attachments.clean(attachments.IncomingFile("big.txt", b"a" * 1001))
    assert caught.value.code == "too_large"
    settings.TIPS_ATTACHMENTS_PER_TIP = 2
    with pytest.raises(ValidationError) as caught:
        file_tip(attachments=[attachments.IncomingFile("x.txt", b"x")] * 3)
    assert caught.value.code == "too_many_files"
    settings.TIPS_ATTACHMENT_TOTAL_BYTES = 1500
    with pytest.raises(ValidationError) as caught:
        file_tip(attachments=[attachments.IncomingFile("x.txt", b"x" * 800)] * 2)
    assert caught.value.code == "quota_exceeded"
    assert not Tip.objects.exists()


def test_the_reporter_adds_material_later_within_the_quota(settings):
    settings.TIPS_ATTACHMENTS_PER_TIP = 2
    submission = file_tip(attachments=[attachments.IncomingFile("a.txt", b"first")])
    services.reply_as_reporter(
        receipt=submission.receipt, attachments=[attachments.IncomingFile("b.txt", b"second")]
    )
    assert [name for name, _, _ in stored_content(submission.tip)] == ["1.txt", "2.txt"]
    with pytest.raises(ValidationError):
        services.reply_as_reporter(
            receipt=submission.receipt, attachments=[attachments.IncomingFile("c.txt", b"third")]
        )


def test_the_default_description_is_sealed():
    tip = file_tip().tip
    raw = raw_row(Tip, tip.pk)["description"]
    assert DESCRIPTION not in raw and raw.startswith("1:sm4::")
    assert tip.region_code == FENGYUAN
