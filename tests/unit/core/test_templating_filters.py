"""Shares and months the user's way: percentages to one decimal (« 6,6 % », not
« 6 % »), months in words."""

from app.core.i18n import use_locale
from app.core.templating import month, share, short_money


def test_share_has_one_decimal_in_each_language():
    with use_locale("fr"):
        assert share(66, 1000) == "6,6\u202f%" or share(66, 1000) == "6,6\xa0%"
        assert share(1, 3).startswith("33,3") and share(5, 0) == "—"
        assert share(12_345_678, 10_000_000).startswith("123,5")
    with use_locale("en"):
        assert share(66, 1000) == "6.6%"


def test_months_read_as_words():
    with use_locale("fr"):
        assert month("2017-07") == "juil. 2017" and month("2017-07", short=True) == "juil. 17"
    with use_locale("en"):
        assert month("2017-07") == "Jul 2017"


def test_axis_amounts_are_short():
    with use_locale("fr"):
        assert short_money(250_000_000).replace("\xa0", " ").replace("\u202f", " ") == "2,5 M €"
    with use_locale("en"):
        assert short_money(6_000_000) == "€60k"
