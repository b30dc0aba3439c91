"""French identifiers of an organisation: SIRET, RNA, IBAN, BIC.

Each returns the value in its stored form or raises ``IdentifierError``, whose code
and message say what is wrong: a character that has no place there, the length, the
country, the check key (« le numéro SIRET doit comporter 14 chiffres », « clé de
contrôle invalide »); ``field`` is the form field of the identifier.
"""

from __future__ import annotations

import re

from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)
from stdnum.fr import siret as stdnum_siret

from app.core.domain import DomainError
from app.core.i18n import gettext_noop as N_
from app.core.numbers import is_digits


class IdentifierError(DomainError):
    """An identifier that cannot be the one of a real organisation or bank account."""


def _compact(value: str) -> str:
    return re.sub(r"[\s.\-\u00a0\u202f]", "", value or "").upper()


def clean_siret(value: str) -> str:
    """14 digits with a valid Luhn key (La Poste's establishments: digit sum ÷ 5)."""
    number = _compact(value)
    if not number:
        raise IdentifierError("siret_empty", N_("Enter the SIRET number."), field="siret")
    if not is_digits(number):
        raise IdentifierError(
            "siret_digits", N_("The SIRET number contains only digits."), field="siret"
        )
    if len(number) != 14:
        raise IdentifierError(
            "siret_length", N_("The SIRET number must have 14 digits."), field="siret"
        )
    try:
        return stdnum_siret.validate(number)
    except ValidationError:
        raise IdentifierError(
            "siret_checksum",
            N_("Invalid check key: check the SIRET number on your INSEE notice."),
            field="siret",
        ) from None


_RNA = re.compile(r"^W[0-9A-Z]{9}$")


def clean_rna(value: str) -> str:
    """Répertoire national des associations: W followed by 9 characters
    (department code, then digits), e.g. W751234567 or W2A1002345."""
    number = _compact(value)
    if not number.startswith("W"):
        raise IdentifierError("rna_prefix", N_("The RNA number starts with W."), field="rna")
    if len(number) != 10:
        raise IdentifierError(
            "rna_length", N_("The RNA number has W followed by 9 characters."), field="rna"
        )
    if not _RNA.match(number):
        raise IdentifierError(
            "rna_format", N_("The RNA number has W followed by 9 letters or digits."), field="rna"
        )
    return number


def clean_iban(value: str) -> str:
    """Country code, mod-97 check digits and the country's length; the refusal says
    which: an unknown country, the length expected there and the one typed, the key."""
    number = _compact(value)
    if not number:
        raise IdentifierError("iban_empty", N_("Enter the IBAN."), field="iban")
    if not re.match(r"^[A-Z]{2}[0-9]{2}[0-9A-Z]+$", number):
        raise _iban_format()
    expected = _iban_length(number[:2])
    if expected is None:
        raise IdentifierError(
            "iban_format",
            N_(
                "« %(country)s » is not the country code of an IBAN: the IBAN starts with "
                "a country code (FR...) followed by digits and letters."
            ),
            field="iban",
            country=number[:2],
        )
    if len(number) != expected:
        raise _iban_length_error(number[:2], expected, len(number))
    try:
        return stdnum_iban.validate(number)
    except InvalidLength:
        raise _iban_length_error(number[:2], expected, len(number)) from None
    except InvalidChecksum:
        raise IdentifierError(
            "iban_checksum",
            N_("Invalid check key: check the IBAN on your bank details (RIB)."),
            field="iban",
        ) from None
    except (InvalidFormat, InvalidComponent, ValidationError):
        raise _iban_format() from None


def _iban_format() -> IdentifierError:
    return IdentifierError(
        "iban_format",
        N_("The IBAN starts with a country code (FR...) followed by digits and letters."),
        field="iban",
    )


def _iban_length_error(country: str, expected: int, typed: int) -> IdentifierError:
    return IdentifierError(
        "iban_length",
        N_(
            "The IBAN does not have the length used in its country: an IBAN %(country)s "
            "has %(expected)d characters, this one has %(typed)d."
        ),
        field="iban",
        country=country,
        expected=expected,
        typed=typed,
    )


def _iban_length(country: str) -> int | None:
    """The IBAN length of a country, from python-stdnum's IBAN registry (the check
    digits are checked first by stdnum, which would hide a missing character)."""
    info = stdnum_iban._ibandb.info(country + "00")
    structure = info[0][1].get("bban") if info and info[0][1] else None
    if not structure:
        return None
    return 4 + sum(int(n) for n in re.findall(r"(\d+)[acen!]", structure))


def clean_bic(value: str) -> str:
    """8 or 11 characters: bank, country, location (and branch)."""
    number = _compact(value)
    try:
        return stdnum_bic.validate(number)
    except InvalidLength:
        raise IdentifierError(
            "bic_length", N_("The BIC has 8 or 11 characters."), field="bic"
        ) from None
    except ValidationError:
        raise IdentifierError(
            "bic_format",
            N_("The BIC is not valid: check it on your bank details (RIB)."),
            field="bic",
        ) from None


def format_iban(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def mask_iban(number: str) -> str:
    """« FR76 •••• •••• •••• •••• ••• 0189 »: country, check digits and the last 4."""
    if not number:
        return ""
    hidden = number[:4] + "•" * (len(number) - 8) + number[-4:]
    return format_iban(hidden)


def format_siret(number: str) -> str:
    """« 732 829 320 00074 »: SIREN in threes, then the NIC."""
    return f"{number[:3]} {number[3:6]} {number[6:9]} {number[9:]}" if len(number) == 14 else number
