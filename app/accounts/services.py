"""Accounts: people, their passwords and their staff roles. No HTTP here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.accounts.tables import RoleGrant, StaffRole, User
from app.core.db import write_transaction
from app.core.security import hash_password, password_needs_rehash, verify_password

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128


class AccountError(ValueError):
    """A rule about accounts was broken; ``code`` names it for a translated message."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class CurrentUser:
    """Who is signed in, as the request sees it."""

    id: int
    email: str
    full_name: str
    language: str
    roles: frozenset[str] = field(default_factory=frozenset)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_staff(self) -> bool:
        return bool(self.roles)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_rules(password: str) -> None:
    """Length only (NIST SP 800-63B): no composition rules."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password_too_short")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError("password_too_long")


async def create_user(
    *, email: str, full_name: str, password: str | None, roles: Iterable[StaffRole] = ()
) -> int:
    """Create a person with the given staff roles; the email must be new."""
    email = normalise_email(email)
    if password is not None:
        check_password_rules(password)
    password_hash = hash_password(password) if password is not None else None
    async with write_transaction():
        if await User.exists().where(User.email == email):
            raise AccountError("email_taken")
        rows = await User.insert(
            User(email=email, full_name=full_name.strip(), password_hash=password_hash)
        ).returning(User.id)
        user_id = rows[0]["id"]
        for role in sorted(set(roles)):
            await RoleGrant.insert(RoleGrant(user=user_id, role=StaffRole(role).value))
    return user_id


async def authenticate(email: str, password: str) -> int | None:
    """The id of the active person with this email and password, else None.

    The hash is checked even for unknown emails (same timing), and upgraded when
    the hashing parameters changed."""
    row = (
        await User.select(User.id, User.password_hash, User.is_active)
        .where(User.email == normalise_email(email))
        .first()
    )
    stored = row["password_hash"] if row else None
    if not verify_password(stored, password) or not row or not row["is_active"]:
        return None
    values: dict = {User.last_login_at: datetime.now(UTC)}
    if password_needs_rehash(stored):
        values[User.password_hash] = hash_password(password)
    await User.update(values).where(User.id == row["id"])
    return row["id"]


async def load_current_user(user_id: int) -> CurrentUser | None:
    """The active person with this id and their roles (one query)."""
    rows = await RoleGrant.select(RoleGrant.role).where(RoleGrant.user == user_id)
    user = (
        await User.select(User.id, User.email, User.full_name, User.language)
        .where((User.id == user_id) & (User.is_active.eq(True)))
        .first()
    )
    if user is None:
        return None
    return CurrentUser(
        id=user["id"],
        email=user["email"],
        full_name=user["full_name"],
        language=user["language"],
        roles=frozenset(r["role"] for r in rows),
    )


async def count_users() -> int:
    return await User.count()
