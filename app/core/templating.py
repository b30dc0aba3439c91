"""The Jinja environment: autoescape, translations, filters, cache-busted static URLs."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import ROUND_CEILING, Decimal
from functools import cache

from babel.dates import format_timedelta
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup

from app.core import i18n
from app.core.money import amount_input, format_amount
from app.core.time import clock, format_paris, long_date, paris_date
from app.settings import STATIC_DIR, TEMPLATES_DIR


@cache
def static_url(path: str) -> str:
    """``/static/<path>?v=<hash>``: the content hash busts caches on every change."""
    file = (STATIC_DIR / path).resolve()
    if not file.is_relative_to(STATIC_DIR) or not file.is_file():
        raise FileNotFoundError(f"static file not found: {path}")
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
    return f"/static/{path}?v={digest}"


# CommonMark without raw HTML; markdown-it refuses javascript:/data: links itself.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False})


def render_markdown(text: str) -> Markup:
    """Officers' Markdown as HTML, safe: raw HTML in the text is shown as text."""
    return Markup(_MARKDOWN.render(text or ""))  # noqa: S704  # nosec B704  # raw HTML disabled above


def time_left(value: datetime, now: datetime) -> str:
    """« 3 jours », « 5 heures »: how long until ``value``."""
    delta = value - now
    if delta.total_seconds() <= 0:
        return ""
    return format_timedelta(delta, threshold=1.5, locale=i18n.babel_locale())


def format_decimal_percent(basis_points: int) -> str:
    from babel.numbers import format_percent

    return format_percent(
        Decimal(basis_points) / 10_000, locale=i18n.babel_locale(), decimal_quantization=False
    )


def share(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage to one decimal, the user's way (« 6,6 % »,
    « 6.6% »); « — » when there is no whole to share."""
    from babel.numbers import format_percent

    if not whole:
        return "—"
    locale = i18n.babel_locale()
    pattern = locale.percent_formats[None].pattern.replace("#,##0", "#,##0.0", 1)
    return format_percent(Decimal(part) / Decimal(whole), format=pattern, locale=locale)


def short_money(cents: int) -> str:
    """« 2,5 M € », « 60 k € »: an amount rounded for a chart's axis, the user's way."""
    from babel.numbers import format_compact_currency

    return format_compact_currency(
        Decimal(cents) / 100, "EUR", locale=i18n.babel_locale(), fraction_digits=1
    )


def month(value: str, *, short: bool = False) -> str:
    """« juil. 2017 » (« juil. 17 » short) from « 2017-07 »: a month, the user's way."""
    from datetime import date

    from babel.dates import format_date

    year, number = value.split("-")
    return format_date(
        date(int(year), int(number), 1),
        "MMM yy" if short else "MMM yyyy",
        locale=i18n.babel_locale(),
    )


def signed_percent(value: float) -> str:
    """« +4,2 % », « -1,3 % »: a change, the user's way."""
    from babel.numbers import format_decimal

    return format_decimal(value, "+0.0;-0.0", locale=i18n.babel_locale()) + "\u00a0%"


@cache
def _mark_symbols(locale: str) -> tuple[str, str]:
    symbols = i18n._parsed(locale).number_symbols["latn"]
    return symbols["decimal"], symbols["minusSign"]


_HUNDREDTH = Decimal("0.01")


def mark(value: Decimal | float | int) -> str:
    """A mark with two decimals, the user's way (« 15,20 »): what Babel's
    ``format_decimal(value, "0.00")`` says (rounded half to even, no grouping), from
    the locale's symbols read once; the ranking shows three on each of its 200 rows
    (tests/unit/core/test_templating_mark.py compares them on a large sample)."""
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    decimal, minus = _mark_symbols(str(i18n.babel_locale()))
    text = f"{value.quantize(_HUNDREDTH):f}"
    if text.startswith("-"):
        text = minus + text[1:]
    return text.replace(".", decimal)


def file_size(size: int) -> str:
    """« 98,5 Mo », « 340 Ko » (« 98.5 MB » in English): megabytes with one decimal
    from 1 MB, whole kilobytes below; rounded up, so that a file just over a limit
    never reads as the limit itself."""
    from babel.numbers import format_decimal

    if size < 1024 * 1024:
        kb = (Decimal(size) / 1024).to_integral_value(rounding=ROUND_CEILING)
        return i18n.gettext("%(size)s KB") % {
            "size": format_decimal(kb, "#,##0", locale=i18n.babel_locale())
        }
    mb = (Decimal(size) / (1024 * 1024)).quantize(Decimal("0.1"), rounding=ROUND_CEILING)
    return i18n.gettext("%(size)s MB") % {
        "size": format_decimal(mb, "#,##0.#", locale=i18n.babel_locale())
    }


def long_date_filter(value: date | str, locale: str | None = None) -> str:
    """``long_date`` for pages and e-mails: an e-mail's context is JSON, where a date is
    its ISO text (« 2018-12-31 » → « 31 décembre 2018 »); an instant (aware, or its ISO
    text) is the day it is in Paris."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if len(value) > 10 else date.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = paris_date(value)
    return long_date(value, locale)


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(("html", "xml"), default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext
    )
    env.globals.update(
        static=static_url,
        get_locale=i18n.get_locale,
        LOCALES=i18n.LOCALES,
        LOCALE_NAMES=i18n.LOCALE_NAMES,
    )
    env.filters.update(
        money=format_amount,
        amount_input=amount_input,
        paris_datetime=format_paris,
        markdown=render_markdown,
        percent=format_decimal_percent,
        mark=mark,
        long_date=long_date_filter,
        clock=clock,
        signed_percent=signed_percent,
        file_size=file_size,
        share=share,
        month=month,
        short_money=short_money,
    )
    env.globals.update(time_left=time_left)
    return env
