"""create_app(): plugins, middleware, routers — nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Request, Router
from litestar.datastructures import CacheControlHeader, State
from litestar.middleware import DefineMiddleware
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.stores.file import FileStore
from litestar.stores.redis import RedisStore
from litestar.template.config import TemplateConfig

from app.accounts.admin import ROUTES as ADMIN_ROUTES
from app.accounts.guards import PUBLIC, deny_by_default
from app.accounts.routes import ROUTES as ACCOUNT_ROUTES
from app.accounts.sessions import SessionUserMiddleware
from app.api.routes import ROUTES as API_ROUTES
from app.applications.routes import ROUTES as APPLICATION_ROUTES
from app.calls.routes import ROUTES as CALL_ROUTES
from app.core import audit, db, i18n
from app.core.arrival import arrival_middleware
from app.core.audit_checkpoints import checkpoint_job
from app.core.errors import RedirectRequired, html_exception_handler, redirect_handler
from app.core.logs import access_log
from app.core.outbox import outbox_job
from app.core.periodic import background
from app.core.ratelimit import RateLimiter
from app.core.security import (
    allowed_hosts_middleware,
    csrf_config,
    form_text_middleware,
    proxy_headers_middleware,
    security_headers,
    session_config,
    session_sweep_job,
)
from app.core.templating import build_environment, url_for
from app.core.web import DEPENDENCIES, ids_in_range
from app.decisions.jobs import letters_job
from app.decisions.routes import ROUTES as DECISION_ROUTES
from app.funders.routes import ROUTES as FUNDER_ROUTES
from app.grants.reports import followup_job
from app.grants.routes import ROUTES as GRANT_ROUTES
from app.organisations.routes import ROUTES as ORGANISATION_ROUTES
from app.permissions import template_can
from app.reviews.routes import ROUTES as REVIEW_ROUTES
from app.reviews.services import reminders_job
from app.settings import STATIC_DIR, Settings, load_settings
from app.site.queue_routes import ROUTES as QUEUE_ROUTES
from app.site.routes import ROUTES as SITE_ROUTES

# Every domain's routes (the static files' router is made per app).
ROUTE_HANDLERS = [
    *SITE_ROUTES,
    *ACCOUNT_ROUTES,
    *ADMIN_ROUTES,
    *ORGANISATION_ROUTES,
    *CALL_ROUTES,
    *APPLICATION_ROUTES,
    *REVIEW_ROUTES,
    *DECISION_ROUTES,
    *FUNDER_ROUTES,
    *GRANT_ROUTES,
    *API_ROUTES,
    *QUEUE_ROUTES,
]


async def before_each_handler(request: Request) -> None:
    """The request's language; « not found » for a path id beyond any table's."""
    i18n.activate(i18n.locale_from_cookie(request.cookies))
    ids_in_range(request)


def template_engine() -> JinjaTemplateEngine:
    """The pages' Jinja engine: core's filters, ``can()`` from the permissions, and
    core's ``url_for`` (Litestar's, its routes looked up once)."""
    environment = build_environment()
    environment.globals["can"] = template_can
    engine = JinjaTemplateEngine.from_environment(environment)
    engine.register_template_callable("url_for", url_for)
    return engine


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    engine = db.bind(db.engine_from_url(settings.database_url, pool_size=settings.db_pool_size))
    audit.use_key(settings.audit_key)

    if settings.redis_url:
        session_store = RedisStore.with_client(url=settings.redis_url, namespace="guichet:sessions")
    else:
        session_store = FileStore(settings.sessions_dir, create_directories=True)

    static_router = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        opt={**PUBLIC, "skip_session": True},
        include_in_schema=False,
        # URLs carry a content hash (templating.static_url): cache them for a year.
        cache_control=CacheControlHeader(max_age=365 * 24 * 3600, public=True),
    )

    rate_limiter = RateLimiter(settings.redis_url)
    letters = letters_job(settings)

    @asynccontextmanager
    async def database(_app: Litestar) -> AsyncIterator[None]:
        # First of the lifespans: the pool is open before the background senders start
        # and closed after they stop (Litestar enters every lifespan before on_startup).
        await db.start(engine, settings.db_pool_size)
        try:
            yield
        finally:
            await rate_limiter.close()
            await db.stop(engine)

    return Litestar(
        route_handlers=[*ROUTE_HANDLERS, static_router],
        plugins=[HTMXPlugin()],
        template_config=TemplateConfig(instance=template_engine()),
        middleware=[
            arrival_middleware,
            proxy_headers_middleware(settings),
            allowed_hosts_middleware(settings),
            form_text_middleware(settings),
            session_config(settings).middleware,
            # The API authenticates each request by its token, never by a session.
            DefineMiddleware(SessionUserMiddleware, exclude=["^/static/", "^/healthz", "^/api/"]),
        ],
        guards=[deny_by_default],
        csrf_config=csrf_config(settings),
        logging_config=None,
        stores={"sessions": session_store},
        before_request=before_each_handler,
        dependencies=DEPENDENCIES,
        before_send=[security_headers(settings), access_log],
        exception_handlers={RedirectRequired: redirect_handler, Exception: html_exception_handler},
        request_max_body_size=settings.max_body_bytes,
        lifespan=[
            database,
            background(
                settings,
                [
                    outbox_job(settings),
                    letters,
                    reminders_job(settings),
                    followup_job(settings),
                    checkpoint_job(settings),
                    session_sweep_job(session_store),
                ],
            ),
        ],
        state=State(
            {"settings": settings, "rate_limiter": rate_limiter, "wake_letters": letters.wake}
        ),
        openapi_config=OpenAPIConfig(
            title="Guichet API",
            version="1.0.0",
            description="Read-only: calls, grants, instalments and the payments ledger. "
            "Authenticate with a personal API token: Authorization: Bearer gch_…",
            render_plugins=[JsonRenderPlugin()],
            openapi_router=Router(
                path="/api/v1/schema", route_handlers=[], opt=PUBLIC, include_in_schema=False
            ),
            components=Components(
                security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer")}
            ),
            security=[{"BearerToken": []}],
        ),
        debug=False,
    )
