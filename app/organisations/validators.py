"""French identifiers of an organisation: SIRET, RNA, IBAN, BIC.

Each returns the value in its stored form or raises ``IdentifierError`` whose code
says what is wrong (« le numéro SIRET doit comporter 14 chiffres », « clé de
contrôle invalide »), for a translated message.
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

from app.core.numbers import is_digits


class IdentifierError(ValueError):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def _compact(value: str) -> str:
    return re.sub(r"[\s.\-\u00a0\u202f]", "", value or "").upper()


def clean_siret(value: str) -> str:
    """14 digits with a valid Luhn key (La Poste's establishments: digit sum ÷ 5)."""
    number = _compact(value)
    if not number:
        raise IdentifierError("siret_empty")
    if not is_digits(number):
        raise IdentifierError("siret_digits")
    if len(number) != 14:
        raise IdentifierError("siret_length")
    try:
        return stdnum_siret.validate(number)
    except ValidationError:
        raise IdentifierError("siret_checksum") from None


_RNA = re.compile(r"^W[0-9A-Z]{9}$")


def clean_rna(value: str) -> str:
    """Répertoire national des associations: W followed by 9 characters
    (department code, then digits), e.g. W751234567 or W2A1002345."""
    number = _compact(value)
    if not number.startswith("W"):
        raise IdentifierError("rna_prefix")
    if len(number) != 10:
        raise IdentifierError("rna_length")
    if not _RNA.match(number):
        raise IdentifierError("rna_format")
    return number


def clean_iban(value: str) -> str:
    """Country code, mod-97 check digits and the country's length."""
    number = _compact(value)
    if not number:
        raise IdentifierError("iban_empty")
    if not re.match(r"^[A-Z]{2}[0-9]{2}[0-9A-Z]+$", number):
        raise IdentifierError("iban_format")
    expected = _iban_length(number[:2])
    if expected is None:
        raise IdentifierError("iban_format")
    if len(number) != expected:
        raise IdentifierError("iban_length")
    try:
        return stdnum_iban.validate(number)
    except InvalidLength:
        raise IdentifierError("iban_length") from None
    except InvalidChecksum:
        raise IdentifierError("iban_checksum") from None
    except (InvalidFormat, InvalidComponent):
        raise IdentifierError("iban_format") from None
    except ValidationError:
        raise IdentifierError("iban_format") from None


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
        raise IdentifierError("bic_length") from None
    except ValidationError:
        raise IdentifierError("bic_format") from None


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
