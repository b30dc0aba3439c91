"""The signed-in person, from the server-side session, with idle and absolute limits."""

from __future__ import annotations

import time

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from app.accounts.services import CurrentUser, load_current_user
from app.core.security import SESSION_ABSOLUTE_LIFETIME_S, SESSION_DEADLINE, rotate_session
from app.permissions import is_staff

IDLE_TIMEOUT_STAFF_S = 30 * 60
IDLE_TIMEOUT_APPLICANT_S = 2 * 3600
SECOND_FACTOR_WINDOW_S = 5 * 60
REAUTH_AFTER_S = 15 * 60
# The time of the last request is written to the session at most once a minute: a
# session nothing else changed is then not rewritten by every request (a file or a
# Redis key written each time), and the idle timeouts stay exact to that minute.
SEEN_AT_RESOLUTION_S = 60

SESSION_USER = "uid"
SESSION_VERSION = "ver"
SESSION_AUTH_AT = "auth_at"
SESSION_SEEN_AT = "seen_at"
SESSION_REAUTH_AT = "reauth_at"
SESSION_PENDING_USER = "pending_uid"
SESSION_PENDING_AT = "pending_at"
# Left in a session that ended by itself (idle, lifetime, signed out elsewhere): whose it
# was, so that the next request says « your session has ended » and keeps a form's
# answers for that person, instead of a bare « sign in ».
SESSION_ENDED = "ended_uid"
SESSION_ENDED_KEPT_S = 12 * 3600


def idle_timeout(user: CurrentUser) -> int:
    return IDLE_TIMEOUT_STAFF_S if is_staff(user) else IDLE_TIMEOUT_APPLICANT_S


def start_session(connection: ASGIConnection, user: CurrentUser) -> None:
    """Sign in: a new session id, a clean session, the time of authentication."""
    rotate_session(connection)
    now = int(time.time())
    connection.scope["session"] = {
        SESSION_USER: user.id,
        SESSION_VERSION: user.session_version,
        SESSION_AUTH_AT: now,
        SESSION_SEEN_AT: now,
        SESSION_DEADLINE: now + SESSION_ABSOLUTE_LIFETIME_S,
    }


def start_second_factor(connection: ASGIConnection, user_id: int) -> None:
    """Password accepted, second factor pending: nobody is signed in yet."""
    rotate_session(connection)
    now = int(time.time())
    connection.scope["session"] = {
        SESSION_PENDING_USER: user_id,
        SESSION_PENDING_AT: now,
        SESSION_DEADLINE: now + SECOND_FACTOR_WINDOW_S,
    }


def pending_second_factor(connection: ASGIConnection) -> int | None:
    session = connection.scope.get("session") or {}
    user_id = session.get(SESSION_PENDING_USER)
    started = int(session.get(SESSION_PENDING_AT, 0))
    if isinstance(user_id, int) and time.time() - started <= SECOND_FACTOR_WINDOW_S:
        return user_id
    return None


def forget_second_factor(connection: ASGIConnection) -> None:
    """A pending second factor that is over (outlived, or never there): its session
    goes, and nothing is stored for a visitor who had none."""
    session = connection.scope.get("session")
    if isinstance(session, dict):
        for key in (SESSION_PENDING_USER, SESSION_PENDING_AT):
            session.pop(key, None)
        if set(session) <= {SESSION_DEADLINE}:
            session.clear()


def refresh_session(connection: ASGIConnection, user: CurrentUser) -> None:
    """After a change that ended the person's sessions (password, two-factor), keep
    this one: new id, new version, authenticated now."""
    session = dict(connection.scope.get("session") or {})
    start_session(connection, user)
    for key, value in session.items():
        connection.scope["session"].setdefault(key, value)


def confirm_recent_authentication(connection: ASGIConnection) -> None:
    """The password was typed again (the absolute lifetime still counts from sign-in)."""
    connection.scope["session"][SESSION_REAUTH_AT] = int(time.time())


def authenticated_recently(connection: ASGIConnection) -> bool:
    session = connection.scope.get("session") or {}
    last = max(int(session.get(SESSION_AUTH_AT, 0)), int(session.get(SESSION_REAUTH_AT, 0)))
    return time.time() - last <= REAUTH_AFTER_S


def end_session(connection: ASGIConnection) -> None:
    connection.scope["session"] = {}


def _session_ended(connection: ASGIConnection, user_id: int) -> None:
    now = int(time.time())
    connection.scope["session"] = {
        SESSION_ENDED: user_id,
        SESSION_DEADLINE: now + SESSION_ENDED_KEPT_S,
    }


def ended_session_user(connection: ASGIConnection) -> int | None:
    """Whose session this was, when it ended by itself (None: never signed in, or
    signed out)."""
    session = connection.scope.get("session") or {}
    user_id = session.get(SESSION_ENDED)
    return user_id if isinstance(user_id, int) else None


def session_seconds_left(connection: ASGIConnection, user: CurrentUser) -> int:
    """Seconds before this session ends if nothing happens (idle or absolute limit)."""
    session = connection.scope.get("session") or {}
    now = int(time.time())
    idle_end = int(session.get(SESSION_SEEN_AT, now)) + idle_timeout(user)
    absolute_end = int(session.get(SESSION_AUTH_AT, now)) + SESSION_ABSOLUTE_LIFETIME_S
    return max(0, min(idle_end, absolute_end) - now)


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
            or session.get(SESSION_VERSION) != user.session_version
            or now - int(session.get(SESSION_AUTH_AT, 0)) > SESSION_ABSOLUTE_LIFETIME_S
            or now - int(session.get(SESSION_SEEN_AT, 0)) > idle_timeout(user)
        )
        if expired:
            _session_ended(connection, user_id)
            return AuthenticationResult(user=None, auth=None)
        if now - int(session.get(SESSION_SEEN_AT, 0)) >= SEEN_AT_RESOLUTION_S:
            session[SESSION_SEEN_AT] = now
        return AuthenticationResult(user=user, auth=None)
