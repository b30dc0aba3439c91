"""Passwords: signing up and in, confirming the address, resetting and changing the
password.

Sign-up and reset never tell whether an address has an account; the password is
checked against its hash even for unknown addresses (same timing).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.accounts.credentials import (
    AccountError,
    check_password_rules,
    consume_token,
    issue_token,
    link,
    normalise_email,
    now,
    valid_token,
)
from app.accounts.services import audit_account, end_sessions
from app.accounts.tables import TokenPurpose, User
from app.core.audit import Actor
from app.core.db import for_update, write_transaction
from app.core.i18n import gettext_noop as N_
from app.core.outbox import enqueue_email
from app.core.security import new_password_hash, password_matches, password_needs_rehash


def wrong_password(field: str) -> AccountError:
    """The person's current password, typed to confirm an action, is not theirs."""
    return AccountError("password_wrong", N_("The password is not correct."), field=field)


# --- Sign-up and confirmation ------------------------------------------------------


async def register_applicant(
    *,
    email: str,
    full_name: str,
    password: str,
    language: str,
    base_url: str,
    actor: Actor,
    next_path: str = "",
) -> None:
    """Sign-up. The answer never tells whether the address already has an account:
    a new address gets a confirmation link (leading on to ``next_path`` once signed
    in), a known one a warning e-mail."""
    email = normalise_email(email)
    check_password_rules(password, email=email)
    password_hash = await new_password_hash(password)
    async with write_transaction():
        existing = await User.select(User.id, User.language).where(User.email == email).first()
        if existing:
            await enqueue_email(
                to=email,
                template="account_exists",
                language=existing["language"],
                context={
                    "sign_in_url": f"{base_url}/connexion",
                    "reset_url": f"{base_url}/mot-de-passe-oublie",
                },
            )
            await audit_account("accounts.sign_up_existing", actor, user_id=existing["id"])
            return
        rows = await User.insert(
            User(
                email=email,
                full_name=full_name.strip(),
                password_hash=password_hash,
                language=language,
            )
        ).returning(User.id)
        user_id = rows[0]["id"]
        raw = await issue_token(user_id, TokenPurpose.verify_email)
        await enqueue_email(
            to=email,
            template="verify_email",
            language=language,
            context={
                "name": full_name.strip(),
                "url": link(base_url, "/compte/confirmer", raw, next_path),
            },
        )
        await audit_account("accounts.signed_up", actor, user_id=user_id)


async def resend_verification(*, email: str, base_url: str, actor: Actor) -> None:
    """A new confirmation link for an unconfirmed account; silent otherwise."""
    async with write_transaction():
        user = (
            await User.select(User.id, User.full_name, User.language)
            .where(
                (User.email == normalise_email(email))
                & User.email_verified_at.is_null()
                & (User.is_active.eq(True))
            )
            .first()
        )
        if user is None:
            return
        raw = await issue_token(user["id"], TokenPurpose.verify_email)
        await enqueue_email(
            to=normalise_email(email),
            template="verify_email",
            language=user["language"],
            context={"name": user["full_name"], "url": link(base_url, "/compte/confirmer", raw)},
        )


async def confirm_email(raw_token: str, *, actor: Actor) -> int:
    async with write_transaction():
        user_id = await consume_token(raw_token, TokenPurpose.verify_email)
        await User.update({User.email_verified_at: now()}).where(User.id == user_id)
        await audit_account("accounts.email_confirmed", actor, user_id=user_id)
    return user_id


# --- Sign-in -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignInResult:
    user_id: int | None
    needs_second_factor: bool = False
    unverified: bool = False


async def authenticate(email: str, password: str, *, actor: Actor) -> SignInResult:
    """Check the password of an active account.

    The hash is checked even for unknown emails (same timing) and upgraded when the
    hashing parameters changed; failures are audited."""
    email = normalise_email(email)
    row = (
        await User.select(
            User.id,
            User.password_hash,
            User.is_active,
            User.email_verified_at,
            User.totp_enabled_at,
        )
        .where(User.email == email)
        .first()
    )
    stored = row["password_hash"] if row else None
    if not await password_matches(stored, password) or not row or not row["is_active"]:
        async with write_transaction():
            await audit_account(
                "accounts.sign_in_failed", actor, user_id=row["id"] if row else None
            )
        return SignInResult(user_id=None)
    if row["email_verified_at"] is None:
        return SignInResult(user_id=None, unverified=True)
    values: dict = {}
    if password_needs_rehash(stored):
        values[User.password_hash] = await new_password_hash(password)
    if values:
        await User.update(values).where(User.id == row["id"])
    return SignInResult(user_id=row["id"], needs_second_factor=row["totp_enabled_at"] is not None)


async def record_sign_in(user_id: int, *, actor: Actor) -> None:
    async with write_transaction():
        await User.update({User.last_login_at: now()}).where(User.id == user_id)
        await audit_account("accounts.signed_in", actor, user_id=user_id)


async def record_sign_out(user_id: int, *, actor: Actor) -> None:
    async with write_transaction():
        await audit_account("accounts.signed_out", actor, user_id=user_id)


# --- Reset and change ----------------------------------------------------------------


async def request_password_reset(*, email: str, base_url: str, actor: Actor) -> None:
    """E-mail a reset link to an active account; say nothing about unknown ones."""
    async with write_transaction():
        user = (
            await User.select(User.id, User.language)
            .where((User.email == normalise_email(email)) & (User.is_active.eq(True)))
            .first()
        )
        if user is None:
            return
        raw = await issue_token(user["id"], TokenPurpose.reset_password)
        await enqueue_email(
            to=normalise_email(email),
            template="reset_password",
            language=user["language"],
            context={"url": link(base_url, "/mot-de-passe/nouveau", raw)},
        )
        await audit_account("accounts.password_reset_requested", actor, user_id=user["id"])


async def reset_password(raw_token: str, new_password: str, *, actor: Actor) -> int:
    """Set a new password from a reset link; ends every session of the person."""
    # The link and the rules are checked, and the password hashed, before the write
    # transaction (argon2 takes tens of milliseconds); the link is checked again and
    # used up inside it.
    row = await valid_token(raw_token, TokenPurpose.reset_password)
    email = await User.select(User.email).where(User.id == row["user"]).first()
    check_password_rules(new_password, email=email["email"] if email else "")
    password_hash = await new_password_hash(new_password)
    async with write_transaction():
        user_id = await consume_token(raw_token, TokenPurpose.reset_password)
        # The link came by e-mail: the address is proven.
        await User.update({User.password_hash: password_hash, User.email_verified_at: now()}).where(
            User.id == user_id
        )
        await end_sessions(user_id)
        await audit_account("accounts.password_reset", actor, user_id=user_id)
    return user_id


async def change_password(user_id: int, current: str, new_password: str, *, actor: Actor) -> None:
    """Change one's password; every other session of the person ends."""
    row = await User.select(User.email, User.password_hash).where(User.id == user_id).first()
    if row is None or not await password_matches(row["password_hash"], current):
        raise wrong_password("current_password")
    check_password_rules(new_password, email=row["email"])
    password_hash = await new_password_hash(new_password)
    async with write_transaction():
        await still_the_password(user_id, row["password_hash"], field="current_password")
        await User.update({User.password_hash: password_hash}).where(User.id == user_id)
        await end_sessions(user_id)
        await audit_account("accounts.password_changed", actor, user_id=user_id)


async def still_the_password(user_id: int, checked_hash: str, *, field: str) -> None:
    """Inside the write transaction: the password checked before it (off the event
    loop) has not been changed meanwhile; else it is as good as wrong."""
    query = User.select(User.password_hash).where(User.id == user_id)
    row = await for_update(query).first()
    if row is None or row["password_hash"] != checked_hash:
        raise wrong_password(field)


async def check_password(user_id: int, password: str) -> bool:
    row = await User.select(User.password_hash).where(User.id == user_id).first()
    return await password_matches(row["password_hash"] if row else None, password)
