"""Money: parsing, formatting, words, splits."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.money import (
    MAX_CENTS,
    AmountError,
    amount_in_words,
    amount_input,
    format_amount,
    parse_amount,
    split_by_percentages,
)

NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("200 000", 20_000_000),
        ("200 000,00 €", 20_000_000),
        (f"200{NNBSP}000,00{NBSP}€", 20_000_000),
        ("1 250,50 €", 125_050),
        ("1250.5", 125_050),
        ("1.250,50", 125_050),
        ("1,250.50", 125_050),
        ("0,05", 5),
        ("26 000 000", 2_600_000_000),
        ("  42  ", 4200),
        ("42 EUR", 4200),
    ],
)
def test_parses_the_ways_people_type_amounts(text, cents):
    assert parse_amount(text) == cents


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("abc", "invalid"),
        ("1,2,3", "invalid"),
        ("12,345", "ambiguous"),
        ("1.250", "ambiguous"),
        ("1,250,50", "invalid"),
        ("10,999", "ambiguous"),
        ("1,234", "ambiguous"),
        ("1,2345", "invalid"),
        ("-5", "negative"),
        ("1e5", "invalid"),
        ("99999999999999999", "too_large"),
    ],
)
def test_refuses_what_is_not_an_amount(text, code):
    with pytest.raises(AmountError) as err:
        parse_amount(text)
    assert err.value.code == code


def test_french_format_uses_narrow_and_normal_no_break_spaces():
    assert format_amount(20_000_000, "fr_FR") == f"200{NNBSP}000,00{NBSP}€"
    assert format_amount(125_050, "en_GB") == "€1,250.50"


@given(st.integers(min_value=0, max_value=MAX_CENTS - 1))
def test_what_is_shown_in_french_reads_back_the_same(cents):
    assert parse_amount(format_amount(cents, "fr_FR")) == cents


@given(st.integers(min_value=0, max_value=MAX_CENTS - 1))
def test_what_is_shown_in_english_reads_back_the_same(cents):
    assert parse_amount(format_amount(cents, "en_GB").replace("€", "")) == cents


@pytest.mark.parametrize(
    ("cents", "words"),
    [
        (20_000_000, "deux cent mille euros"),
        (100, "un euro"),
        (101, "un euro et un centime"),
        (2_600_000_000, "vingt-six millions d'euros"),
        (100_000_000, "un million d'euros"),
        (200_000_000, "deux millions d'euros"),
        (150_000_000, "un million cinq cent mille euros"),
        (100_000_100, "un million un euros"),
        (100_000_000_000, "un milliard d'euros"),
        (300_000_000_000, "trois milliards d'euros"),
        (100_100_000_000, "un milliard un million d'euros"),
        (250_000_000_050, "deux milliards cinq cents millions d'euros et cinquante centimes"),
        (2_000_000_000_000, "vingt milliards d'euros"),
        (125_050, "mille deux cent cinquante euros et cinquante centimes"),
    ],
)
def test_amount_in_words_never_says_zero_centime(cents, words):
    assert amount_in_words(cents) == words
    assert "zéro" not in amount_in_words(cents)


@given(
    st.integers(min_value=0, max_value=MAX_CENTS),
    st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=6),
)
def test_splits_add_up_exactly_and_the_remainder_goes_last(total, weights):
    # Turn arbitrary weights into percentages that add up to exactly 100.
    raw = [Decimal(w) * 100 / sum(weights) for w in weights]
    shares = [p.quantize(Decimal("0.01")) for p in raw[:-1]]
    shares.append(Decimal(100) - sum(shares))
    if shares[-1] <= 0:
        return
    parts = split_by_percentages(total, shares)
    assert sum(parts) == total
    for part, share in zip(parts[:-1], shares[:-1], strict=True):
        assert part == int(total * share / 100)


def test_50_30_20_of_200_000_euros():
    assert split_by_percentages(20_000_000, [Decimal(50), Decimal(30), Decimal(20)]) == [
        10_000_000,
        6_000_000,
        4_000_000,
    ]
    assert split_by_percentages(
        100, [Decimal(1) / 3 * 100, Decimal(1) / 3 * 100, 100 - 2 * (Decimal(1) / 3 * 100)]
    ) == [33, 33, 34]


@pytest.mark.parametrize("locale", ["fr", "en"])
@given(cents=st.integers(min_value=0, max_value=MAX_CENTS - 1))
def test_what_an_amount_field_shows_reads_back_the_same(locale, cents):
    """An English officer resubmitting a prefilled decision or payment form: the field
    showed « €40,000.00 » stripped by hand, which the parser refused."""
    assert parse_amount(amount_input(cents, locale)) == cents


def test_amount_fields_read_as_each_language_writes():
    assert amount_input(4_000_000, "fr") == "40 000,00"
    assert amount_input(4_000_000, "en") == "40,000.00"
    assert amount_input(5, "fr") == "0,05"
    # What the pages show is read back too.
    assert parse_amount(format_amount(4_000_050, "en")) == 4_000_050
    assert parse_amount(format_amount(4_000_050, "fr")) == 4_000_050


# Formatting is prepared once per locale (core/money.py): the same text as Babel's.


@pytest.mark.parametrize("locale", ["fr_FR", "en_GB"])
@given(cents=st.integers(min_value=-MAX_CENTS + 1, max_value=MAX_CENTS - 1))
def test_prepared_amount_formats_say_what_babel_says(locale, cents):
    from babel.numbers import format_currency, format_decimal

    from app.core.money import _GROUP_SPACES, to_decimal

    assert format_amount(cents, locale) == format_currency(to_decimal(cents), "EUR", locale=locale)
    expected_input = format_decimal(to_decimal(cents), format="#,##0.00", locale=locale)
    assert amount_input(cents, locale) == _GROUP_SPACES.sub(" ", expected_input)


def test_a_sum_of_cents_from_postgresql_formats_as_its_integer():
    """PostgreSQL's SUM of a bigint column is a whole Decimal: the prepared layout took
    it for a 500 on « À traiter » (its format string wants an int)."""
    from decimal import Decimal

    assert format_amount(Decimal("12345678"), "fr_FR") == format_amount(12_345_678, "fr_FR")
    assert amount_input(Decimal("-5000"), "en_GB") == amount_input(-5000, "en_GB")


def test_prepared_amount_formats_on_a_large_sample():
    import random

    from babel.numbers import format_currency

    from app.core.i18n import _parsed
    from app.core.money import to_decimal

    rng = random.Random(20)
    sample = [0, 1, -1, 99, 100, 999_99, 1000_00, -1000_00, MAX_CENTS - 1]
    sample += [
        rng.randrange(-(10 ** rng.randrange(1, 16)), 10 ** rng.randrange(1, 16))
        for _ in range(5000)
    ]
    for locale in ("fr_FR", "en_GB", _parsed("fr_FR")):
        for cents in sample:
            babel = format_currency(to_decimal(cents), "EUR", locale=locale)
            assert format_amount(cents, locale) == babel, (locale, cents)
