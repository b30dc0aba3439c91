"""The ``mark`` filter (« 15,20 ») says what Babel's format_decimal(value, "0.00") says,
from the locale's symbols read once (the ranking shows 600 marks a page)."""

import random
from decimal import Decimal

import pytest
from babel.numbers import format_decimal

from app.core import i18n
from app.core.templating import mark


def _sample() -> list:
    rng = random.Random(20)
    values: list = [0, 20, -1, Decimal("-0"), Decimal("0.005"), Decimal("0.015"), 15.2, 1e-7]
    values += [Decimal(rng.randrange(0, 2001)) / 100 for _ in range(5000)]  # stored marks
    values += [Decimal(rng.randrange(-(10**9), 10**9)) / 10**6 for _ in range(5000)]
    values += [rng.uniform(-100, 100) for _ in range(3000)]
    values += [rng.randrange(-50, 50) for _ in range(500)]
    return values


@pytest.mark.parametrize("locale", sorted(i18n.LOCALES))
def test_mark_says_what_babel_says(locale):
    with i18n.use_locale(locale):
        babel = i18n.babel_locale()
        for value in _sample():
            assert mark(value) == format_decimal(value, "0.00", locale=babel), (locale, value)
