"""Error pages: HTML in the user's language for people, a partial for htmx.

Litestar answers errors with JSON by default; every client of Guichet's pages gets
HTML instead, and a stack trace is never shown, only logged with the request id.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlencode, urlsplit

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE

from app.core import i18n
from app.core.arrival import client_left
from app.core.db import is_unavailable
from app.core.i18n import gettext_noop as N_
from app.core.numbers import is_digits
from app.core.web import base_context, is_partial_request

log = logging.getLogger("guichet.errors")

SIGN_IN_PATH = "/connexion"

# (title, explanation) per status; translated when shown.
MESSAGES: dict[int, tuple[str, str]] = {
    400: (
        N_("Bad request"),
        N_("The request could not be understood. Please check what you entered and try again."),
    ),
    401: (N_("Please sign in"), N_("You need to sign in to see this page.")),
    403: (
        N_("Access refused"),
        N_(
            "You are not allowed to do this. If you came from a form, reload the page and try again."
        ),
    ),
    404: (N_("Page not found"), N_("This page does not exist, or you do not have access to it.")),
    405: (N_("Method not allowed"), N_("This address does not accept this kind of request.")),
    413: (
        N_("File or form too large"),
        N_("What you sent is larger than the allowed limit. Please send something smaller."),
    ),
    422: (
        N_("Invalid data"),
        N_("Some of what you entered is not valid. Please correct it and try again."),
    ),
    429: (
        N_("Too many attempts"),
        N_("Too many attempts in a short time. Please wait a moment before trying again."),
    ),
    500: (
        N_("Something went wrong"),
        N_("An unexpected error occurred on our side. It has been logged; please try again later."),
    ),
    503: (
        N_("Service unavailable"),
        N_("The service is temporarily unavailable. Please try again in a few moments."),
    ),
}

_PASSED_HEADERS = ("retry-after", "allow")
UNAVAILABLE_RETRY_AFTER_S = 5


class RedirectRequired(Exception):
    """Raised by a guard that sends the person elsewhere first (confirm the password,
    set up two-factor, sign in again); answered with a redirect, or HX-Redirect for
    htmx; ``cookies``: (name, value, max_age) to set with it."""

    def __init__(self, location: str, cookies: tuple[tuple[str, str, int], ...] = ()):
        super().__init__(location)
        self.location = location
        self.cookies = cookies


class SessionEnded(NotAuthorizedException):
    """401 for a person whose session ended by itself: said as such (never « access
    refused »), with a way to sign in again that leads back."""


def redirect_handler(request: Request, exc: RedirectRequired) -> Response:
    response = _redirect(request, exc.location)
    for name, value, max_age in exc.cookies:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.production,
        )
    return response


def _status_of(exc: Exception) -> int:
    if isinstance(exc, HTTPException):
        return exc.status_code
    if isinstance(exc, UnicodeDecodeError):
        # A multipart form's text that is not UTF-8 (Litestar decodes it strictly).
        return 400
    if _dependency_down(exc):
        return HTTP_503_SERVICE_UNAVAILABLE
    return HTTP_500_INTERNAL_SERVER_ERROR


def _dependency_down(exc: Exception) -> bool:
    """The database or Redis (sessions, rate limits) cannot be reached: not a bug, a
    503 until it comes back (connections are opened again on the next request)."""
    if is_unavailable(exc):
        return True
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, RedisConnectionError | RedisTimeoutError)


def html_exception_handler(request: Request, exc: Exception) -> Response:
    if client_left(request.scope) and isinstance(exc, HTTPException):
        # It sent part of its body and closed the connection (Litestar raises a 500 for
        # it): nobody is there to read an answer, and nothing on our side went wrong.
        log.info(
            "client disconnected before sending its whole request",
            extra={"path": request.url.path, "method": request.method},
        )
        return Response(content=b"", status_code=400)
    status = _status_of(exc)
    i18n.activate(i18n.locale_from_cookie(request.cookies))
    error_id = None
    unavailable = status == HTTP_503_SERVICE_UNAVAILABLE and not isinstance(exc, HTTPException)
    if unavailable:
        # Expected while the database is down: one line per request, no stack trace.
        log.warning(
            "service unavailable",
            extra={
                "error": f"{type(exc).__name__}: {exc}"[:300],
                "path": request.url.path,
                "method": request.method,
            },
        )
    elif status >= 500:
        error_id = secrets.token_hex(6)
        log.error(
            "unhandled error",
            exc_info=exc,
            extra={"error_id": error_id, "path": request.url.path, "method": request.method},
        )

    partial = is_partial_request(request)
    if isinstance(exc, NotAuthorizedException):
        if partial:
            return _sign_in_notice(request, ended=isinstance(exc, SessionEnded))
        if request.method in ("GET", "HEAD"):
            return _redirect_to_sign_in(request, ended=isinstance(exc, SessionEnded))

    headers = {}
    if isinstance(exc, HTTPException) and exc.headers:
        headers = {k: v for k, v in exc.headers.items() if k.lower() in _PASSED_HEADERS}
    if unavailable:
        headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_S)

    title, text = MESSAGES.get(status, MESSAGES[500 if status >= 500 else 400])
    sign_in_url = ""
    if isinstance(exc, NotAuthorizedException):
        # A form posted without a session: where it came from is where to go back.
        sign_in_url = _sign_in_url(_local(request.headers.get("referer", "")) or "/")
        if isinstance(exc, SessionEnded):
            title, text = SESSION_ENDED
    # An exception may say more precisely what was refused: (message, its values).
    explanation = getattr(exc, "explanation", None)
    explained = i18n.gettext(explanation[0]) % explanation[1] if explanation else ""
    if partial:
        # htmx swaps the message into the main region, whatever the original target.
        headers.update({"HX-Retarget": "#main", "HX-Reswap": "innerHTML"})
    context = {
        **base_context(request),
        "status_code": status,
        "title": i18n.gettext(title),
        "text": (explained or i18n.gettext(text)) + _wait_hint(status, headers),
        "error_id": error_id,
        "sign_in_url": sign_in_url,
    }
    try:
        template = request.app.template_engine.get_template(
            "errors/_error.html" if partial else "errors/error.html"
        )
        body = template.render(**context)
        media_type = MediaType.HTML
    except Exception:
        log.exception("error page could not be rendered")
        body, media_type = f"{status} {context['title']}", MediaType.TEXT
    return Response(content=body, status_code=status, media_type=media_type, headers=headers)


def _wait_hint(status: int, headers: dict[str, str]) -> str:
    """A rate limit says how long to wait, in minutes (from Retry-After)."""
    seconds = headers.get("Retry-After") or headers.get("retry-after") or ""
    if status != 429 or not is_digits(seconds):
        return ""
    minutes = max(1, -(-int(seconds) // 60))
    return " " + i18n.ngettext(
        "You can try again in %(num)d minute.", "You can try again in %(num)d minutes.", minutes
    ) % {"num": minutes}


SESSION_ENDED = (
    N_("Your session has ended"),
    N_(
        "You were signed out after a while without activity. Sign in again to go on where you were."
    ),
)
# The sign-in page's notice (accounts' SIGN_IN_NOTICES) for a session that ended.
SESSION_ENDED_NOTICE = "session-terminee"


def _local(url: str) -> str:
    """The path and query of a URL of this site (a Referer, htmx's current URL)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _sign_in_url(back: str, *, ended: bool = False) -> str:
    query = ({"info": SESSION_ENDED_NOTICE} if ended else {}) | {"suivant": back}
    return f"{SIGN_IN_PATH}?{urlencode(query)}"


def _redirect_to_sign_in(request: Request, *, ended: bool = False) -> Response:
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return _redirect(request, _sign_in_url(back, ended=ended))


def _sign_in_notice(request: Request, *, ended: bool) -> Response:
    """An htmx request without a session (an autosave after the session ended): the
    page stays as it is, with what was typed; a notice at the top says it and links to
    sign-in in a new tab, and back to this page."""
    back = _local(request.headers.get("hx-current-url", "")) or "/"
    title, text = SESSION_ENDED if ended else MESSAGES[401]
    context = {
        **base_context(request),
        "title": i18n.gettext(title),
        "text": i18n.gettext(text),
        "sign_in_url": _sign_in_url(back, ended=ended),
    }
    body = request.app.template_engine.get_template("errors/_sign_in_notice.html").render(**context)
    return Response(
        content=body,
        status_code=401,
        media_type=MediaType.HTML,
        headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
    )


def _redirect(request: Request, target: str) -> Response:
    if request.headers.get("hx-request") == "true":
        return Response(content="", status_code=200, headers={"HX-Redirect": target})
    return Response(content="", status_code=303, headers={"Location": target})
