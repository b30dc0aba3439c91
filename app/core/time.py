"""Time, the one way: instants are aware UTC inside, Paris time at the edges.

One ``PARIS``; one ``long_date`` for pages and PDFs (« 1er juillet 2017 »); one way to
read a date-time typed in Paris time and one to put it back in a form field.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

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


def long_date(value: date, locale: str | None = None) -> str:
    """« 17 mars 2017 », « 1er juillet 2017 », « 17 March 2017 » (pages and PDFs)."""
    babel = _locale(locale)
    return _first_of_month(format_date(value, "d MMMM y", locale=babel), value.day, babel)


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
    text = format_datetime(local, pattern, tzinfo=PARIS, locale=babel)
    return _first_of_month(text, local.day, babel)


def format_paris(value: datetime, fmt: str = "medium") -> str:
    """A date-time on a page, in Paris time and the user's language; ``"day"`` reads
    « mardi 5 janvier 2027 à 12:00 »."""
    local = value.astimezone(PARIS)
    if fmt == "day":
        day = format_date(local, "full", locale=_locale(None))
        return i18n.gettext("%(day)s at %(time)s") % {"day": day, "time": clock(value)}
    return format_datetime(local, fmt, tzinfo=PARIS, locale=_locale(None))


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
