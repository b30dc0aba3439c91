"""Translations: French by default, English on request.

The active locale lives in a context variable set once per request, so templates,
services (e-mails) and error pages all speak the user's language. Message ids are
English; ``app/locales/fr`` carries the French text (compiled by ``make``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache

from babel import Locale
from babel.support import NullTranslations, Translations

from app.settings import LOCALES_DIR

LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"
LOCALE_COOKIE = "guichet_lang"
LOCALE_NAMES = {"fr": "Français", "en": "English"}
# Babel locale used for numbers and dates.
BABEL_LOCALES = {"fr": "fr_FR", "en": "en_GB"}

_current: ContextVar[str] = ContextVar("guichet_locale", default=DEFAULT_LOCALE)


@cache
def catalogue(locale: str) -> NullTranslations:
    if locale == "en":
        return NullTranslations()  # message ids are English
    return Translations.load(str(LOCALES_DIR), [locale], domain="messages")


def get_locale() -> str:
    return _current.get()


def babel_locale() -> Locale:
    """The current language's babel Locale, parsed once (every amount and date of a
    page is formatted with it: parsing it each time cost ~10 % of a long table)."""
    return _parsed(BABEL_LOCALES[_current.get()])


def babel_code() -> str:
    """The current language's babel code (« fr_FR »): the key of the formatters prepared
    once per locale (``str(Locale)`` rebuilds it at each call: 6 % of the finance page)."""
    return BABEL_LOCALES[_current.get()]


@cache
def _parsed(code: str) -> Locale:
    return Locale.parse(code)


def activate(locale: str | None) -> str:
    locale = locale if locale in LOCALES else DEFAULT_LOCALE
    _current.set(locale)
    return locale


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return catalogue(_current.get()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return catalogue(_current.get()).ungettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return catalogue(_current.get()).upgettext(context, message)


_ = gettext


def gettext_noop(message: str) -> str:
    """Mark a string for extraction; translate it later, where it is shown."""
    return message


def locale_from_cookie(cookies: dict[str, str]) -> str:
    value = cookies.get(LOCALE_COOKIE, "")
    return value if value in LOCALES else DEFAULT_LOCALE
