"""Time: one Paris, one long date for pages and PDFs, one parse and one format."""

from datetime import UTC, date, datetime

import pytest

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
