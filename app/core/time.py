"""Time, the one way: instants are aware UTC inside, Paris time at the edges.

One ``PARIS``; one ``long_date`` for pages and PDFs (« 1er juillet 2017 »); one way to
read a date-time typed in Paris time and one to put it back in a form field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import cache
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import (
    format_date,
    format_datetime,
    get_datetime_format,
    get_day_names,
    get_month_names,
    tokenize_pattern,
)

from app.core import i18n

PARIS = ZoneInfo("Europe/Paris")
INPUT_FORMAT = "%Y-%m-%dT%H:%M"  # <input type="datetime-local">


class TimeError(ValueError):
    """A date-time as typed is not one: ``code`` is ``datetime`` (not a date-time, or a
    year outside 1900–2999) or ``datetime_gap`` (an hour skipped by summer time)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def now() -> datetime:
    return datetime.now(UTC)


def _locale(locale: str | None) -> str:
    locale = locale or i18n.get_locale()
    return i18n.BABEL_LOCALES.get(locale, locale)


def _first_of_month(text: str, day: int, locale: str) -> str:
    # French writes the first day of a month as an ordinal: « 1er juillet ».
    french = locale.startswith("fr")
    return "1er" + text[1:] if french and day == 1 and text.startswith("1 ") else text


# Babel takes ~14 µs a date-time (its pattern and locale data looked up each time):
# a table's column of dates paid that for every cell. Each (locale, pattern) is
# prepared once into a function of the fields it needs; the output is Babel's to the
# character (tests/unit/core/test_time.py compares them). Fields beyond the days,
# months, years, weekdays and clock go to Babel.

Formatter = Callable[[date], str]


def _field(char: str, num: int, locale: Locale) -> tuple[str, Callable] | None:
    """A %-format piece and the function of the date-time that fills it."""
    number = f"%0{num}d"
    if char == "d":
        return number, attrgetter("day")
    if char in ("M", "L"):
        if num <= 2:
            return number, attrgetter("month")
        width = {3: "abbreviated", 4: "wide", 5: "narrow"}[num]
        months = dict(get_month_names(width, "format" if char == "M" else "stand-alone", locale))
        return "%s", lambda v: months[v.month]
    if char == "y":
        if num == 2:
            return "%s", lambda v: f"{v.year:02d}"[-2:]
        return number, attrgetter("year")
    if char == "E":
        width = {3: "abbreviated", 4: "wide", 5: "narrow", 6: "short"}[max(num, 3)]
        days = dict(get_day_names(width, "format", locale))
        return "%s", lambda v: days[v.weekday()]
    if char == "H":
        return number, attrgetter("hour")
    if char == "h":
        return number, lambda v: v.hour % 12 or 12
    if char == "m":
        return number, attrgetter("minute")
    if char == "s":
        return number, attrgetter("second")
    return None


def _compiled(tokens: list[tuple[str, Any]], locale: Locale) -> Formatter | None:
    template = ""
    getters = []
    for kind, value in tokens:
        if kind == "chars":
            template += value.replace("%", "%%")
            continue
        field = _field(value[0], value[1], locale)
        if field is None:
            return None
        template += field[0]
        getters.append(field[1])
    return lambda v: template % tuple([get(v) for get in getters])


def _glued(glue: str, on_time: str, on_date: str) -> list[tuple[str, Any]]:
    """Babel's style of a date-time: its date and time patterns put into the locale's
    glue (« {1}, {0} »), quotes taken out of the glue as Babel does."""
    tokens: list[tuple[str, Any]] = []
    for piece in re.split(r"(\{[01]\})", glue.replace("'", "")):
        if piece == "{0}":
            tokens += tokenize_pattern(on_time)
        elif piece == "{1}":
            tokens += tokenize_pattern(on_date)
        elif piece:
            tokens.append(("chars", piece))
    return tokens


_STYLES = ("full", "long", "medium", "short")


@cache
def formatter(locale: str, fmt: str, kind: str = "datetime") -> Formatter:
    """Babel's ``format_datetime`` (``kind="datetime"``) or ``format_date``
    (``"date"``) of a local date-time in this locale and format (a style or a
    pattern), prepared once."""
    babel = Locale.parse(locale)
    if fmt in _STYLES and kind == "date":
        tokens = tokenize_pattern(babel.date_formats[fmt].pattern)
    elif fmt in _STYLES:
        glue = get_datetime_format(fmt, locale=babel)
        tokens = _glued(glue, babel.time_formats[fmt].pattern, babel.date_formats[fmt].pattern)
    else:
        tokens = tokenize_pattern(fmt)
    prepared = _compiled(tokens, babel)
    if prepared is not None:
        return prepared
    if kind == "date":
        return lambda v: format_date(v, fmt, locale=babel)
    return lambda v: format_datetime(v, fmt, tzinfo=PARIS, locale=babel)


def long_date(value: date, locale: str | None = None) -> str:
    """« 17 mars 2017 », « 1er juillet 2017 », « 17 March 2017 » (pages and PDFs)."""
    babel = _locale(locale)
    text = formatter(babel, "d MMMM y", "date")(value)
    return _first_of_month(text, value.day, babel)


def paris_date(value: datetime) -> date:
    """The day it is in Paris at that instant."""
    return value.astimezone(PARIS).date()


def paris_datetime_text(value: datetime, locale: str | None = None) -> str:
    """In words, to the second: « 17 mars 2017 à 14 h 32 min 05 s » (no-break spaces
    before the units), « 17 March 2017 at 14:32:05 » (receipts)."""
    if value.tzinfo is None:
        raise ValueError("an aware datetime is needed (UTC from the database)")
    babel = _locale(locale)
    pattern = (
        "d MMMM y 'à' H'\u00a0h' mm'\u00a0min' ss'\u00a0s'"
        if babel.startswith("fr")
        else "d MMMM y 'at' HH:mm:ss"
    )
    local = value.astimezone(PARIS)
    text = formatter(babel, pattern)(local)
    return _first_of_month(text, local.day, babel)


def format_paris(value: datetime, fmt: str = "medium") -> str:
    """A date-time on a page, in Paris time and the user's language; ``"day"`` reads
    « mardi 5 janvier 2027 à 12:00 »."""
    local = value.astimezone(PARIS)
    if fmt == "day":
        day = formatter(_locale(None), "full", "date")(local)
        return i18n.gettext("%(day)s at %(time)s") % {"day": day, "time": clock(value)}
    return formatter(_locale(None), fmt)(local)


def clock(value: datetime) -> str:
    """« 14:32 » in Paris."""
    return value.astimezone(PARIS).strftime("%H:%M")


def paris_input(value: datetime) -> str:
    """The value of a ``datetime-local`` field: ``2017-03-17T12:00``, Paris time."""
    return value.astimezone(PARIS).strftime(INPUT_FORMAT)


def parse_paris(text: str) -> datetime:
    """A date-time typed in Paris time (``2017-03-17T12:00``) as an aware UTC instant.

    Refuses a time that does not exist (the hour skipped when summer time starts);
    an ambiguous one (the hour repeated in autumn) is read as the first. Refuses a
    year before 1900 or after 2999: a typo, and the ends of the calendar (year 1,
    year 9999) break the date arithmetic that follows (UTC offset, next edition)."""
    try:
        naive = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TimeError("datetime") from None
    if naive.tzinfo is not None or not 1900 <= naive.year <= 2999:
        raise TimeError("datetime")
    local = naive.replace(tzinfo=PARIS, fold=0)
    if local.astimezone(UTC).astimezone(PARIS).replace(tzinfo=None) != naive:
        raise TimeError("datetime_gap")
    return local.astimezone(UTC)


def start_of_paris_day(day: date) -> datetime:
    """Midnight in Paris that day, as a UTC instant."""
    return datetime.combine(day, datetime.min.time(), tzinfo=PARIS).astimezone(UTC)
