"""Password rules: ASVS length always, 等保 complexity only when switched on (SECURITY, decisions)."""

from __future__ import annotations

import string

import pytest
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from fengqiao.accounts.passwords import ComplexityValidator, LengthValidator, character_classes

length = LengthValidator()
complexity = ComplexityValidator()

# Any printable text, including Chinese and spaces (passphrases are welcome).
chars = st.characters(blacklist_categories=("Cs",))


@given(st.text(alphabet=chars, min_size=12, max_size=128))
def test_any_password_of_12_to_128_characters_has_an_acceptable_length(password):
    length.validate(password)


@given(st.text(alphabet=chars, max_size=11))
def test_shorter_than_12_is_refused(password):
    with pytest.raises(ValidationError) as info:
        length.validate(password)
    assert info.value.error_list[0].code == "password_too_short"


@given(st.text(alphabet=chars, min_size=129, max_size=300))
def test_longer_than_128_is_refused(password):
    with pytest.raises(ValidationError) as info:
        length.validate(password)
    assert info.value.error_list[0].code == "password_too_long"


def test_length_counts_characters_not_bytes():
    length.validate("枫桥经验小事不出村大事不出")  # 13 characters, 39 bytes
    with pytest.raises(ValidationError):
        length.validate("枫桥经验小事不出村大事")  # 11 characters


classes = {
    "lower": st.sampled_from(string.ascii_lowercase),
    "upper": st.sampled_from(string.ascii_uppercase),
    "digit": st.sampled_from(string.digits),
    "other": st.sampled_from("!@#$%^&* 枫桥-_"),
}


@st.composite
def passwords_using(draw, chosen: frozenset[str]):
    alphabet = st.one_of(*(classes[name] for name in sorted(chosen)))
    body = draw(st.lists(alphabet, min_size=8, max_size=40))
    # Make sure every chosen class really appears.
    body += [draw(classes[name]) for name in sorted(chosen)]
    return "".join(draw(st.permutations(body)))


@given(st.data())
def test_complexity_needs_three_of_four_classes(data):
    chosen = data.draw(
        st.frozensets(st.sampled_from(sorted(classes)), min_size=1, max_size=4), label="classes"
    )
    password = data.draw(passwords_using(chosen), label="password")
    assert character_classes(password) == set(chosen)
    if len(chosen) >= 3:
        complexity.validate(password)
    else:
        with pytest.raises(ValidationError):
            complexity.validate(password)


def test_complexity_is_off_unless_the_deployment_asks(settings):
    names = [v["NAME"] for v in settings.AUTH_PASSWORD_VALIDATORS]
    assert "fengqiao.accounts.passwords.ComplexityValidator" not in names
    password_validation.validate_password("only lower case words here")


@override_settings(
    AUTH_PASSWORD_VALIDATORS=[
        {"NAME": "fengqiao.accounts.passwords.LengthValidator"},
        {"NAME": "fengqiao.accounts.passwords.ComplexityValidator"},
    ]
)
def test_complexity_applies_when_configured():
    with pytest.raises(ValidationError):
        password_validation.validate_password("only lower case words here")
    password_validation.validate_password("Mixed case and 2 digits")


def test_common_passwords_are_refused():
    with pytest.raises(ValidationError):
        password_validation.validate_password("password1234")


def test_help_texts_are_chinese_by_default():
    text = " ".join(password_validation.password_validators_help_texts())
    assert "密码长度须为 12 至 128 个字符" in text
