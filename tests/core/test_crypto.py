"""Field crypto: national algorithms by known answers, AEAD binding, rotation, blind indexes."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.core.checks import run_checks
from django.test import override_settings

from fengqiao.core import crypto
from fengqiao.core.crypto import Binding, CryptoError, Envelope, KeyConfigurationError

KEY_1 = "1:" + "k" * 43
KEY_2 = "2:" + "q" * 43
ROW = Binding(table="disputes_party", column="phone", row="7b0c8f0e-0000-4000-8000-000000000001")


def sm3(data: bytes) -> str:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize().hex()


# --- known answers ------------------------------------------------------------------------------


def test_sm3_known_answer_abc():
    # GB/T 32905-2016, appendix A.1
    assert sm3(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_sm3_known_answer_64_bytes():
    # GB/T 32905-2016, appendix A.2: "abcd" repeated 16 times
    assert sm3(b"abcd" * 16) == ("debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")


def test_audit_digest_is_sm3_under_the_national_suite():
    assert crypto.digest(b"abc").hex() == sm3(b"abc")


def test_sm4_known_answer():
    # GB/T 32907-2016, appendix A.1: key = plaintext = 0123456789abcdeffedcba9876543210
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    assert (encryptor.update(key) + encryptor.finalize()).hex() == (
        "681edf34d206965e86b3e94f536e4246"
    )


def test_sm4_gcm_known_answer_from_rfc_8998():
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    nonce = bytes.fromhex("00001234567800000000ABCD")
    ad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plaintext = bytes.fromhex(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
        "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
    )
    sealed = crypto.aead_encrypt(crypto.SM4, key, nonce, plaintext, ad)
    assert sealed.hex().upper() == (
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        "83DE3541E4C2B58177E065A9BF7B62EC"
    )
    assert crypto.aead_decrypt(crypto.SM4, key, nonce, sealed, ad) == plaintext


# --- field encryption -----------------------------------------------------------------------


@pytest.fixture
def keys():
    with override_settings(
        FENGQIAO_CRYPTO="sm",
        FIELD_KEYS=f"{KEY_1},{KEY_2}",
        FIELD_KEY_ID="1",
        BLIND_INDEX_KEY="b" * 32,
    ):
        yield crypto.provider()


def test_sm4_gcm_round_trip_with_version_key_id_and_nonce_in_clear(keys):
    token = keys.encrypt("13800138000", binding=ROW)
    envelope = Envelope.parse(token)
    assert (envelope.version, envelope.alg, envelope.key_id) == ("1", "sm4", "1")
    assert len(envelope.nonce) == 12
    assert "13800138000" not in token
    assert keys.decrypt(token, binding=ROW) == "13800138000"


def test_each_encryption_uses_a_fresh_nonce(keys):
    assert keys.encrypt("same", binding=ROW) != keys.encrypt("same", binding=ROW)


def test_a_tampered_ciphertext_does_not_decrypt(keys):
    token = keys.encrypt("枫桥镇枫源村 12 号", binding=ROW)
    head, body = token.rsplit(":", 1)
    flipped = body[:20] + ("A" if body[20] != "A" else "B") + body[21:]
    with pytest.raises(CryptoError):
        keys.decrypt(f"{head}:{flipped}", binding=ROW)


@pytest.mark.parametrize(
    "moved",
    [
        Binding(table="disputes_party", column="phone", row="7b0c8f0e-0000-4000-8000-000000000002"),
        Binding(table="disputes_party", column="id_number", row=ROW.row),
        Binding(table="tips_tip", column="phone", row=ROW.row),
    ],
)
def test_a_ciphertext_moved_to_another_row_column_or_table_does_not_decrypt(keys, moved):
    token = keys.encrypt("13800138000", binding=ROW)
    with pytest.raises(CryptoError):
        keys.decrypt(token, binding=moved)


def test_relabelling_the_key_id_does_not_decrypt(keys):
    token = keys.encrypt("13800138000", binding=ROW)
    with pytest.raises(CryptoError):
        keys.decrypt(token.replace("1:sm4:1:", "1:sm4:2:", 1), binding=ROW)


def test_old_key_ids_stay_readable_after_a_new_key_becomes_active(keys):
    token = keys.encrypt("old secret", binding=ROW)
    with override_settings(FIELD_KEYS=f"{KEY_1},{KEY_2}", FIELD_KEY_ID="2"):
        provider = crypto.provider()
        assert provider.decrypt(token, binding=ROW) == "old secret"
        assert provider.needs_rotation(token)
        assert crypto.key_id_of(provider.encrypt("new", binding=ROW)) == "2"


def test_a_removed_key_id_cannot_decrypt(keys):
    token = keys.encrypt("old secret", binding=ROW)
    with override_settings(FIELD_KEYS=KEY_2, FIELD_KEY_ID="2"), pytest.raises(CryptoError):
        crypto.provider().decrypt(token, binding=ROW)


def test_aes_suite_writes_aes_256_gcm_and_still_reads_sm4_values(keys):
    sm4_token = keys.encrypt("national", binding=ROW)
    with override_settings(FENGQIAO_CRYPTO="aes"):
        provider = crypto.provider()
        token = provider.encrypt("13800138000", binding=ROW)
        assert crypto.alg_of(token) == "aes"
        assert provider.decrypt(token, binding=ROW) == "13800138000"
        assert provider.decrypt(sm4_token, binding=ROW) == "national"
        assert provider.needs_rotation(sm4_token)
        assert len(provider.digest(b"abc")) == 32
        assert provider.digest(b"abc").hex().startswith("ba7816bf")  # SHA-256("abc")


@pytest.mark.parametrize(
    "spec, active",
    [
        ("", "1"),
        ("1:short", "1"),
        (f"{KEY_1},{KEY_1}", "1"),
        ("bad id:" + "x" * 40, "bad id"),
        (KEY_1, "9"),
    ],
)
def test_bad_key_configuration_is_refused(spec, active):
    with pytest.raises(KeyConfigurationError):
        crypto.SoftwareProvider(
            suite="sm", field_keys=spec, active_key_id=active, blind_index_key="b" * 32
        )


def test_system_check_reports_an_active_key_id_missing_from_the_ring():
    with override_settings(FIELD_KEYS=KEY_1, FIELD_KEY_ID="7"):
        errors = [e for e in run_checks() if e.id == "fengqiao.E003"]
    assert errors and "FIELD_KEY_ID" in errors[0].msg


# --- per-record data keys ---------------------------------------------------------------------


def test_data_key_wrap_round_trip_and_binding(keys):
    data_key = keys.new_data_key()
    assert len(data_key) == 16
    wrapped = keys.wrap_data_key(data_key, binding=ROW)
    assert keys.unwrap_data_key(wrapped, binding=ROW) == data_key
    with pytest.raises(CryptoError):
        keys.unwrap_data_key(wrapped, binding=Binding(ROW.table, "data_key", ROW.row))


def test_a_wrapped_data_key_is_not_readable_as_a_field_value(keys):
    wrapped = keys.wrap_data_key(keys.new_data_key(), binding=ROW)
    with pytest.raises(CryptoError):
        keys.decrypt(wrapped, binding=ROW)


def test_content_sealed_with_a_data_key_needs_that_key(keys):
    data_key = keys.new_data_key()
    token = keys.encrypt_with_data_key(data_key, "举报内容".encode(), binding=ROW)
    assert Envelope.parse(token).key_id == ""
    assert keys.decrypt_with_data_key(data_key, token, binding=ROW) == "举报内容".encode()
    with pytest.raises(CryptoError):
        keys.decrypt_with_data_key(keys.new_data_key(), token, binding=ROW)
    with pytest.raises(CryptoError):
        keys.decrypt(token, binding=ROW)


def test_aes_data_keys_have_32_bytes():
    with override_settings(FENGQIAO_CRYPTO="aes"):
        provider = crypto.provider()
        data_key = provider.new_data_key()
        token = provider.encrypt_with_data_key(data_key, b"x", binding=ROW)
        assert len(data_key) == 32 and crypto.alg_of(token) == "aes"


# --- blind indexes --------------------------------------------------------------------------


def test_blind_index_is_stable_and_keyed(keys):
    first = keys.blind_index("13800138000", kind="phone")
    assert first == keys.blind_index("13800138000", kind="phone")
    assert len(first) == 64
    with override_settings(BLIND_INDEX_KEY="c" * 32):
        assert crypto.blind_index("13800138000", kind="phone") != first


@pytest.mark.parametrize(
    "kind, a, b",
    [
        ("id_number", "33068119900101123x", " 33068119900101123X "),
        ("id_number", "３３０６８１１９９００１０１１２３Ｘ", "33068119900101123X"),
        ("phone", "+86 138-0013-8000", "13800138000"),
        ("name", "王 小 明", "王小明"),
        ("text", "  枫桥镇  ", "枫桥镇"),
    ],
)
def test_blind_index_matches_after_normalising(keys, kind, a, b):
    assert keys.blind_index(a, kind=kind) == keys.blind_index(b, kind=kind)


def test_blind_index_differs_between_kinds_and_suites(keys):
    as_phone = keys.blind_index("13800138000", kind="phone")
    assert as_phone != keys.blind_index("13800138000", kind="text")
    with override_settings(FENGQIAO_CRYPTO="aes"):
        assert crypto.blind_index("13800138000", kind="phone") != as_phone


def test_blind_index_of_a_blank_value_is_blank(keys):
    assert keys.blind_index("   ", kind="text") == ""


def test_content_sealed_with_a_data_key_never_needs_rotation():
    from fengqiao.core import crypto

    provider = crypto.provider()
    binding = crypto.Binding(table="t", column="c", row="r")
    token = provider.encrypt_with_data_key(provider.new_data_key(), b"x", binding=binding)
    assert not provider.needs_rotation(token)
    assert not provider.needs_rotation(provider.encrypt("x", binding=binding))
