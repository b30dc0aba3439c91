"""Who may do what. Every route is closed unless it says otherwise."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from app.accounts.services import CurrentUser, must_enrol_totp
from app.accounts.sessions import authenticated_recently
from app.core.errors import RedirectRequired
from app.permissions import PERMISSIONS

PUBLIC = {"public": True}
# The pages a person who must set up two-factor can still open: the enrolment page,
# what it needs (confirming the password again), signing out, the language switch.
ENROLMENT = {"enrolment": True}

SECURITY_PAGE = "/compte/securite"
REAUTH_PAGE = "/connexion/confirmer"


def staff_mfa_required(connection: ASGIConnection) -> bool:
    return connection.app.state.settings.staff_mfa_required


async def must_enrol(connection: ASGIConnection, user: CurrentUser) -> bool:
    """This signed-in person must set up two-factor before anything else."""
    return await must_enrol_totp(user, staff_mfa_required=staff_mfa_required(connection))


async def deny_by_default(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """App-wide guard: a route is for signed-in people unless its opt says public;
    staff who must set up two-factor (``STAFF_MFA``, the admin setting) see no page
    but the enrolment ones until they have — public pages included."""
    user = connection.scope.get("user")
    if handler.opt.get("public") and user is None:
        return
    if user is None:
        raise NotAuthorizedException()
    if not handler.opt.get("enrolment") and await must_enrol(connection, user):
        raise RedirectRequired(SECURITY_PAGE)


def requires(permission: str):
    """A guard that lets through the people ``app.permissions`` grants ``permission``
    (403 for others, sign-in first for visitors). The route matrix reads
    ``guard.permission`` to check each route against the permissions module."""
    predicate = PERMISSIONS[permission]

    def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        user = connection.scope.get("user")
        if user is None:
            raise NotAuthorizedException()
        if not predicate(user, None):
            raise PermissionDeniedException()

    guard.__name__ = f"requires_{permission}"
    guard.permission = permission  # type: ignore[attr-defined]
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
