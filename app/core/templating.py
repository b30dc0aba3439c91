"""The Jinja environment: autoescape, translations, filters, cache-busted static URLs."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_CEILING, Decimal
from functools import cache
from typing import Any

from babel.dates import format_date, format_timedelta
from babel.numbers import (
    format_compact_currency,
    format_decimal,
    format_percent,
    parse_pattern,
)
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar.types.internal_types import PathParameterDefinition
from litestar.utils.path import join_paths
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
    return format_percent(
        Decimal(basis_points) / 10_000, locale=i18n.babel_locale(), decimal_quantization=False
    )


def share(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage to one decimal, the user's way (« 6,6 % »,
    « 6.6% »); « — » when there is no whole to share."""
    if not whole:
        return "—"
    locale = i18n.babel_locale()
    return format_percent(
        Decimal(part) / Decimal(whole), format=_share_pattern(i18n.babel_code()), locale=locale
    )


@cache
def _share_pattern(code: str):
    """The locale's percent pattern with one decimal, parsed once."""
    pattern = i18n._parsed(code).percent_formats[None].pattern
    return parse_pattern(pattern.replace("#,##0", "#,##0.0", 1))


def short_money(cents: int) -> str:
    """« 2,5 M € », « 60 k € »: an amount rounded for a chart's axis, the user's way."""
    return format_compact_currency(
        Decimal(cents) / 100, "EUR", locale=i18n.babel_locale(), fraction_digits=1
    )


def month(value: str, *, short: bool = False) -> str:
    """« juil. 2017 » (« juil. 17 » short) from « 2017-07 »: a month, the user's way."""
    year, number = value.split("-")
    return format_date(
        date(int(year), int(number), 1),
        "MMM yy" if short else "MMM yyyy",
        locale=i18n.babel_locale(),
    )


def signed_percent(value: float) -> str:
    """« +4,2 % », « -1,3 % »: a change, the user's way."""
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
    decimal, minus = _mark_symbols(i18n.babel_code())
    text = f"{value.quantize(_HUNDREDTH):f}"
    if text.startswith("-"):
        text = minus + text[1:]
    return text.replace(".", decimal)


def file_size(size: int) -> str:
    """« 98,5 Mo », « 340 Ko » (« 98.5 MB » in English): megabytes with one decimal
    from 1 MB, whole kilobytes below; rounded up, so that a file just over a limit
    never reads as the limit itself."""
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


# In the app's state: the path components of a route, by (route name, names of the
# values given).
_ROUTE_PATHS = "guichet_route_paths"


def url_for(context: Mapping[str, Any], /, route_name: str, **path_parameters: Any) -> str:
    """Litestar's ``url_for`` (``app.route_reverse``), the route found once per name and
    set of values: Litestar looks the name up and sorts its routes at every call, 12 %
    of a 50-row table's CPU. The same paths; anything unusual (an unknown name, a value
    of another type) goes to Litestar, which says what is wrong."""
    app = context["request"].app
    known = app.state.get(_ROUTE_PATHS)
    if known is None:
        known = app.state[_ROUTE_PATHS] = {}
    key = (route_name, frozenset(path_parameters))
    components = known.get(key)
    if components is None:
        index = app.get_handler_index_by_name(route_name)
        if index is None:
            return app.route_reverse(route_name, **path_parameters)
        routes = sorted(
            app.asgi_router.route_mapping[index["identifier"]],
            key=lambda r: len(r.path_parameters),
            reverse=True,
        )
        route = next((r for r in routes if key[1].issuperset(r.path_parameters)), routes[-1])
        components = known[key] = route.path_components
    parts = []
    for component in components:
        if isinstance(component, PathParameterDefinition):
            value = path_parameters.get(component.name)
            if not isinstance(value, component.type):
                return app.route_reverse(route_name, **path_parameters)
            parts.append(str(value))
        else:
            parts.append(component)
    return join_paths(parts)


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(("html", "xml"), default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # The server reloads no code: a template is read once per process, not stat'ed
        # at every render (13 % of a file page's CPU went to getmtime).
        auto_reload=False,
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
