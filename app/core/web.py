"""Page rendering shared by every controller: one context, full page or htmx partial."""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Any

from litestar import Request
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup, escape

from app.core import i18n
from app.core.audit import Actor
from app.core.domain import DomainError
from app.core.forms import FormState
from app.core.ratelimit import RateLimiter
from app.core.storage import FileStorage
from app.core.versions import Seen
from app.settings import Settings

FLASH_KEY = "_flash"


def path_to(template: str, **ids: object) -> str:
    """A route's path with its parameters filled in: ``path_to(REVIEW, assignment_id=3)``."""
    for name, value in ids.items():
        for kind in ("int", "str"):
            template = template.replace("{" + name + ":" + kind + "}", str(value))
    return template


# The largest id a table holds (PostgreSQL's ``integer``): a larger number in a path
# names nothing, and the database would refuse to compare a column with it.
MAX_ID = 2**31 - 1


def ids_in_range(request: Request) -> None:
    """Before every handler: a path whose number is beyond any id is not found."""
    if any(isinstance(v, int) and not 0 <= v <= MAX_ID for v in request.path_params.values()):
        raise NotFoundException()


def is_partial_request(request: Request) -> bool:
    """An htmx request that swaps part of the page (not boosted navigation, not a
    history restore, which both need the whole page)."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-boosted") != "true"
        and headers.get("hx-history-restore-request") != "true"
    )


# --- What a handler gets from the request (Litestar dependencies, see main.py) -----------


def client_ip(request: Request) -> str:
    """The client's address (behind a proxy: as ``TRUSTED_PROXIES`` allow it)."""
    return request.client.host if request.client else "unknown"


def actor_of(request: Request) -> Actor:
    """Who acts, for the audit trail: the signed-in person, or a visitor's address."""
    user = request.scope.get("user")
    if user is None:
        return Actor(user_id=None, ip=client_ip(request))
    return Actor(user_id=user.id, ip=client_ip(request), label=user.email)


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def limiter_of(request: Request) -> RateLimiter:
    return request.app.state.rate_limiter


def files_of(request: Request) -> FileStorage:
    return FileStorage.of_app(request.app)


# Declared once on the app: a handler names the parameter (``actor: Actor``) to get it.
DEPENDENCIES = {
    "actor": Provide(actor_of, sync_to_thread=False),
    "settings": Provide(settings_of, sync_to_thread=False),
    "limiter": Provide(limiter_of, sync_to_thread=False),
    "files": Provide(files_of, sync_to_thread=False),
}


def csrf_token(request: Request) -> str:
    token = ScopeState.from_scope(request.scope).csrf_token
    if not isinstance(token, str):
        token = request.cookies.get("guichet_csrf", "")
    return token


def flash(request: Request, message: str, category: str = "success") -> None:
    """Queue a message shown once on the next page (announced via aria-live)."""
    request.session.setdefault(FLASH_KEY, []).append([category, message])


def _pop_flashes(request: Request) -> list[list[str]]:
    session = request.scope.get("session")
    if not isinstance(session, dict):
        return []
    return session.pop(FLASH_KEY, [])


def _context(request: Request, token: str) -> dict[str, Any]:
    return {
        "request": request,
        "current_user": request.scope.get("user"),
        "csrf_token": token,
        "csrf_field": Markup('<input type="hidden" name="_csrf_token" value="{}">').format(token),
        "locale": i18n.get_locale(),
        "current_path": request.url.path,
    }


def base_context(request: Request) -> dict[str, Any]:
    return {
        **_context(request, csrf_token(request)),
        "layout": "partial.html" if is_partial_request(request) else "base.html",
        "flashes": _pop_flashes(request),
    }


# --- Page parts kept rendered --------------------------------------------------------------

# Per app (in its state, so that two apps never share one); the least recently used go
# when they hold more characters than this.
KEPT_CHARS = 32 * 1024 * 1024
_KEPT = "guichet_kept_parts"
# Stands for the person's CSRF token in a kept part (which anyone with the same key
# may be shown): put back at each request.
_TOKEN_MARK = "kept-csrf-" + secrets.token_hex(16)


class _Kept:
    def __init__(self) -> None:
        self.parts: OrderedDict[Hashable, str] = OrderedDict()
        self.chars = 0

    def get(self, key: Hashable) -> str | None:
        html = self.parts.get(key)
        if html is not None:
            self.parts.move_to_end(key)
        return html

    def put(self, key: Hashable, html: str) -> None:
        if key in self.parts:
            return
        self.parts[key] = html
        self.chars += len(html)
        while self.chars > KEPT_CHARS and self.parts:
            self.chars -= len(self.parts.popitem(last=False)[1])


def forget_kept_parts(app: Any) -> None:
    """Every part kept by ``app`` forgotten: what a test measuring a page's own work
    starts from."""
    app.state[_KEPT] = _Kept()


async def kept_part(
    request: Request,
    template: str,
    *,
    seen: Seen | None,
    context: Callable[[], Awaitable[Mapping[str, Any]]],
    key: Hashable = (),
) -> Markup:
    """``template`` rendered with ``await context()``, kept while nothing it shows has
    changed: kept under ``seen`` (the data versions of app/versions.py, moved by the
    database in the transaction of every write they follow), the page's address with
    its query string, the person (their roles and scopes with them), the language and
    ``key`` (anything else it depends on, e.g. today's date). A request whose data has
    not changed reads the versions (one query) instead of running the part's queries
    and rendering it again.

    What the part shows must come from tables its versions follow, read after ``seen``
    was (older data could be kept under newer versions); the person's CSRF token is put
    in at each request. ``seen=None``: rendered now, not kept (a refused form shown
    again as it was typed)."""

    async def render_part() -> str:
        part = request.app.template_engine.get_template(template)
        return part.render(**_context(request, _TOKEN_MARK), **await context())

    if seen is None:
        html = await render_part()
    else:
        full_key = (
            template,
            i18n.get_locale(),
            request.url.path,
            request.url.query,
            request.scope.get("user"),
            key,
            seen,
        )
        kept = request.app.state.get(_KEPT)
        if kept is None:
            kept = request.app.state[_KEPT] = _Kept()
        html = kept.get(full_key)
        if html is None:
            html = await render_part()
            kept.put(full_key, html)
    # Rendered by the pages' autoescaping environment; the token escaped as they do.
    return Markup(html.replace(_TOKEN_MARK, escape(csrf_token(request))))  # noqa: S704  # nosec B704


async def act(
    request: Request, action: Awaitable[Any], *, back: str, done: str | None = None
) -> Redirect:
    """A button with nothing to fill in (approve, withdraw, publish…): run the service's
    action and say on the page it came from how it went: its refusal, or ``done``."""
    try:
        await action
    except DomainError as exc:
        flash(request, exc.text(), "error")
    else:
        if done:
            flash(request, done)
    return Redirect(back, status_code=303)


async def act_on_form(
    request: Request,
    action: Awaitable[Any],
    form: FormState,
    *,
    field: str,
    page: Callable[[FormState], Awaitable[Template]],
    back: str,
    done: str,
) -> Template | Redirect:
    """A form's « save »: run the service's action; refused, the page comes back with
    the form as typed and the message on its field (``field`` when the refusal names
    none); done, the success is said on ``back``."""
    try:
        await action
    except DomainError as exc:
        form.refuse(exc, field)
        return await page(form)
    flash(request, done)
    return Redirect(back, status_code=303)


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> Template:
    headers = {}
    if status_code >= 400 and request.headers.get("hx-request") == "true":
        # A refused form comes back on the POST's address: keep the page's address in
        # the bar, so that reloading shows the page, not « method not allowed ».
        headers["HX-Push-Url"] = "false"
    return Template(
        template_name=template,
        context={**base_context(request), **context},
        status_code=status_code,
        headers=headers,
    )
