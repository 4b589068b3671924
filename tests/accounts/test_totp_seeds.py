"""TOTP seeds are stored encrypted: in the device table and in the pending enrolment session."""

from __future__ import annotations

import base64
import time
import uuid
from binascii import unhexlify
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client

from accounts.flows import code_for_key, current_code, password_step
from fengqiao.accounts import session_keys
from fengqiao.accounts.authentication import offered_enrol_key
from fengqiao.accounts.models import TOTPAuthenticator, User
from fengqiao.core import crypto


def stored_key(device: TOTPAuthenticator) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM accounts_totpauthenticator WHERE id = %s", [device.pk])
        return cursor.fetchone()[0]


def seed_forms(key_hex: str) -> list[bytes]:
    """The seed as the hex the server makes and the base32 an authenticator app shows."""
    b32 = base64.b32encode(unhexlify(key_hex))
    return [key_hex.lower().encode(), key_hex.upper().encode(), b32, b32.rstrip(b"=")]


@pytest.mark.django_db
def test_device_seed_is_stored_as_ciphertext_bound_to_its_row(staff):
    device = TOTPAuthenticator.objects.create(user=staff, name="phone", confirmed=True)
    token = stored_key(device)
    assert token.startswith(f"{crypto.FORMAT_VERSION}:") and device.key not in token
    reloaded = TOTPAuthenticator.objects.get(pk=device.pk)
    assert reloaded.key == device.key and len(reloaded.bin_key) == 20
    assert reloaded.verify_token(current_code(reloaded))
    assert not reloaded.verify_token(current_code(reloaded)), "a code works once"
    # Another row cannot open this ciphertext: the seed is bound to the device's public_id.
    other = TOTPAuthenticator.objects.create(user=staff, name="tablet", confirmed=True)
    sealed_for_first = TOTPAuthenticator._meta.get_field("key").seal(reloaded, reloaded.key)
    TOTPAuthenticator.objects.filter(pk=other.pk).update(key=sealed_for_first)
    with pytest.raises(crypto.CryptoError):
        _ = TOTPAuthenticator.objects.get(pk=other.pk).key


@pytest.mark.django_db
def test_pending_enrolment_secret_opens_only_for_its_user(client, staff):
    assert password_step(client, staff.username).url == "/login/enrol/"
    client.get("/login/enrol/")
    key = offered_enrol_key(client.session, staff)
    assert key and key not in client.session[session_keys.ENROL_KEY]
    intruder = User.objects.create_user(username="intruder", password="irrelevant pass 2026")
    assert offered_enrol_key(client.session, intruder) is None


# --- canary: the raw SQLite file (SECURITY.md 5, 17) --------------------------------------------


def count_hits(marker: bytes) -> int:
    path = Path(settings.DATABASES["default"]["TEST"]["NAME"])
    hits = 0
    for candidate in (path, Path(f"{path}-wal")):
        if candidate.exists():
            hits += candidate.read_bytes().count(marker)
    return hits


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Real commits to the test database (the test removes its rows), so the file can be read."""
    with django_db_blocker.unblock():
        name = str(connection.settings_dict["NAME"])
        if name != settings.DATABASES["default"]["TEST"]["NAME"]:
            pytest.skip("needs the SQLite test database")
        yield
        connection.close()


@pytest.mark.skipif(not settings.USES_SQLITE, reason="scans the SQLite database file")
def test_canary_totp_seed_never_reaches_the_database_file(committed):
    """Enrolment session and device committed, WAL checkpointed: no hex or base32 seed on disk.

    The username and the stored ciphertext are found, so the scan itself works.
    """
    username = f"canary-{uuid.uuid4().hex}"
    user = User.objects.create_user(username=username, password="canary passphrase 2026")
    client = Client()
    session = client.session
    session[session_keys.PENDING_USER] = user.pk
    session[session_keys.PENDING_AT] = int(time.time())
    session.save()
    session_key = session.session_key
    device = None
    try:
        assert client.get("/login/enrol/").status_code == 200
        key = offered_enrol_key(client.session, user)
        assert key and code_for_key(key)
        device = TOTPAuthenticator.objects.create(user=user, name="canary", key=key, confirmed=True)
        assert TOTPAuthenticator.objects.get(pk=device.pk).key == key
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        # The committed rows are on disk: the plaintext username and the device's ciphertext.
        assert count_hits(username.encode()) >= 1
        assert count_hits(stored_key(device).encode()) == 1
        for form in seed_forms(key):
            assert count_hits(form) == 0, form
    finally:
        if device is not None:
            device.delete()
        Session.objects.filter(session_key__in=[session_key, client.session.session_key]).delete()
        user.delete()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
