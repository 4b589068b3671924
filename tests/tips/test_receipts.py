"""Receipts: format, check digit, uniqueness, HMAC lookup, one answer for every wrong receipt."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from fengqiao.tips import receipts, services
from fengqiao.tips.models import Tip

from .factories import file_tip, raw_row

GROUPED = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{4}-\d{4}-\d$")


def test_a_receipt_is_20_random_digits_and_a_luhn_check_digit_grouped_4_4_4_4_4_1():
    receipt = receipts.new_receipt()
    assert len(receipt) == 21 and receipt.isdigit()
    assert receipts.luhn_check_digit(receipt[:20]) == receipt[20]
    assert GROUPED.match(receipts.display(receipt))
    assert receipts.canonical(receipts.display(receipt)) == receipt


def test_luhn_check_digit_matches_the_published_example():
    # The textbook Luhn example: 7992739871 takes the check digit 3.
    assert receipts.luhn_check_digit("7992739871") == "3"
    assert receipts.is_well_formed("79927398713".zfill(21))  # leading zeros change nothing


def test_every_single_mistyped_digit_is_caught():
    receipt = receipts.new_receipt()
    for position in range(21):
        for digit in "0123456789":
            if digit == receipt[position]:
                continue
            typo = receipt[:position] + digit + receipt[position + 1 :]
            assert not receipts.is_well_formed(typo), (position, digit)


def test_swapping_neighbours_is_caught_except_09_and_90():
    body = "12345678901234567890"
    receipt = body + receipts.luhn_check_digit(body)
    for i in range(20):
        a, b = receipt[i], receipt[i + 1]
        if a == b or {a, b} == {"0", "9"}:
            continue
        swapped = receipt[:i] + b + a + receipt[i + 2 :]
        assert not receipts.is_well_formed(swapped), i


def test_receipts_do_not_repeat():
    drawn = {receipts.new_receipt() for _ in range(5000)}
    assert len(drawn) == 5000


def test_typed_forms_are_read_back_to_the_same_digits():
    receipt = receipts.new_receipt()
    grouped = receipts.display(receipt)
    full_width = grouped.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
    spaced = " ".join(grouped.split("-"))
    for typed in (grouped, full_width, spaced, f"  {receipt}\n"):
        assert receipts.canonical(typed) == receipt


def test_the_digest_is_an_hmac_under_the_pepper():
    receipt = receipts.new_receipt()
    first = receipts.digest(receipt)
    assert len(first) == 64 and receipt not in first
    with override_settings(TIP_RECEIPT_PEPPER="another pepper of enough length"):
        assert receipts.digest(receipt) != first
    assert receipts.digest(receipt) == first


@pytest.mark.django_db
def test_the_tip_stores_the_hmac_of_its_receipt_and_never_the_receipt():
    submission = file_tip()
    receipt = receipts.canonical(submission.receipt)
    tip = Tip.objects.get(pk=submission.tip.pk)
    assert tip.receipt_hmac == receipts.digest(receipt)
    row = raw_row(Tip, tip.pk)
    assert not any(receipt in str(value) for value in row.values())
    assert receipts.display(receipt) not in str(row)
    assert services.find_by_receipt(submission.receipt) == tip
    assert services.find_by_receipt(receipt) == tip


@pytest.mark.django_db
def test_two_tips_get_different_receipts_and_references():
    first, second = file_tip(), file_tip()
    assert first.receipt != second.receipt
    assert first.tip.receipt_hmac != second.tip.receipt_hmac
    assert first.tip.reference != second.tip.reference
    assert re.match(r"^XS-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$", first.tip.reference)


def _wrong_receipts(real: str) -> dict[str, str]:
    digits = receipts.canonical(real)
    wrong_check = digits[:20] + str((int(digits[20]) + 1) % 10)
    unknown = receipts.new_receipt()
    return {
        "wrong check digit": wrong_check,
        "unknown but well formed": unknown,
        "too short": digits[:12],
        "not digits": "abcd-efgh",
        "empty": "",
    }


@pytest.mark.django_db
def test_every_wrong_receipt_gets_the_same_answer_after_the_same_work(
    django_assert_num_queries, monkeypatch
):
    real = file_tip().receipt
    hashed: list[str] = []
    original = receipts.digest
    monkeypatch.setattr(receipts, "digest", lambda value: hashed.append(value) or original(value))
    for label, wrong in _wrong_receipts(real).items():
        hashed.clear()
        # One HMAC and one indexed query, whatever was typed.
        with django_assert_num_queries(1), pytest.raises(services.ReceiptNotRecognised):
            services.lookup_tip(wrong)
        assert len(hashed) == 1, label


@pytest.mark.django_db
def test_api_answers_every_wrong_receipt_with_the_same_status_and_body(client):
    real = file_tip().receipt
    answers = set()
    for wrong in _wrong_receipts(real).values():
        response = client.post(
            "/api/v1/tips/lookup", {"receipt": wrong}, content_type="application/json"
        )
        answers.add((response.status_code, response.content))
    assert len(answers) == 1
    status, body = answers.pop()
    assert status == 404 and b"receipt_not_recognised" in body
    good = client.post("/api/v1/tips/lookup", {"receipt": real}, content_type="application/json")
    assert good.status_code == 200 and good.json()["status"] == "received"
