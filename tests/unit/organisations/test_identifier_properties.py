"""Identifier validators against generated input (hypothesis): whatever is typed, the
answer is the stored form or an IdentifierError with a known code — never another
exception; valid numbers survive the ways people type them; one wrong digit is caught."""

import string

from hypothesis import given
from hypothesis import strategies as st
from stdnum import iban as stdnum_iban
from stdnum import luhn

from app.organisations import validators
from app.organisations.validators import IdentifierError

CODES = {
    "siret_empty", "siret_digits", "siret_length", "siret_checksum",
    "rna_prefix", "rna_length", "rna_format",
    "iban_empty", "iban_format", "iban_length", "iban_checksum",
    "bic_length", "bic_format",
}  # fmt: skip
SEPARATORS = st.sampled_from([" ", ".", "-", "\u00a0", "\u202f", ""])


def _valid_siret(body: str) -> str:
    """From 12 digits: a SIREN with its Luhn key, the NIC, the SIRET's Luhn key."""
    siren = body[:8] + luhn.calc_check_digit(body[:8])
    number = siren + body[8:12]
    return number + luhn.calc_check_digit(number)


def _valid_french_iban(bban: str) -> str:
    return "FR" + stdnum_iban.calc_check_digits("FR00" + bban) + bban


def _typed(number: str, separator: str, lower: bool) -> str:
    text = separator.join(number[i : i + 4] for i in range(0, len(number), 4))
    return text.lower() if lower else text


@given(st.text(max_size=60))
def test_any_text_gives_a_stored_form_or_a_known_error(text):
    for clean, field in (
        (validators.clean_siret, "siret"),
        (validators.clean_rna, "rna"),
        (validators.clean_iban, "iban"),
        (validators.clean_bic, "bic"),
    ):
        try:
            stored = clean(text)
        except IdentifierError as exc:
            # Its own message, on its own field (no lookup by code anywhere else).
            assert exc.code in CODES and exc.field == field
            assert exc.text() and "%(" not in exc.text()
        else:
            assert stored == stored.strip() and " " not in stored


@given(st.text(string.digits, min_size=12, max_size=12), SEPARATORS)
def test_a_valid_siret_typed_with_separators_is_accepted_as_its_14_digits(body, separator):
    number = _valid_siret(body)
    if number.startswith("356000000"):
        return  # La Poste's establishments use another key
    assert validators.clean_siret(_typed(number, separator, False)) == number


@given(
    st.text(string.digits, min_size=12, max_size=12),
    st.integers(0, 13),
    st.integers(1, 9),
)
def test_one_wrong_siret_digit_is_caught(body, position, shift):
    number = _valid_siret(body)
    wrong = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    if number.startswith("356000000"):
        return  # La Poste's establishments use another key
    try:
        validators.clean_siret(wrong)
    except IdentifierError as exc:
        assert exc.code == "siret_checksum"
    else:
        raise AssertionError(f"{wrong} accepted")


@given(
    st.text(string.digits, min_size=23, max_size=23),
    SEPARATORS,
    st.booleans(),
)
def test_a_valid_french_iban_typed_any_way_is_accepted(bban, separator, lower):
    number = _valid_french_iban(bban)
    assert validators.clean_iban(_typed(number, separator, lower)) == number
    masked = validators.mask_iban(number).replace(" ", "")
    assert masked == number[:4] + "•" * 19 + number[-4:]


@given(st.text(string.digits, min_size=23, max_size=23), st.integers(4, 26), st.integers(1, 9))
def test_one_wrong_iban_digit_is_caught(bban, position, shift):
    number = _valid_french_iban(bban)
    wrong = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    try:
        validators.clean_iban(wrong)
    except IdentifierError as exc:
        assert exc.code == "iban_checksum"
    else:
        raise AssertionError(f"{wrong} accepted")


@given(st.text(string.digits, min_size=23, max_size=23), st.integers(0, 26))
def test_a_missing_iban_character_is_named_as_the_length(bban, position):
    number = _valid_french_iban(bban)
    short = number[:position] + number[position + 1 :]
    try:
        validators.clean_iban(short)
    except IdentifierError as exc:
        assert exc.code in {"iban_length", "iban_format"}
    else:
        raise AssertionError(f"{short} accepted")
