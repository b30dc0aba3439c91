"""Passwords, security headers, CSRF and server-side sessions that rotate their id."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import anyio.to_thread
import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.exceptions import ClientException
from litestar.middleware.csrf import generate_csrf_token
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.stores.base import StorageObject, Store
from litestar.stores.file import FileStore
from litestar.types import ASGIApp, Empty, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.core.periodic import Job
from app.settings import Settings

log = logging.getLogger("guichet.security")

# OWASP's minimum for argon2id: m=19 MiB, t=2, p=1. Raising these makes every stored
# hash "need rehash", and sign-in upgrades it.
PASSWORD_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# A valid hash to verify against when the account does not exist, so that sign-in
# takes the same time for known and unknown emails.
_DUMMY_HASH = PASSWORD_HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return PASSWORD_HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return PASSWORD_HASHER.verify(stored_hash or _DUMMY_HASH, password) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False


# A check (or a hash) takes tens of milliseconds of CPU and 19 MiB: on the event loop, a burst of
# sign-ins would hold up every other request of the worker. Off it, two at a time (the
# memory stays bounded; the burst waits, not the others).
_PASSWORD_CHECKS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="password-check")


async def password_matches(stored_hash: str | None, password: str) -> bool:
    """``verify_password`` in a worker thread, for request handlers."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_PASSWORD_CHECKS, verify_password, stored_hash, password)


async def new_password_hash(password: str) -> str:
    """``hash_password`` in a worker thread, for services: called before their write
    transaction, never inside (on SQLite it would hold the write lock meanwhile)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_PASSWORD_CHECKS, hash_password, password)


def password_needs_rehash(stored_hash: str) -> bool:
    return PASSWORD_HASHER.check_needs_rehash(stored_hash)


# --- Headers ---------------------------------------------------------------------

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)


def security_headers(settings: Settings):
    """A ``before_send`` hook: every response, pages, errors and static files alike,
    gets the baseline headers; dynamic responses are never stored by a cache."""
    fixed = [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    ]
    if settings.production:
        fixed.append(("strict-transport-security", "max-age=63072000; includeSubDomains"))

    async def hook(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        for name, value in fixed:
            headers[name] = value
        if not scope.get("path", "").startswith("/static/"):
            headers["cache-control"] = "no-store"
            headers.add("vary", "HX-Request")
        if settings.production:
            _secure_cookies(headers)

    return hook


def _secure_cookies(headers: MutableScopeHeaders) -> None:
    """In production every cookie is Secure, whichever route set it (the language
    cookie too): none is ever sent over plain HTTP, before HSTS is known."""
    cookies = headers.getall("set-cookie", [])
    flags = [{p.strip().lower() for p in cookie.split(";")[1:]} for cookie in cookies]
    if all("secure" in f for f in flags):
        return
    del headers["set-cookie"]
    for cookie, f in zip(cookies, flags, strict=True):
        headers.add("set-cookie", cookie if "secure" in f else f"{cookie}; Secure")


# --- Reverse proxies -----------------------------------------------------------------


def proxy_headers_middleware(settings: Settings):
    """The client's address (rate limits, audit trail) and scheme from X-Forwarded-For
    and X-Forwarded-Proto, only when the peer is one of ``TRUSTED_PROXIES``: anyone
    else could name any address and escape every per-address limit. (uvicorn's own
    handling trusts 127.0.0.1 by default; ``guichet serve`` turns it off for this.)"""

    def factory(app: ASGIApp) -> ASGIApp:
        return ProxyHeadersMiddleware(app, trusted_hosts=list(settings.trusted_proxies))  # type: ignore[arg-type]

    return factory


# --- Allowed hosts -------------------------------------------------------------------


def _host_without_port(host: str) -> str:
    if host.startswith("["):  # [::1]:8000
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def host_is_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    name = _host_without_port(host.strip().lower())
    if not name:
        return False
    for pattern in allowed:
        if pattern == "*" or name == pattern:
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


def allowed_hosts_middleware(settings: Settings):
    """Refuse a request for a host we do not serve (Host-header poisoning of links
    in e-mails). Litestar's own check compares the port too and answers in JSON;
    this one raises, so the refusal is the HTML 400 page."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
                if not host_is_allowed(host, settings.allowed_hosts):
                    raise ClientException("invalid host header")
            await app(scope, receive, send)

        return middleware

    return factory


# --- Form text: no NUL, UTF-8 only -------------------------------------------------------

_NUL = (b"%00", b"\x00")
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_FORM_PARTS = re.compile(rb"[&=;]")


def _without_nul(data: bytes) -> bytes:
    # Until none is left: taking one out can join another (« %%0000 » → « %00 »).
    while any(token in data for token in _NUL):
        for token in _NUL:
            data = data.replace(token, b"")
    return data


def _utf8_form(data: bytes) -> bytes:
    """A query string or url-encoded body whose text is UTF-8, with its non-ASCII bytes
    percent-encoded; ``ClientException`` (400) when it is not UTF-8.

    Litestar reads these bytes as Latin-1: raw UTF-8 « é » was stored as « Ã© », and
    « %FF » became « \ufffd »."""
    try:
        data.decode("utf-8")
        for part in _FORM_PARTS.split(data):
            unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        raise ClientException("form text is not UTF-8") from None
    if data.isascii():
        return data
    return _NON_ASCII.sub(lambda m: b"%%%02X" % m.group()[0], data)


def _clean(data: bytes) -> bytes:
    return _utf8_form(_without_nul(data))


def form_text_middleware(settings: Settings):
    """No text we store may hold a NUL character (PostgreSQL refuses it; nobody types
    one): it is removed from query strings and from ordinary form bodies before any
    handler reads them; text that is not UTF-8 is refused with 400 (bodies over
    ``MAX_BODY_BYTES`` with 413). Streamed uploads clean their own text fields."""

    def factory(app: ASGIApp) -> ASGIApp:
        return _form_text(app, settings.max_body_bytes)

    return factory


def _form_text(app: ASGIApp, limit: int) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if any(token in query for token in _NUL) or b"%" in query or not query.isascii():
            scope = {**scope, "query_string": _clean(query)}
        content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
        if not content_type.startswith(b"application/x-www-form-urlencoded"):
            await app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
            if sum(len(c) for c in chunks) > limit:
                raise ClientException("request body too large", status_code=413)
        body = _clean(b"".join(chunks))
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await app(
            {**scope, "headers": headers},
            _replay([{"type": "http.request", "body": body, "more_body": False}]),
            send,
        )

    return middleware


def _replay(messages: list) -> Receive:
    """A receive() that gives these messages, then waits for the client to leave."""
    pending = list(messages)

    async def receive():
        if pending:
            return pending.pop(0)
        return {"type": "http.disconnect"}

    return receive


# --- CSRF --------------------------------------------------------------------------


def csrf_config(settings: Settings) -> CSRFConfig:
    """Double-submit token: hidden ``_csrf_token`` field in plain forms, ``x-csrftoken``
    header on htmx requests (set once per page, with ``hx-headers`` on the element that
    wraps the page's content: a boosted navigation replaces it, so a page always sends
    the token of the latest full page). A new token at sign-in: ``rotate_session``."""
    return CSRFConfig(
        secret=settings.secret_key,
        cookie_name="guichet_csrf",
        header_name="x-csrftoken",
        cookie_secure=settings.production,
        cookie_samesite="lax",
        cookie_httponly=True,
    )


# --- Sessions ----------------------------------------------------------------------

_ROTATE = "guichet.session.rotate"
_KNOWN = "guichet.session.known"
_NEW_ID = "guichet.session.new_id"
_NEW_CSRF = "guichet.csrf.new"
_LOADED = "guichet.session.loaded"

SESSION_ABSOLUTE_LIFETIME_S = 12 * 3600
# A session key: the epoch second after which the session is worth nothing (the end of
# its absolute lifetime, of a pending second factor). The store keeps it no longer:
# Redis expires the key then, the file store's sweep deletes the file.
SESSION_DEADLINE = "until"
SESSION_SWEEP_EVERY_S = 15 * 60


def rotate_session(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Give this session a new id when the response is sent, and drop the old one; and
    a new CSRF token.

    Called at sign-in and at every privilege change (session-fixation defence)."""
    connection.scope[_ROTATE] = True  # type: ignore[literal-required]
    _rotate_csrf_token(connection)


def _rotate_csrf_token(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """A CSRF token taken before sign-in, or planted with its cookie from another
    browser, stops working: a new one, made by Litestar's own function, is what the page
    of this response carries and what its cookie holds. Litestar's CSRF middleware goes
    on checking every unsafe request against the cookie, as before. (Deleting the
    cookie instead would leave a page rendered by this response — the recovery codes
    after turning on two-factor — with a token no cookie matches.)"""
    config = connection.app.csrf_config
    if config is None:
        return
    token = generate_csrf_token(secret=config.secret)
    ScopeState.from_scope(connection.scope).csrf_token = token
    connection.scope[_NEW_CSRF] = token  # type: ignore[literal-required]


def _send_new_csrf_cookie(message: Message, connection: ASGIConnection) -> None:
    token = connection.scope.get(_NEW_CSRF)
    config = connection.app.csrf_config
    if not token or config is None:
        return
    cookie = Cookie(
        key=config.cookie_name,
        value=token,
        path=config.cookie_path,
        domain=config.cookie_domain,
        secure=config.cookie_secure,
        httponly=config.cookie_httponly,
        samesite=config.cookie_samesite,
    )
    # After any cookie Litestar's middleware added for a safe request: the last wins.
    MutableScopeHeaders.from_message(message).add("set-cookie", cookie.to_header(header=""))


class RotatingSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side backend keeps whatever id the client sends. This one
    only keeps an id the store knows, and issues a fresh one on ``rotate_session``:
    a planted id never becomes anyone's session. A session is stored until its
    ``SESSION_DEADLINE`` at most, not ``max_age`` after each write."""

    async def load_from_connection(self, connection: ASGIConnection) -> dict[str, Any]:
        data = await super().load_from_connection(connection)
        if data:
            connection.scope[_KNOWN] = True  # type: ignore[literal-required]
            # As stored: a response that leaves the session as it was does not write it.
            connection.scope[_LOADED] = self.serialize_data(data, connection.scope)  # type: ignore[literal-required]
        return data

    def get_session_id(self, connection: ASGIConnection) -> str:
        scope = connection.scope
        if new_id := scope.get(_NEW_ID):
            return new_id
        cookie_id = connection.cookies.get(self.config.key)
        if cookie_id and scope.get(_KNOWN) and not scope.get(_ROTATE):
            return cookie_id
        new_id = self.generate_session_id()
        scope[_NEW_ID] = new_id  # type: ignore[literal-required]
        return new_id

    def lifetime(self, scope_session: dict[str, Any]) -> int:
        """Seconds this session may still be kept: ``max_age``, or less before its deadline."""
        max_age = int(self.config.max_age)
        deadline = scope_session.get(SESSION_DEADLINE)
        if isinstance(deadline, int):
            return min(max_age, deadline - int(time.time()))
        return max_age

    async def store_in_message(self, scope_session, message, connection) -> None:
        scope = connection.scope
        _send_new_csrf_cookie(message, connection)
        old_id = connection.cookies.get(self.config.key)
        if not scope_session or scope_session is Empty or self.lifetime(scope_session) <= 0:
            # Anonymous visitors get no session at all; an emptied or outlived one is
            # deleted.
            if old_id:
                await super().store_in_message(Empty, message, connection)
            return
        data = self.serialize_data(scope_session, scope)
        if not scope.get(_ROTATE) and scope.get(_LOADED) == data:
            # Unchanged (the time of the last request is kept to the minute, accounts/
            # sessions.py): the stored session and the cookie already say this, and the
            # store keeps it until the deadline it was given.
            return
        store = self.config.get_store_from_app(scope["app"])
        if scope.get(_ROTATE) and old_id:
            await self.delete(old_id, store=store)
        session_id = self.get_session_id(connection)
        lifetime = self.lifetime(scope_session)
        await store.set(session_id, data, expires_in=lifetime)
        # The cookie keeps Litestar's max_age: the id is worth nothing after the
        # deadline anyway, the store no longer has it.
        cookie = Cookie(
            key=self.config.key,
            value=session_id,
            max_age=self.config.max_age,
            path=self.config.path,
            domain=self.config.domain,
            secure=self.config.secure,
            httponly=self.config.httponly,
            samesite=self.config.samesite,
        )
        MutableScopeHeaders.from_message(message).add("set-cookie", cookie.to_header(header=""))


@dataclass
class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


def session_config(settings: Settings) -> RotatingSessionConfig:
    return RotatingSessionConfig(
        key="guichet_session",
        max_age=SESSION_ABSOLUTE_LIFETIME_S,
        secure=settings.production,
        httponly=True,
        samesite="lax",
        store="sessions",
    )


def _sweep_directory(directory: Path) -> int:
    removed = 0
    for path in directory.iterdir():
        if ".tmp" in path.name:
            continue  # a write in progress (a crash's leftovers go at start-up: recovery)
        try:
            stored = StorageObject.from_bytes(path.read_bytes())
        except FileNotFoundError:
            continue  # used and deleted meanwhile
        except msgspec.MsgspecError:
            continue  # not a session of ours: left alone
        if stored.expired:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


async def sweep_expired_sessions(store: Store) -> int:
    """Delete the sessions past their deadline from a file store; return how many.

    Litestar's ``FileStore`` forgets an expired session only when someone presents its
    id again: abandoned ones stayed on disk for ever. (Not ``delete_expired()``: it
    reads the temporary files of writes in progress too, and stops at the first it
    cannot decode.) Redis expires its keys itself: nothing to do there."""
    if not isinstance(store, FileStore) or not await store.path.is_dir():
        return 0
    return await anyio.to_thread.run_sync(_sweep_directory, Path(store.path))


def session_sweep_job(store: Store) -> Job:
    """At start-up, then every ``SESSION_SWEEP_EVERY_S`` (safe with several workers:
    deleting a file twice is nothing)."""

    async def sweep() -> None:
        if removed := await sweep_expired_sessions(store):
            log.info("expired sessions deleted", extra={"sessions": removed})

    return Job("session-sweep", sweep, every_s=SESSION_SWEEP_EVERY_S)
