"""Password guesses are limited without letting anyone lock the owner out.

Counting failures per account alone (5 in 15 minutes, then 429 even for the right
password) let anyone lock a named account by failing its password on purpose. The
counters now follow OWASP's "device cookies" (Authentication Cheat Sheet, Slow down
online guessing attacks with device cookies):

- per client address and account (``SIGN_IN_PER_PAIR``): the client that guesses is
  refused, another address is not;
- per account from every address (``SIGN_IN_CEILING_PER_ACCOUNT``, slower): guesses
  spread over many addresses meet it; it refuses *untrusted* clients only;
- a browser that signed in to the account before carries a device cookie naming the
  account (HMAC with SECRET_KEY): it counts its own failures
  (``SIGN_IN_PER_DEVICE``) instead of the address's and the account's, so neither the
  ceiling nor a guesser behind the same address stops it;
- per address, whatever the account (``SIGN_IN_PER_IP``, sign-in only): credential
  stuffing from one address meets it; successes are taken back (an office behind one
  address). Trusted devices do not count there either.

A success resets the client's own counter and takes its hit back from the others; the
ceiling is not reset (the guesses from elsewhere still count). Re-authentication,
turning off two-factor, changing the password and erasing the account check the
password under the same counters.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from litestar import Request, Response

from app.core.ratelimit import Limit

SIGN_IN_PER_IP = Limit("sign_in_ip", 30, 15 * 60)
SIGN_IN_PER_PAIR = Limit("sign_in_pair", 5, 15 * 60)
SIGN_IN_CEILING_PER_ACCOUNT = Limit("sign_in_account_ceiling", 100, 3600)
SIGN_IN_PER_DEVICE = Limit("sign_in_device", 10, 15 * 60)

DEVICE_COOKIE = "guichet_device"
DEVICE_COOKIE_MAX_AGE_S = 180 * 24 * 3600
# Accounts one browser is trusted for (a family computer, a shared office one).
DEVICES_PER_BROWSER = 5


def _signature(secret_key: str, email: str, nonce: str) -> str:
    message = f"guichet-device\n{email}\n{nonce}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def _entries(request: Request) -> list[tuple[str, str]]:
    """(nonce, signature) pairs of the device cookie, malformed parts left out."""
    raw = request.cookies.get(DEVICE_COOKIE, "")[:1000]
    entries = []
    for part in raw.split("~")[:DEVICES_PER_BROWSER]:
        nonce, _dot, signature = part.partition(".")
        if nonce and signature:
            entries.append((nonce, signature))
    return entries


def trusted_device(request: Request, email: str) -> str | None:
    """The id of this browser for ``email`` when it signed in to that account before."""
    secret_key = request.app.state.settings.secret_key
    for nonce, signature in _entries(request):
        if hmac.compare_digest(signature, _signature(secret_key, email, nonce)):
            return nonce
    return None


def remember_device(request: Request, response: Response, email: str) -> None:
    """After a full sign-in: this browser is trusted for ``email`` (its other accounts
    are kept, the most recent first)."""
    settings = request.app.state.settings
    nonce = trusted_device(request, email) or secrets.token_urlsafe(12)
    others = [
        (n, s)
        for n, s in _entries(request)
        if not hmac.compare_digest(s, _signature(settings.secret_key, email, n))
    ]
    entries = [(nonce, _signature(settings.secret_key, email, nonce)), *others]
    response.set_cookie(
        DEVICE_COOKIE,
        "~".join(f"{n}.{s}" for n, s in entries[:DEVICES_PER_BROWSER]),
        max_age=DEVICE_COOKIE_MAX_AGE_S,
        path="/",
        httponly=True,
        secure=settings.production,
        samesite="lax",
    )


@dataclass
class PasswordAttempt:
    """Set ``succeeded`` when the password was right."""

    succeeded: bool = False


@asynccontextmanager
async def password_attempt(
    request: Request, email: str, ip: str, *, per_address: bool = False
) -> AsyncIterator[PasswordAttempt]:
    """Count a password check for ``email`` from this client before it is made (parallel
    guesses are counted too); 429 with Retry-After when this client is over a limit.
    ``per_address``: the per-address limit too (sign-in). A failure of ours inside the
    block (the database away) counts nothing."""
    limiter = request.app.state.rate_limiter
    device = trusted_device(request, email)
    attempt = PasswordAttempt()
    async with AsyncExitStack() as counted:
        if device is not None:
            await counted.enter_async_context(
                limiter.attempt(SIGN_IN_PER_DEVICE, f"{device} {email}")
            )
        else:
            if per_address:
                await counted.enter_async_context(limiter.attempt(SIGN_IN_PER_IP, ip))
            await counted.enter_async_context(limiter.attempt(SIGN_IN_PER_PAIR, f"{ip} {email}"))
            await counted.enter_async_context(limiter.attempt(SIGN_IN_CEILING_PER_ACCOUNT, email))
        yield attempt
    if not attempt.succeeded:
        return
    # The owner is no guess: their own count starts again, the others forget this one.
    if device is not None:
        await limiter.reset(SIGN_IN_PER_DEVICE, f"{device} {email}")
        return
    await limiter.reset(SIGN_IN_PER_PAIR, f"{ip} {email}")
    await limiter.take_back(SIGN_IN_CEILING_PER_ACCOUNT, email)
    if per_address:
        await limiter.take_back(SIGN_IN_PER_IP, ip)
