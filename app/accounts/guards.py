"""Who may do what. Every route is closed unless it says otherwise."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar.connection import ASGIConnection
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.handlers.base import BaseRouteHandler

from app.accounts.services import CurrentUser, must_enrol_totp
from app.accounts.sessions import authenticated_recently, ended_session_user
from app.core import kept_forms
from app.core.errors import SIGN_IN_PATH, RedirectRequired, SessionEnded
from app.core.ratelimit import Limit
from app.core.web import path_to
from app.permissions import PERMISSIONS, is_scoped

PUBLIC = {"public": True}
# The pages a person who must set up two-factor can still open: the enrolment page,
# what it needs (confirming the password again), signing out, the language switch.
ENROLMENT = {"enrolment": True}
# A form whose answers are kept when it is posted after the session ended: the person
# signs in again and finds them on the page (``kept_forms``); ``keep_answers`` names the
# path parameter of the page to come back to, e.g. ``{"keep_answers": "/dossiers/{app_id}"}``.
KEEP_ANSWERS = "keep_answers"
# A streamed form (an upload inside the draft form) cannot be parsed here like a plain
# one: its route gives the reader of its answers, ``async (request, user_id) -> dict |
# None`` (None: nothing to keep), and the answers are kept as « sent with a document »:
# the file itself is not kept, the person is told to choose it again.
KEEP_ANSWERS_READER = "keep_answers_reader"
KEPT_ANSWERS_LIMIT = Limit("kept_answers", 20, 3600)

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
        ended_for = ended_session_user(connection)
        if handler.opt.get(KEEP_ANSWERS) and connection.scope["method"] == "POST":
            await _keep_answers(connection, handler, ended_for)
        if ended_for is not None:
            raise SessionEnded()
        raise NotAuthorizedException()
    if not handler.opt.get("enrolment") and await must_enrol(connection, user):
        raise RedirectRequired(SECURITY_PAGE)


async def _keep_answers(
    connection: ASGIConnection, handler: BaseRouteHandler, ended_for: int | None
) -> None:
    """A form posted without a session (it ended while the page was open): its answers
    are kept aside for the person, and sign-in leads back to the page, which shows them."""
    from litestar import Request

    limiter = connection.app.state.rate_limiter
    who = f"user:{ended_for}" if ended_for is not None else f"ip:{_client(connection)}"
    if await limiter.hit(KEPT_ANSWERS_LIMIT, who):
        return  # plain « sign in again » page: kept answers are not a disk to fill
    page = path_to(handler.opt[KEEP_ANSWERS], **connection.path_params)
    request = Request(connection.scope, connection.receive)
    reader = handler.opt.get(KEEP_ANSWERS_READER)
    values: dict | None = {}
    if reader is not None:
        # Only for the person whose session it was (their file, their answers).
        values = await reader(request, ended_for) if ended_for is not None else None
        reason, notice = "session_ended_upload", "document-a-renvoyer"
    else:
        form = await request.form()
        for key in form:
            if key == "_csrf_token":
                continue
            items = [v for v in form.getall(key) if isinstance(v, str)]
            if items:
                values[key] = items if len(items) > 1 else items[0]
        reason, notice = "session_ended", "reponses-conservees"
    if values is None:
        return  # the plain « sign in again » page
    token = kept_forms.keep(
        connection.app.state.settings.data_dir,
        page=page,
        user_id=ended_for,
        values=values,
        reason=reason,
        replaces=connection.cookies.get(kept_forms.COOKIE),
    )
    if token is None:
        return  # the plain « sign in again » page
    query = urlencode({"info": notice, "suivant": page})
    raise RedirectRequired(
        f"{SIGN_IN_PATH}?{query}",
        cookies=((kept_forms.COOKIE, token, kept_forms.KEPT_FOR_S),),
    )


def _client(connection: ASGIConnection) -> str:
    return connection.client.host if connection.client else "unknown"


def requires(permission: str):
    """A guard that lets through the people ``app.permissions`` grants ``permission``
    (403 for others, sign-in first for visitors). For someone holding a role for some
    funders only, the call, file, review or grant the path names must be of one of
    them (404 otherwise, like any object one may not see). The route matrix reads
    ``guard.permission`` to check each route against the permissions module."""
    predicate = PERMISSIONS[permission]

    async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        user = connection.scope.get("user")
        if user is None:
            raise NotAuthorizedException()
        if not predicate(user, None):
            raise PermissionDeniedException()
        if is_scoped(user) and connection.path_params:
            from app.scopes import object_of  # the domains' tables, after accounts

            obj = await object_of(connection.path_params)
            if obj is not None and not predicate(user, obj):
                raise NotFoundException()

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
