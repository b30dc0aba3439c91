"""What proves who a person is: password rules and single-use e-mailed tokens.

The ground floor of accounts (no other accounts module is imported here): the error
type of the domain, the rules a new password must meet and the tokens sent by e-mail
(address confirmation, password reset, staff invitation), of which only a hash is kept.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from app.accounts.tables import AccountToken, TokenPurpose, User
from app.core.db import for_update
from app.core.domain import DomainError
from app.core.i18n import gettext_noop as N_

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128

TOKEN_LIFETIMES = {
    TokenPurpose.verify_email: timedelta(days=2),
    TokenPurpose.reset_password: timedelta(hours=1),
    TokenPurpose.staff_invitation: timedelta(days=7),
}


class AccountError(DomainError):
    """A rule about accounts said no; its message is written where it is raised.

    Codes a caller acts on: ``password_wrong`` (counted as a wrong guess),
    ``token_*`` (the link is what is wrong, not the form), ``user_not_found``."""


def now() -> datetime:
    return datetime.now(UTC)


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- Passwords ---------------------------------------------------------------------


@cache
def common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def check_password_rules(password: str, *, email: str = "") -> None:
    """Length and a list of common passwords (NIST SP 800-63B): no composition rules.
    The error names no field: the form says which of its fields holds the password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password_too_short", N_("Choose a password of at least 12 characters."))
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError("password_too_long", N_("Choose a password of at most 128 characters."))
    lowered = password.lower()
    if lowered in common_passwords() or (email and lowered == normalise_email(email)):
        raise AccountError(
            "password_common",
            N_(
                "This password is too common: choose another one, for example a few unrelated words."
            ),
        )


# --- E-mailed tokens ---------------------------------------------------------------


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def issue_token(user_id: int, purpose: TokenPurpose) -> str:
    """A new single-use token (inside the caller's transaction); earlier unused
    tokens of the same purpose stop working."""
    raw = secrets.token_urlsafe(32)
    await AccountToken.update({AccountToken.used_at: now()}).where(
        (AccountToken.user == user_id)
        & (AccountToken.purpose == purpose.value)
        & AccountToken.used_at.is_null()
    )
    await AccountToken.insert(
        AccountToken(
            user=user_id,
            purpose=purpose.value,
            token_hash=token_hash(raw),
            expires_at=now() + TOKEN_LIFETIMES[purpose],
        )
    )
    return raw


async def valid_token(raw: str, purpose: TokenPurpose, *, lock: bool = False) -> dict:
    """The token's row while it can still be used; else why not (``token_*``)."""
    query = AccountToken.select(
        AccountToken.id, AccountToken.user, AccountToken.expires_at, AccountToken.used_at
    ).where(
        (AccountToken.token_hash == token_hash(raw or "")) & (AccountToken.purpose == purpose.value)
    )
    row = await (for_update(query) if lock else query).first()
    if row is None:
        raise AccountError(
            "token_invalid",
            N_("This link is not valid. Check that you copied it whole, or ask for a new one."),
        )
    if row["used_at"] is not None:
        raise AccountError(
            "token_used", N_("This link has already been used. Ask for a new one if you need it.")
        )
    if row["expires_at"] <= now():
        raise AccountError("token_expired", N_("This link has expired. Ask for a new one."))
    return row


async def token_owner(raw: str, purpose: TokenPurpose) -> dict:
    """The person a still-valid token belongs to (the token is not used up)."""
    row = await valid_token(raw, purpose)
    return (
        await User.select(User.id, User.email, User.full_name, User.language)
        .where(User.id == row["user"])
        .first()
    )


async def consume_token(raw: str, purpose: TokenPurpose) -> int:
    """Use the token up (inside the caller's transaction); returns its person's id."""
    row = await valid_token(raw, purpose, lock=True)
    await AccountToken.update({AccountToken.used_at: now()}).where(AccountToken.id == row["id"])
    return row["user"]


def link(base_url: str, path: str, token: str, next_path: str = "") -> str:
    """A link of an e-mail; ``next_path``: where to go once signed in, if anywhere."""
    query = urlencode({"jeton": token} | ({"suivant": next_path} if next_path else {}))
    return f"{base_url}{path}?{query}"
