"""Time: one Paris, one long date for pages and PDFs, one parse and one format."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core import i18n
from app.core.time import (
    TimeError,
    clock,
    format_paris,
    long_date,
    paris_input,
    parse_paris,
    start_of_paris_day,
)


@pytest.mark.parametrize(
    ("day", "fr", "en"),
    [
        (date(2017, 7, 1), "1er juillet 2017", "1 July 2017"),
        (date(2017, 5, 17), "17 mai 2017", "17 May 2017"),
        (date(2018, 12, 31), "31 décembre 2018", "31 December 2018"),
    ],
)
def test_long_date_is_the_same_on_pages_and_in_pdfs(day, fr, en):
    assert long_date(day, "fr") == fr
    assert long_date(day, "en") == en
    i18n.activate("fr")
    assert long_date(day) == fr  # the page's language when none is given


def test_a_paris_time_typed_reads_back_and_shows_in_paris():
    instant = parse_paris("2017-03-17T12:00")
    assert instant == datetime(2017, 3, 17, 11, 0, tzinfo=UTC)
    assert paris_input(instant) == "2017-03-17T12:00"
    assert clock(instant) == "12:00"
    i18n.activate("fr")
    assert "12:00" in format_paris(instant)
    assert format_paris(instant, "day") == "vendredi 17 mars 2017 à 12:00"


@pytest.mark.parametrize(
    ("text", "code"),
    [("hier", "datetime"), ("0001-01-01T00:00", "datetime"), ("2017-03-26T02:30", "datetime_gap")],
)
def test_what_is_not_a_paris_time_is_refused_with_its_reason(text, code):
    with pytest.raises(TimeError) as refused:
        parse_paris(text)
    assert refused.value.code == code


def test_a_paris_day_starts_at_its_midnight():
    assert start_of_paris_day(date(2017, 7, 1)) == datetime(2017, 6, 30, 22, 0, tzinfo=UTC)
    assert start_of_paris_day(date(2017, 1, 1)) == datetime(2016, 12, 31, 23, 0, tzinfo=UTC)


# Date-times are formatted by functions prepared once per locale and format
# (core/time.py): the same text as Babel's, on a large sample of instants.

RECEIPT_FR = "d MMMM y 'à' H'\u00a0h' mm'\u00a0min' ss'\u00a0s'"


@pytest.mark.parametrize("locale", ["fr_FR", "en_GB"])
@pytest.mark.parametrize(
    "fmt", ["short", "medium", "long", "full", "d MMMM y", RECEIPT_FR, "EEE d MMM yy h:mm"]
)
@given(
    instant=st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2999, 12, 31), timezones=st.just(UTC)
    )
)
def test_prepared_date_time_formats_say_what_babel_says(locale, fmt, instant):
    from babel.dates import format_date, format_datetime

    from app.core.time import PARIS, formatter

    local = instant.astimezone(PARIS)
    assert formatter(locale, fmt)(local) == format_datetime(local, fmt, tzinfo=PARIS, locale=locale)
    if fmt in ("full", "medium", "d MMMM y"):
        day = local.date()
        assert formatter(locale, fmt, "date")(day) == format_date(day, fmt, locale=locale)


def test_page_date_times_are_babels_in_both_languages():
    import random

    from babel.dates import format_date, format_datetime

    from app.core.time import PARIS

    rng = random.Random(8)
    for language, babel in (("fr", "fr_FR"), ("en", "en_GB")):
        i18n.activate(language)
        for _ in range(3000):
            instant = datetime.fromtimestamp(rng.randrange(-2 * 10**9, 10**10), UTC)
            local = instant.astimezone(PARIS)
            assert format_paris(instant) == format_datetime(
                local, "medium", tzinfo=PARIS, locale=babel
            )
            assert long_date(local.date(), language).endswith(
                format_date(local.date(), "d MMMM y", locale=babel)[1:]
            )
    i18n.activate("fr")
