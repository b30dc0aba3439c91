"""Numbers typed into forms: the digits 0–9 and nothing else."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.money import AmountError, parse_amount
from app.core.numbers import NumberError, is_digits, parse_decimal, parse_percentage, whole_number

# Digits of other scripts that int(), Decimal(), « \d » or str.isdigit() take.
OTHER_DIGITS = ["１２", "٣", "۴۵", "१२", "²", "²³¹⁴⁵", "１２,５", "１ ０００"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", Decimal(12)),
        ("12,5", Decimal("12.5")),
        ("12.5", Decimal("12.5")),
        (" 1 250,75 ", Decimal("1250.75")),
        ("1\u202f250", Decimal(1250)),
        ("-3", Decimal(-3)),
        (",5", Decimal("0.5")),
    ],
)
def test_reads_decimals_as_people_type_them(text, value):
    assert parse_decimal(text) == value


@pytest.mark.parametrize(
    "text", ["", "abc", "1e5", "NaN", "Infinity", "1,2,3", "12 %", "--1", *OTHER_DIGITS]
)
def test_refuses_what_is_not_a_decimal(text):
    with pytest.raises(NumberError):
        parse_decimal(text)


def test_percentages_may_carry_the_sign():
    assert parse_percentage("80 %") == parse_percentage("80%") == Decimal(80)
    assert parse_percentage("12,5 %") == Decimal("12.5")
    with pytest.raises(NumberError):
        parse_percentage("８０ %")


@pytest.mark.parametrize("text", OTHER_DIGITS)
def test_other_scripts_digits_are_refused_everywhere(text):
    assert whole_number(text) is None
    assert not is_digits(text)
    with pytest.raises(AmountError):
        parse_amount(text)


def test_is_digits_checks_the_length():
    assert is_digits("75001", 5) and not is_digits("7500", 5) and not is_digits("", None)


@given(st.text(min_size=1, max_size=12))
def test_anything_accepted_is_plain_ascii(text):
    try:
        parse_decimal(text)
    except NumberError:
        return
    assert all(c in "0123456789+-.," or c.isspace() for c in text)


def test_a_second_factor_code_in_other_digits_is_refused_not_a_crash():
    """``str.isdigit`` let « １２３４５６ » through to ``secrets.compare_digest``, which
    raises on non-ASCII text (a 500 at the second-factor step)."""
    import pyotp

    from app.accounts.two_factor import totp_step

    secret = pyotp.random_base32()
    code = pyotp.TOTP(secret).now()
    assert totp_step(secret, code) is not None
    wide = code.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    assert totp_step(secret, wide) is None
