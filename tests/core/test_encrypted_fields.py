"""EncryptedTextField, WrappedDataKeyField, BlindIndexField, key rotation and the canary."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, models
from django.test import override_settings
from django.test.utils import isolate_apps

from fengqiao.core import crypto, services
from fengqiao.core.fields import (
    BlindIndexField,
    EncryptedTextField,
    Sealed,
    WrappedDataKeyField,
    blind_filter,
)
from fengqiao.core.models import AuditEvent, CalendarDay, KeyCheck

KEYS = {"FIELD_KEYS": "1:" + "k" * 43 + ",2:" + "q" * 43, "FIELD_KEY_ID": "1"}


def stored(check: KeyCheck) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT phrase FROM core_keycheck WHERE id = %s", [check.pk])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_encrypted_field_stores_ciphertext_and_reads_plaintext():
    check = KeyCheck.objects.create(phrase="枫桥经验 13800138000")
    raw = stored(check)
    assert "13800138000" not in raw
    assert crypto.key_id_of(raw) == settings.FIELD_KEY_ID
    assert KeyCheck.objects.get(pk=check.pk).phrase == "枫桥经验 13800138000"


@pytest.mark.django_db
def test_ciphertext_copied_to_another_row_does_not_decrypt():
    a = KeyCheck.objects.create(phrase="secret of a")
    b = KeyCheck.objects.create(phrase="secret of b")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_keycheck SET phrase = %s WHERE id = %s", [stored(a), b.pk])
    with pytest.raises(crypto.CryptoError):
        _ = KeyCheck.objects.get(pk=b.pk).phrase


@pytest.mark.django_db
def test_plaintext_cannot_be_used_in_queries_or_bulk_updates():
    KeyCheck.objects.create(phrase="x")
    with pytest.raises(TypeError):
        list(KeyCheck.objects.filter(phrase="x"))
    with pytest.raises(TypeError):
        KeyCheck.objects.update(phrase="y")


@pytest.mark.django_db
def test_saving_an_unchanged_row_keeps_its_ciphertext():
    check = KeyCheck.objects.create(phrase="steady")
    before = stored(check)
    loaded = KeyCheck.objects.get(pk=check.pk)
    loaded.full_clean()  # reads the plaintext and writes it back
    loaded.save()
    assert stored(check) == before
    loaded.phrase = "changed"
    loaded.save()
    assert stored(check) != before
    assert KeyCheck.objects.get(pk=check.pk).phrase == "changed"


@pytest.mark.django_db
def test_deferred_encrypted_field_loads_on_access():
    check = KeyCheck.objects.create(phrase="deferred")
    loaded = KeyCheck.objects.defer("phrase").get(pk=check.pk)
    assert loaded.phrase == "deferred"


@pytest.mark.django_db
def test_bulk_create_encrypts_each_row():
    rows = KeyCheck.objects.bulk_create([KeyCheck(phrase="bulk one"), KeyCheck(phrase="bulk two")])
    assert {KeyCheck.objects.get(public_id=r.public_id).phrase for r in rows} == {
        "bulk one",
        "bulk two",
    }


def test_encrypted_field_repr_never_shows_plaintext():
    sealed = Sealed("1:sm4:1:abcdefghijklmnopqrstuvwxyz", plaintext="13800138000")
    assert "13800138000" not in repr(sealed)


@isolate_apps("core")
def test_blind_index_companion_is_computed_on_save_and_found_by_blind_filter():
    class Party(models.Model):  # noqa: DJ008  (test-only model)
        public_id = models.UUIDField(default=uuid.uuid4, unique=True)
        phone = EncryptedTextField()
        phone_index = BlindIndexField(source="phone", kind="phone")

        class Meta:
            app_label = "core"

    party = Party(phone="+86 138 0013 8000")
    index_field = Party._meta.get_field("phone_index")
    assert index_field.pre_save(party, add=True) == crypto.blind_index("13800138000", kind="phone")
    assert blind_filter(Party, "phone", "138-0013-8000") == {"phone_index": party.phone_index}
    token = Party._meta.get_field("phone").pre_save(party, add=True)
    assert isinstance(token, Sealed) and "13800138000" not in token.token


@isolate_apps("core")
def test_encrypted_field_must_bind_to_a_unique_non_key_field():
    class Loose(models.Model):  # noqa: DJ008  (test-only model)
        secret = EncryptedTextField()

        class Meta:
            app_label = "core"

    class Bound(models.Model):  # noqa: DJ008  (test-only model)
        code = models.CharField(max_length=20, unique=True)
        secret = EncryptedTextField(bind_to="code")

        class Meta:
            app_label = "core"

    assert [e.id for e in Loose._meta.get_field("secret").check()] == ["fengqiao.E010"]
    assert Bound._meta.get_field("secret").check() == []


@isolate_apps("core")
def test_wrapped_data_key_field_round_trip_and_shredding():
    class Tip(models.Model):  # noqa: DJ008  (test-only model)
        public_id = models.UUIDField(default=uuid.uuid4, unique=True)
        data_key = WrappedDataKeyField()

        class Meta:
            app_label = "core"

    tip = Tip(data_key=crypto.provider().new_data_key())
    field = Tip._meta.get_field("data_key")
    sealed = field.pre_save(tip, add=True)
    reloaded = Tip(public_id=tip.public_id, data_key=Sealed(sealed.token))
    assert reloaded.data_key == tip.data_key
    tip.data_key = None
    assert field.pre_save(tip, add=False) is None


# --- key rotation -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_rotation_re_encrypts_every_value_to_the_active_key():
    with override_settings(**KEYS):
        old = [KeyCheck.objects.create(phrase=f"value {i}") for i in range(3)]
        assert {crypto.key_id_of(stored(c)) for c in old} == {"1"}
    with override_settings(**{**KEYS, "FIELD_KEY_ID": "2"}):
        assert services.key_usage()["1"] >= 3
        result = services.rotate_field_keys(batch_size=2)
        assert result.failed == 0 and result.rotated >= 3
        assert {crypto.key_id_of(stored(c)) for c in old} == {"2"}
        assert services.key_usage()["1"] == 0
        assert AuditEvent.objects.filter(action="crypto.rotated").exists()
    with override_settings(FIELD_KEYS=KEYS["FIELD_KEYS"].split(",")[1], FIELD_KEY_ID="2"):
        assert [KeyCheck.objects.get(pk=c.pk).phrase for c in old] == [
            "value 0",
            "value 1",
            "value 2",
        ]


@pytest.mark.django_db
def test_rotation_moves_values_to_the_aes_suite():
    with override_settings(**KEYS):
        check = KeyCheck.objects.create(phrase="suite change")
    with override_settings(**KEYS, FENGQIAO_CRYPTO="aes"):
        services.rotate_field_keys()
        assert crypto.alg_of(stored(check)) == "aes"
        assert KeyCheck.objects.get(pk=check.pk).phrase == "suite change"


@pytest.mark.django_db
def test_crypto_rotate_command_reports_rotated_rows(capsys):
    with override_settings(**KEYS):
        check = KeyCheck.objects.create(phrase="command")
    with override_settings(**{**KEYS, "FIELD_KEY_ID": "2"}):
        call_command("crypto", "rotate", "--no-progress")
        assert "to key 2" in capsys.readouterr().out
        assert crypto.key_id_of(stored(check)) == "2"


@pytest.mark.django_db
def test_crypto_check_command_detects_a_replaced_key(capsys):
    from django.core.management.base import CommandError

    with override_settings(**KEYS):
        call_command("crypto", "check", "--create")
        assert "OK" in capsys.readouterr().out
    with (
        override_settings(FIELD_KEYS="1:" + "z" * 43, FIELD_KEY_ID="1"),
        pytest.raises(CommandError),
    ):
        call_command("crypto", "check")


# --- canary (SECURITY.md 17) ------------------------------------------------------------------


def count_hits(marker: bytes) -> int:
    path = Path(settings.DATABASES["default"]["TEST"]["NAME"])
    hits = 0
    for candidate in (path, Path(f"{path}-wal")):
        if candidate.exists():
            hits += candidate.read_bytes().count(marker)
    return hits


@pytest.mark.skipif(not settings.USES_SQLITE, reason="scans the SQLite database file")
@pytest.mark.usefixtures("committed_db")
def test_canary_plaintext_never_reaches_the_database_file_or_logs(caplog):
    """Commit through the encrypted field, checkpoint the WAL, grep the raw bytes: 0 hits.

    A plaintext column written the same way is found, so the scan itself works.
    """
    secret_marker = f"CANARY-SECRET-{uuid.uuid4().hex}"
    plain_marker = f"CANARY-PLAIN-{uuid.uuid4().hex}"
    caplog.set_level(logging.DEBUG)
    check = KeyCheck.objects.create(phrase=secret_marker)
    control = CalendarDay.objects.create(date="2099-12-31", kind="holiday", name=plain_marker)
    try:
        assert KeyCheck.objects.get(pk=check.pk).phrase == secret_marker
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(FULL)")
        assert count_hits(plain_marker.encode()) >= 1
        assert count_hits(secret_marker.encode()) == 0
        assert count_hits(secret_marker.encode("utf-16-le")) == 0
        assert secret_marker not in caplog.text
    finally:
        check.delete()
        control.delete()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # secure_delete=ON: the deleted control row is overwritten, not merely unlinked.
    assert count_hits(plain_marker.encode()) == 0


@pytest.mark.django_db
def test_canary_plaintext_is_absent_from_the_stored_column():
    marker = f"CANARY-{uuid.uuid4().hex}"
    check = KeyCheck.objects.create(phrase=marker)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM core_keycheck WHERE phrase LIKE %s", [f"%{marker}%"])
        assert cursor.fetchone()[0] == 0
    assert KeyCheck.objects.get(pk=check.pk).phrase == marker
