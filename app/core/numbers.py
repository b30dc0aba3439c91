"""Numbers as people type them: ASCII digits 0–9 only.

Python's ``int()``, ``Decimal()`` and the regex ``\\d`` take the digits of every script
(« １２ » full-width, « ٣ » Arabic-Indic), and ``str.isdigit`` even « ² »: a payment of
« １２ » was recorded as 12,00 €, « ²³¹⁴⁵ » passed as a postcode, and ``int("²")``
raised a 500. Every number typed into a form goes through this module. (Amounts:
``core/money.py``, on the same rule.)
"""

from __future__ import annotations

import re
from decimal import Decimal

# Spaces people and software put between thousands: space, NBSP, narrow NBSP, thin space.
GROUP_SPACES = re.compile(r"[ \u00a0\u202f\u2009]")
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")
_DIGITS = re.compile(r"[0-9]+")
_NOT_DIGIT = re.compile(r"[^0-9]")
_DECIMAL = re.compile(r"[-+]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")


class NumberError(ValueError):
    """The text is not a number written with the digits 0–9."""


def whole_number(text: object) -> int | None:
    """A whole number as typed (an id, a size, a mark): ASCII digits only, at most 9 of
    them, so that it fits any integer column; None for anything else."""
    if not isinstance(text, str) or not _WHOLE_NUMBER.fullmatch(text.strip()):
        return None
    return int(text.strip())


def is_digits(text: str, length: int | None = None) -> bool:
    """Only the digits 0–9 (and exactly ``length`` of them when given): postcodes,
    codes, SIRET numbers."""
    return bool(_DIGITS.fullmatch(text)) and (length is None or len(text) == length)


def parse_decimal(text: str, *, max_digits: int = 30) -> Decimal:
    """« 12,5 », « 12.5 », « 1 250,75 », « -3 » as a ``Decimal``; ``NumberError`` for
    anything else (letters, exponents, other scripts' digits, more than ``max_digits``
    digits)."""
    value = GROUP_SPACES.sub("", (text or "").strip())
    if not _DECIMAL.fullmatch(value) or len(_NOT_DIGIT.sub("", value)) > max_digits:
        raise NumberError(text)
    return Decimal(value.replace(",", "."))


def parse_percentage(text: str) -> Decimal:
    """« 80 », « 80 % », « 12,5 % » as a ``Decimal`` number of percent."""
    return parse_decimal(GROUP_SPACES.sub("", (text or "").strip()).removesuffix("%"))
