"""The signed-in person, from the server-side session, with idle and absolute limits."""

from __future__ import annotations

import time

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from app.accounts.services import CurrentUser, load_current_user
from app.core.security import SESSION_ABSOLUTE_LIFETIME_S, rotate_session

IDLE_TIMEOUT_STAFF_S = 30 * 60
IDLE_TIMEOUT_APPLICANT_S = 2 * 3600

SESSION_USER = "uid"
SESSION_AUTH_AT = "auth_at"
SESSION_SEEN_AT = "seen_at"


def idle_timeout(user: CurrentUser) -> int:
    return IDLE_TIMEOUT_STAFF_S if user.is_staff else IDLE_TIMEOUT_APPLICANT_S


def start_session(connection: ASGIConnection, user_id: int) -> None:
    """Sign in: a new session id, a clean session, the time of authentication."""
    rotate_session(connection)
    now = int(time.time())
    connection.scope["session"] = {
        SESSION_USER: user_id,
        SESSION_AUTH_AT: now,
        SESSION_SEEN_AT: now,
    }


def end_session(connection: ASGIConnection) -> None:
    connection.scope["session"] = {}


class SessionUserMiddleware(AbstractAuthenticationMiddleware):
    """Puts the signed-in person (or None) in ``scope["user"]``; never refuses by
    itself: the guards decide (deny by default)."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        session = connection.scope.get("session") or {}
        user_id = session.get(SESSION_USER)
        if not isinstance(user_id, int):
            return AuthenticationResult(user=None, auth=None)
        user = await load_current_user(user_id)
        now = int(time.time())
        expired = (
            user is None
            or now - int(session.get(SESSION_AUTH_AT, 0)) > SESSION_ABSOLUTE_LIFETIME_S
            or now - int(session.get(SESSION_SEEN_AT, 0)) > idle_timeout(user)
        )
        if expired:
            end_session(connection)
            return AuthenticationResult(user=None, auth=None)
        session[SESSION_SEEN_AT] = now
        return AuthenticationResult(user=user, auth=None)
