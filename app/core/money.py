"""Money: integer cents inside, ``Decimal`` at the edges, French formatting.

The only place amounts are parsed, formatted or written in words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

from babel.numbers import format_currency, format_decimal
from num2words import num2words

from app.core.i18n import babel_code
from app.core.numbers import GROUP_SPACES as _GROUP_SPACES

MAX_CENTS = 10**15  # ten thousand billion euros: above any envelope, within BIGINT


class AmountError(ValueError):
    """The text is not an amount; ``code`` says why, for a translated message."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


_PLAIN = re.compile(r"^(?P<sign>-?)(?P<units>[0-9]+)(?:[.,](?P<cents>[0-9]{1,2}))?$")
_GROUPED = re.compile(
    r"^(?P<sign>-?)(?P<units>[0-9]{1,3}(?:[.,][0-9]{3})+)(?:[.,](?P<cents>[0-9]{1,2}))?$"
)


def parse_amount(text: str, *, allow_negative: bool = False) -> int:
    """Read « 200 000 », « 1 250,50 € », « 1250.5 », « 1.250,50 » as cents.

    Refuses anything ambiguous or with more than two decimals."""
    value = _GROUP_SPACES.sub("", (text or "").strip())
    value = value.removeprefix("€").removesuffix("€").removesuffix("EUR").strip()
    value = _GROUP_SPACES.sub("", value)
    if not value:
        raise AmountError("empty")
    match = _PLAIN.match(value)
    if match is None:
        match = _GROUPED.match(value)
        if match is None or _mixed_separators(match["units"], value):
            raise AmountError("invalid")
        if match["cents"] is None and len(re.findall(r"[.,]", match["units"])) == 1:
            # « 1,250 » / « 1.250 »: a thousand or one and a quarter? Ask again.
            raise AmountError("ambiguous")
    digits = re.sub(r"[.,]", "", match["units"]).lstrip("0")
    if len(digits) > len(str(MAX_CENTS)):
        # Far too large, and int() refuses a few thousand digits.
        raise AmountError("too_large")
    units = int(digits or "0")
    cents = int((match["cents"] or "0").ljust(2, "0"))
    total = units * 100 + cents
    if match["sign"]:
        if not allow_negative:
            raise AmountError("negative")
        total = -total
    if abs(total) >= MAX_CENTS:
        raise AmountError("too_large")
    return total


def _mixed_separators(units: str, whole: str) -> bool:
    """« 1,250,50 » or « 1.250.50 »: the same mark cannot both group and mark cents."""
    group_marks = set(re.findall(r"[.,]", units))
    if len(group_marks) > 1:
        return True
    decimal_part = whole[len(whole) - 3 :] if re.search(r"[.,][0-9]{1,2}$", whole) else ""
    return bool(decimal_part) and decimal_part[0] in group_marks


def to_decimal(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def from_decimal(amount: Decimal) -> int:
    try:
        quantized = amount.quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise AmountError("invalid") from exc
    if quantized != amount:
        raise AmountError("invalid")
    return int(quantized * 100)


# Babel takes ~20 µs an amount (pattern, locale data and Decimal arithmetic each time):
# a long table of amounts paid that for every cell. Each locale's layout is read from
# Babel once, from two sample amounts, and applied with integer arithmetic; the output
# is Babel's to the character (tests/unit/core/test_money.py compares them).


@dataclass(frozen=True, slots=True)
class _AmountLayout:
    positive: tuple[str, str]  # what comes before and after the digits
    negative: tuple[str, str]
    group: str
    decimal: str

    def apply(self, cents: int) -> str:
        # A SUM of cents comes back from PostgreSQL as a whole Decimal (Babel took it).
        cents = int(cents)
        units, rest = divmod(abs(cents), 100)
        before, after = self.negative if cents < 0 else self.positive
        return f"{before}{units:,}".replace(",", self.group) + f"{self.decimal}{rest:02d}{after}"


def _layout(sample_positive: str, sample_negative: str) -> _AmountLayout:
    """From the texts of 1234567.89 and -1234567.89: the group and decimal marks and
    what surrounds the digits."""

    def around(text: str) -> tuple[str, str, str]:
        match = re.fullmatch(r"(\D*)(1\D+234\D+567\D+89)(\D*)", text)
        if match is None:
            raise ValueError(f"unexpected amount layout: {text!r}")
        return match[1], match[2], match[3]

    before, digits, after = around(sample_positive)
    negative_before, _, negative_after = around(sample_negative)
    group = re.match(r"1(\D+)234", digits)[1]
    decimal = re.search(r"567(\D+)89$", digits)[1]
    return _AmountLayout((before, after), (negative_before, negative_after), group, decimal)


_SAMPLE = Decimal("1234567.89")


@cache
def _currency_layout(locale: str) -> _AmountLayout:
    return _layout(
        format_currency(_SAMPLE, "EUR", locale=locale),
        format_currency(-_SAMPLE, "EUR", locale=locale),
    )


@cache
def _input_layout(locale: str) -> _AmountLayout:
    layout = _layout(
        format_decimal(_SAMPLE, format="#,##0.00", locale=locale),
        format_decimal(-_SAMPLE, format="#,##0.00", locale=locale),
    )

    def plain(text: str) -> str:  # a plain space between thousands (and elsewhere)
        return _GROUP_SPACES.sub(" ", text)

    return _AmountLayout(
        (plain(layout.positive[0]), plain(layout.positive[1])),
        (plain(layout.negative[0]), plain(layout.negative[1])),
        plain(layout.group),
        plain(layout.decimal),
    )


def amount_input(cents: int, locale: str | None = None) -> str:
    """An amount as a form field shows it, in the person's language: « 200 000,00 »,
    « 200,000.00 » (no currency sign; a plain space between thousands). Every amount
    field is prefilled with it, and ``parse_amount`` reads it back in both languages."""
    return _input_layout(str(locale) if locale else babel_code()).apply(cents)


def format_amount(cents: int, locale: str | None = None) -> str:
    """« 200 000,00 € » in French (narrow no-break spaces between thousands)."""
    return _currency_layout(str(locale) if locale else babel_code()).apply(cents)


_ENDS_WITH_QUANTITY_NOUN = re.compile(r"(?:million|milliard|billion|billiard|trillion)s?$")


def amount_in_words(cents: int, lang: str = "fr") -> str:
    """« deux cent mille euros »; cents are read only when there are some.

    num2words reads an int as cents and adds « et zéro centimes » to whole amounts,
    so euros and cents are spelled separately here."""
    euros, rest = divmod(abs(cents), 100)
    if lang == "fr":
        number = num2words(euros, lang="fr")
        # « un million d'euros », « deux milliards d'euros », but « un million cinq
        # cent mille euros »: « de » after a noun of quantity that ends the number.
        unit = "d'euros" if _ENDS_WITH_QUANTITY_NOUN.search(number) else "euros"
        words = f"{number} {unit if euros > 1 else 'euro'}"
        if rest:
            words += f" et {num2words(rest, lang='fr')} centime{'s' if rest > 1 else ''}"
    else:
        words = f"{num2words(euros, lang='en')} euro{'s' if euros != 1 else ''}"
        if rest:
            words += f" and {num2words(rest, lang='en')} cent{'s' if rest != 1 else ''}"
    return words


def split_by_percentages(total_cents: int, percentages: list[Decimal]) -> list[int]:
    """Cents for each share of ``total_cents``; the parts add up exactly to the total,
    the rounding remainder going to the last part."""
    if not percentages:
        raise ValueError("no shares")
    if sum(percentages) != 100:
        raise ValueError("shares must add up to 100 %")
    parts = [int(total_cents * p / 100) for p in percentages[:-1]]
    parts.append(total_cents - sum(parts))
    return parts
