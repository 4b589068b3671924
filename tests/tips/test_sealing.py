"""Per-tip data keys: every tip its own key, ciphertexts bound to their row and column, one
key destroyed shreds the whole tip, platform-key rotation keeps tips readable."""

from __future__ import annotations

import pytest
from django.test import override_settings

from fengqiao.core import crypto
from fengqiao.core import services as core_services
from fengqiao.tips import attachments, services
from fengqiao.tips.models import Accused, Tip, TipMessage

from .factories import DESCRIPTION, file_tip, raw_row

pytestmark = pytest.mark.django_db


def test_each_tip_has_its_own_data_key_wrapped_by_the_platform_key():
    first, second = file_tip().tip, file_tip().tip
    one, two = Tip.objects.get(pk=first.pk), Tip.objects.get(pk=second.pk)
    assert len(one.data_key) == 16 and one.data_key != two.data_key  # SM4 keys
    wrapped = raw_row(Tip, first.pk)["data_key"]
    assert crypto.key_id_of(wrapped)  # wrapped with a platform key id
    assert crypto.key_id_of(raw_row(Tip, first.pk)["description"]) == ""  # sealed with the data key


def test_a_ciphertext_moved_to_another_tip_does_not_open():
    first, second = file_tip().tip, file_tip(description="另一条线索").tip
    token = raw_row(Tip, first.pk)["description"]
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE tips_tip SET description = %s WHERE id = %s", [token, second.pk])
    with pytest.raises(crypto.CryptoError):
        _ = Tip.objects.get(pk=second.pk).description


def test_destroying_the_data_key_shreds_content_accused_messages_and_files():
    submission = file_tip(
        accused=[services.AccusedInput(name="孙八")],
        attachments=[attachments.IncomingFile("a.txt", b"evidence")],
    )
    services.reply_as_reporter(receipt=submission.receipt, body="补充")
    tip = submission.tip
    Tip.objects.filter(pk=tip.pk).update(data_key=None)
    shredded = Tip.objects.get(pk=tip.pk)
    for read in (
        lambda: shredded.description,
        lambda: Accused.objects.get(tip=shredded).name,
        lambda: TipMessage.objects.get(tip=shredded).body,
        lambda: shredded.attachments.get().content,
    ):
        with pytest.raises(crypto.CryptoError):
            read()


def test_rotating_the_platform_key_rewraps_data_keys_and_keeps_tips_readable():
    tip = file_tip(accused=[services.AccusedInput(name="周九")]).tip
    key_before = Tip.objects.get(pk=tip.pk).data_key
    keys = f"{settings_keys()},rot:{'r' * 43}"
    with override_settings(FIELD_KEYS=keys, FIELD_KEY_ID="rot"):
        core_services.rotate_field_keys()
        rotated = Tip.objects.get(pk=tip.pk)
        assert crypto.key_id_of(raw_row(Tip, tip.pk)["data_key"]) == "rot"
        assert rotated.data_key == key_before
        assert rotated.description == DESCRIPTION
        assert rotated.accused.get().name == "周九"


def settings_keys() -> str:
    from django.conf import settings

    return settings.FIELD_KEYS
