"""Passwords, security headers, CSRF and server-side sessions that rotate their id."""

from __future__ import annotations

import asyncio
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import ClientException
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import ASGIApp, Empty, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.settings import Settings

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


# A check takes tens of milliseconds of CPU and 19 MiB: on the event loop, a burst of
# sign-ins would hold up every other request of the worker. Off it, two at a time (the
# memory stays bounded; the burst waits, not the others).
_PASSWORD_CHECKS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="password-check")


async def password_matches(stored_hash: str | None, password: str) -> bool:
    """``verify_password`` in a worker thread, for request handlers."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_PASSWORD_CHECKS, verify_password, stored_hash, password)


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
    header on htmx requests (set once on <body> with ``hx-headers``)."""
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


def rotate_session(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Give this session a new id when the response is sent, and drop the old one.

    Called at sign-in and at every privilege change (session-fixation defence)."""
    connection.scope[_ROTATE] = True  # type: ignore[literal-required]


class RotatingSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side backend keeps whatever id the client sends. This one
    only keeps an id the store knows, and issues a fresh one on ``rotate_session``:
    a planted id never becomes anyone's session."""

    async def load_from_connection(self, connection: ASGIConnection) -> dict[str, Any]:
        data = await super().load_from_connection(connection)
        if data:
            connection.scope[_KNOWN] = True  # type: ignore[literal-required]
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

    async def store_in_message(self, scope_session, message, connection) -> None:
        scope = connection.scope
        old_id = connection.cookies.get(self.config.key)
        if not scope_session or scope_session is Empty:
            # Anonymous visitors get no session at all; an emptied one is deleted.
            if old_id:
                await super().store_in_message(Empty, message, connection)
            return
        if scope.get(_ROTATE) and old_id:
            store = self.config.get_store_from_app(scope["app"])
            await self.delete(old_id, store=store)
        await super().store_in_message(scope_session, message, connection)


@dataclass
class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


SESSION_ABSOLUTE_LIFETIME_S = 12 * 3600


def session_config(settings: Settings) -> RotatingSessionConfig:
    return RotatingSessionConfig(
        key="guichet_session",
        max_age=SESSION_ABSOLUTE_LIFETIME_S,
        secure=settings.production,
        httponly=True,
        samesite="lax",
        store="sessions",
    )
