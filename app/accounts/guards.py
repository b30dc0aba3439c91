"""Who may do what. Every route is closed unless it says otherwise."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from app.accounts.services import must_enrol_totp
from app.accounts.sessions import authenticated_recently
from app.core.errors import RedirectRequired

PUBLIC = {"public": True}
# Pages a person who must set up two-factor can still open.
ENROLMENT = {"enrolment": True}

SECURITY_PAGE = "/compte/securite"
REAUTH_PAGE = "/connexion/confirmer"


async def deny_by_default(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """App-wide guard: a route is for signed-in people unless its opt says public;
    finance and admin staff set up two-factor first when an admin requires it."""
    if handler.opt.get("public"):
        return
    user = connection.scope.get("user")
    if user is None:
        raise NotAuthorizedException()
    if not handler.opt.get("enrolment") and await must_enrol_totp(user):
        raise RedirectRequired(SECURITY_PAGE)


def require_role(*roles: str):
    def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        user = connection.scope.get("user")
        if user is None:
            raise NotAuthorizedException()
        if not user.has_role(*roles):
            raise PermissionDeniedException()

    guard.__name__ = f"require_role_{'_'.join(roles)}"
    return guard


def require_recent_authentication(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Sensitive actions: the password must have been typed in the last 15 minutes."""
    if not authenticated_recently(connection):
        back = connection.headers.get("hx-current-url") or connection.url.path
        if connection.method != "GET":
            back = connection.headers.get("referer", "") or "/"
        raise RedirectRequired(f"{REAUTH_PAGE}?{urlencode({'suivant': _local(back)})}")


def _local(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "") or "/"
