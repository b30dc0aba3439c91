"""Public pages of the site: home, funders, language switch, health check."""

from __future__ import annotations

import logging

from litestar import Request, Response, Router, get
from litestar.datastructures import Cookie
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.accounts.guards import ENROLMENT, PUBLIC
from app.accounts.landing import MY_SPACE
from app.applications import states as application_states
from app.core import db, i18n
from app.core.forms import safe_next
from app.core.time import now
from app.core.web import render
from app.decisions import opendata
from app.funders.services import funder_by_slug, list_funders
from app.site.my_space import my_space

log = logging.getLogger("guichet.site")

HOME = "/"
FUNDERS = "/financeurs"
OPEN_DATA = "/financeurs/{slug:str}/subventions"
OPEN_DATA_CSV = "/financeurs/{slug:str}/subventions.csv"
PRIVACY = "/donnees-personnelles"
LANGUAGE = "/langue"
HEALTH = "/healthz"


@get(HOME, opt=PUBLIC, name="site:home")
async def home(request: Request) -> Template:
    return render(request, "site/home.html", funders=await list_funders())


@get(MY_SPACE, name="site:my-space")
async def my_space_page(request: Request) -> Template:
    """« Mon espace »: files in progress, unread messages, what is expected."""
    at = now()
    return render(
        request,
        "site/my_space.html",
        space=await my_space(request.user.id, at),
        labels=application_states.LABELS,
        now=at,
    )


@get(PRIVACY, opt={**PUBLIC, **ENROLMENT}, name="site:privacy")
async def privacy(request: Request) -> Template:
    """The privacy notice, linked from sign-up and from every page's footer."""
    return render(request, "site/privacy.html")


@get(FUNDERS, opt=PUBLIC, name="site:funders")
async def funders(request: Request) -> Template:
    return render(request, "site/funders.html", funders=await list_funders())


async def _funder(slug: str) -> dict:
    funder = await funder_by_slug(slug)
    if funder is None:
        raise NotFoundException()
    return funder


@get(OPEN_DATA, opt=PUBLIC, name="site:open-data")
async def open_data(request: Request, slug: FromPath[str]) -> Template:
    """The funder's awards published as open data (décret n° 2017-779)."""
    funder = await _funder(slug)
    return render(
        request,
        "site/open_data.html",
        funder=funder,
        awards=await opendata.published_awards(funder["id"]),
        schema_version=opendata.SCHEMA_VERSION,
        threshold_cents=opendata.THRESHOLD_CENTS,
    )


@get(OPEN_DATA_CSV, opt=PUBLIC, name="site:open-data-csv")
async def open_data_csv(slug: FromPath[str]) -> Response:
    """The same awards in the SCDL « subventions » table schema."""
    funder = await _funder(slug)
    awards = await opendata.published_awards(funder["id"])
    return Response(
        opendata.scdl_csv(awards).encode("utf-8"),
        media_type="text/csv",  # Litestar adds the charset
        headers={"Content-Disposition": f'attachment; filename="subventions-{funder["slug"]}.csv"'},
    )


@get(LANGUAGE, opt={**PUBLIC, **ENROLMENT}, name="site:language")
async def switch_language(
    lang: FromQuery[str] = i18n.DEFAULT_LOCALE, suivant: FromQuery[str | None] = None
) -> Redirect:
    """Remember the chosen language (a preference cookie: no server state changes)."""
    locale = lang if lang in i18n.LOCALES else i18n.DEFAULT_LOCALE
    cookie = Cookie(
        key=i18n.LOCALE_COOKIE,
        value=locale,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="lax",
        path="/",
    )
    return Redirect(safe_next(suivant), status_code=303, cookies=[cookie])


@get(HEALTH, opt={**PUBLIC, "skip_session": True}, name="site:health")
async def health() -> Response:
    try:
        await db.ping()
    except Exception as exc:
        log.warning("health check failed: %s", type(exc).__name__)
        return Response({"status": "unavailable"}, status_code=503)
    return Response({"status": "ok"})


ROUTES = [
    Router(
        path="",
        route_handlers=[
            home,
            my_space_page,
            privacy,
            funders,
            open_data,
            open_data_csv,
            switch_language,
            health,
        ],
        include_in_schema=False,
    )
]
