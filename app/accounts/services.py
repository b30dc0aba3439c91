"""Accounts: people, passwords, e-mailed tokens, staff roles, two-factor, personal data.

No HTTP here. Every change is audited in the same transaction, and every e-mail is
written to the outbox in that transaction too.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyotp

from app.accounts.tables import (
    AccountToken,
    ApiToken,
    RecoveryCode,
    RoleGrant,
    SiteSetting,
    StaffRole,
    TokenPurpose,
    User,
)
from app.core import audit
from app.core.audit import SYSTEM, Actor
from app.core.audit_checkpoints import Checkpoint
from app.core.db import for_update, write_transaction
from app.core.numbers import is_digits
from app.core.outbox import enqueue_email, forget_address
from app.core.security import (
    hash_password,
    password_matches,
    password_needs_rehash,
    verify_password,
)
from app.permissions import is_staff, totp_required_by_the_admin_setting

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128

TOKEN_LIFETIMES = {
    TokenPurpose.verify_email: timedelta(days=2),
    TokenPurpose.reset_password: timedelta(hours=1),
    TokenPurpose.staff_invitation: timedelta(days=7),
}

RECOVERY_CODE_COUNT = 10
TOTP_ISSUER = "Guichet"
SETTING_MANDATORY_TOTP = "mandatory_totp_finance_admin"


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
    session_version: int
    totp_enabled: bool
    roles: frozenset[str] = field(default_factory=frozenset)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_staff(self) -> bool:
        return bool(self.roles)


def now() -> datetime:
    return datetime.now(UTC)


def normalise_email(email: str) -> str:
    return email.strip().lower()


@cache
def common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def check_password_rules(password: str, *, email: str = "") -> None:
    """Length and a list of common passwords (NIST SP 800-63B): no composition rules."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password_too_short")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError("password_too_long")
    lowered = password.lower()
    if lowered in common_passwords() or (email and lowered == normalise_email(email)):
        raise AccountError("password_common")


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def _record(action: str, actor: Actor, *, user_id: int | None, **summary: Any) -> None:
    label = actor.label
    if not label and actor.user_id is not None:
        row = await User.select(User.email).where(User.id == actor.user_id).first()
        label = row["email"] if row else ""
    await audit.record(
        action,
        actor_id=actor.user_id,
        actor_label=label,
        ip=actor.ip,
        object_type="user" if user_id else "",
        object_id=user_id,
        summary=summary or None,
    )


async def _issue_token(user_id: int, purpose: TokenPurpose) -> str:
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
            token_hash=_token_hash(raw),
            expires_at=now() + TOKEN_LIFETIMES[purpose],
        )
    )
    return raw


async def _valid_token(raw: str, purpose: TokenPurpose, *, lock: bool = False) -> dict:
    query = AccountToken.select(
        AccountToken.id, AccountToken.user, AccountToken.expires_at, AccountToken.used_at
    ).where(
        (AccountToken.token_hash == _token_hash(raw or ""))
        & (AccountToken.purpose == purpose.value)
    )
    row = await (for_update(query) if lock else query).first()
    if row is None:
        raise AccountError("token_invalid")
    if row["used_at"] is not None:
        raise AccountError("token_used")
    if row["expires_at"] <= now():
        raise AccountError("token_expired")
    return row


async def token_owner(raw: str, purpose: TokenPurpose) -> dict:
    """The person a still-valid token belongs to (the token is not used up)."""
    row = await _valid_token(raw, purpose)
    return (
        await User.select(User.id, User.email, User.full_name, User.language)
        .where(User.id == row["user"])
        .first()
    )


async def _consume_token(raw: str, purpose: TokenPurpose) -> int:
    row = await _valid_token(raw, purpose, lock=True)
    await AccountToken.update({AccountToken.used_at: now()}).where(AccountToken.id == row["id"])
    return row["user"]


def link(base_url: str, path: str, token: str, next_path: str = "") -> str:
    """A link of an e-mail; ``next_path``: where to go once signed in, if anywhere."""
    query = urlencode({"jeton": token} | ({"suivant": next_path} if next_path else {}))
    return f"{base_url}{path}?{query}"


# --- People ------------------------------------------------------------------------


async def create_user(
    *,
    email: str,
    full_name: str,
    password: str | None,
    roles: Iterable[StaffRole] = (),
    language: str = "fr",
    verified: bool = True,
    actor: Actor = SYSTEM,
) -> int:
    """Create a person with the given staff roles; the email must be new."""
    email = normalise_email(email)
    if password is not None:
        check_password_rules(password, email=email)
    password_hash = hash_password(password) if password is not None else None
    async with write_transaction():
        if await User.exists().where(User.email == email):
            raise AccountError("email_taken")
        rows = await User.insert(
            User(
                email=email,
                full_name=full_name.strip(),
                password_hash=password_hash,
                language=language,
                email_verified_at=now() if verified else None,
            )
        ).returning(User.id)
        user_id = rows[0]["id"]
        role_values = sorted({StaffRole(r).value for r in roles})
        for role in role_values:
            await RoleGrant.insert(RoleGrant(user=user_id, role=role))
        await _record("accounts.user_created", actor, user_id=user_id, roles=role_values)
    return user_id


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
    password_hash = hash_password(password)
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
            await _record("accounts.sign_up_existing", actor, user_id=existing["id"])
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
        raw = await _issue_token(user_id, TokenPurpose.verify_email)
        await enqueue_email(
            to=email,
            template="verify_email",
            language=language,
            context={
                "name": full_name.strip(),
                "url": link(base_url, "/compte/confirmer", raw, next_path),
            },
        )
        await _record("accounts.signed_up", actor, user_id=user_id)


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
        raw = await _issue_token(user["id"], TokenPurpose.verify_email)
        await enqueue_email(
            to=normalise_email(email),
            template="verify_email",
            language=user["language"],
            context={"name": user["full_name"], "url": link(base_url, "/compte/confirmer", raw)},
        )


async def confirm_email(raw_token: str, *, actor: Actor) -> int:
    async with write_transaction():
        user_id = await _consume_token(raw_token, TokenPurpose.verify_email)
        await User.update({User.email_verified_at: now()}).where(User.id == user_id)
        await _record("accounts.email_confirmed", actor, user_id=user_id)
    return user_id


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
            await _record("accounts.sign_in_failed", actor, user_id=row["id"] if row else None)
        return SignInResult(user_id=None)
    if row["email_verified_at"] is None:
        return SignInResult(user_id=None, unverified=True)
    values: dict = {}
    if password_needs_rehash(stored):
        values[User.password_hash] = hash_password(password)
    if values:
        await User.update(values).where(User.id == row["id"])
    return SignInResult(user_id=row["id"], needs_second_factor=row["totp_enabled_at"] is not None)


async def record_sign_in(user_id: int, *, actor: Actor) -> None:
    async with write_transaction():
        await User.update({User.last_login_at: now()}).where(User.id == user_id)
        await _record("accounts.signed_in", actor, user_id=user_id)


async def record_sign_out(user_id: int, *, actor: Actor) -> None:
    async with write_transaction():
        await _record("accounts.signed_out", actor, user_id=user_id)


async def load_current_user(user_id: int) -> CurrentUser | None:
    """The active person with this id and their roles."""
    user = (
        await User.select(
            User.id,
            User.email,
            User.full_name,
            User.language,
            User.session_version,
            User.totp_enabled_at,
        )
        .where((User.id == user_id) & (User.is_active.eq(True)))
        .first()
    )
    if user is None:
        return None
    roles = await RoleGrant.select(RoleGrant.role).where(RoleGrant.user == user_id)
    return CurrentUser(
        id=user["id"],
        email=user["email"],
        full_name=user["full_name"],
        language=user["language"],
        session_version=user["session_version"],
        totp_enabled=user["totp_enabled_at"] is not None,
        roles=frozenset(r["role"] for r in roles),
    )


async def user_id_by_email(email: str) -> int | None:
    row = await User.select(User.id).where(User.email == normalise_email(email)).first()
    return row["id"] if row else None


async def count_users() -> int:
    return await User.count()


async def _end_sessions(user_id: int) -> None:
    """Every session of this person ends at its next request, and their API tokens
    stop working (password change or reset, role change, disabling)."""
    await User.update({User.session_version: User.session_version + 1}).where(User.id == user_id)
    await ApiToken.update({ApiToken.revoked_at: now()}).where(
        (ApiToken.user == user_id) & ApiToken.revoked_at.is_null()
    )


# --- Passwords ---------------------------------------------------------------------


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
        raw = await _issue_token(user["id"], TokenPurpose.reset_password)
        await enqueue_email(
            to=normalise_email(email),
            template="reset_password",
            language=user["language"],
            context={"url": link(base_url, "/mot-de-passe/nouveau", raw)},
        )
        await _record("accounts.password_reset_requested", actor, user_id=user["id"])


async def reset_password(raw_token: str, new_password: str, *, actor: Actor) -> int:
    """Set a new password from a reset link; ends every session of the person."""
    async with write_transaction():
        row = await _valid_token(raw_token, TokenPurpose.reset_password, lock=True)
        email = await User.select(User.email).where(User.id == row["user"]).first()
        check_password_rules(new_password, email=email["email"] if email else "")
        user_id = await _consume_token(raw_token, TokenPurpose.reset_password)
        # The link came by e-mail: the address is proven.
        await User.update(
            {User.password_hash: hash_password(new_password), User.email_verified_at: now()}
        ).where(User.id == user_id)
        await _end_sessions(user_id)
        await _record("accounts.password_reset", actor, user_id=user_id)
    return user_id


async def change_password(user_id: int, current: str, new_password: str, *, actor: Actor) -> None:
    """Change one's password; every other session of the person ends."""
    async with write_transaction():
        row = await User.select(User.email, User.password_hash).where(User.id == user_id).first()
        if row is None or not verify_password(row["password_hash"], current):
            raise AccountError("password_wrong")
        check_password_rules(new_password, email=row["email"])
        await User.update({User.password_hash: hash_password(new_password)}).where(
            User.id == user_id
        )
        await _end_sessions(user_id)
        await _record("accounts.password_changed", actor, user_id=user_id)


async def check_password(user_id: int, password: str) -> bool:
    row = await User.select(User.password_hash).where(User.id == user_id).first()
    return await password_matches(row["password_hash"] if row else None, password)


# --- Staff: invitations, roles, disabling --------------------------------------------


async def invite_staff(
    *, email: str, full_name: str, roles: Iterable[str], language: str, base_url: str, actor: Actor
) -> int:
    """Invite a staff member: a new account gets a 7-day link to set a password; an
    existing, confirmed account gets the roles at once and is told by e-mail. An
    unconfirmed account is refused: whoever created it may not own the address."""
    email = normalise_email(email)
    role_values = sorted({StaffRole(r).value for r in roles})
    if not role_values:
        raise AccountError("roles_required")
    async with write_transaction():
        existing = (
            await User.select(User.id, User.language, User.email_verified_at, User.password_hash)
            .where(User.email == email)
            .first()
        )
        if existing:
            if existing["email_verified_at"] is None and existing["password_hash"] is not None:
                raise AccountError("email_unconfirmed")
            user_id = existing["id"]
            for role in role_values:
                await _grant(user_id, role, actor)
            await enqueue_email(
                to=email,
                template="roles_granted",
                language=existing["language"],
                context={"roles": role_values, "url": f"{base_url}/connexion"},
            )
            return user_id
        rows = await User.insert(
            User(email=email, full_name=full_name.strip(), password_hash=None, language=language)
        ).returning(User.id)
        user_id = rows[0]["id"]
        for role in role_values:
            await RoleGrant.insert(RoleGrant(user=user_id, role=role))
        raw = await _issue_token(user_id, TokenPurpose.staff_invitation)
        await enqueue_email(
            to=email,
            template="staff_invitation",
            language=language,
            context={
                "name": full_name.strip(),
                "url": link(base_url, "/invitation", raw),
                "roles": role_values,
            },
        )
        await _record("accounts.staff_invited", actor, user_id=user_id, roles=role_values)
    return user_id


async def accept_staff_invitation(raw_token: str, password: str, *, actor: Actor) -> int:
    async with write_transaction():
        row = await _valid_token(raw_token, TokenPurpose.staff_invitation, lock=True)
        user = await User.select(User.email).where(User.id == row["user"]).first()
        check_password_rules(password, email=user["email"] if user else "")
        user_id = await _consume_token(raw_token, TokenPurpose.staff_invitation)
        await User.update(
            {User.password_hash: hash_password(password), User.email_verified_at: now()}
        ).where(User.id == user_id)
        await _record("accounts.invitation_accepted", Actor(user_id, actor.ip), user_id=user_id)
    return user_id


async def _grant(user_id: int, role: str, actor: Actor) -> None:
    if await RoleGrant.exists().where((RoleGrant.user == user_id) & (RoleGrant.role == role)):
        return
    await RoleGrant.insert(RoleGrant(user=user_id, role=role))
    await _end_sessions(user_id)
    await _record("accounts.role_granted", actor, user_id=user_id, role=role)


async def grant_role(user_id: int, role: str, *, actor: Actor) -> None:
    """Give a staff role; the person's sessions end (a privilege change)."""
    role = StaffRole(role).value
    async with write_transaction():
        if not await User.exists().where(User.id == user_id):
            raise AccountError("user_not_found")
        await _grant(user_id, role, actor)


async def revoke_role(user_id: int, role: str, *, actor: Actor) -> None:
    """Take a staff role back; an admin cannot remove the last admin."""
    role = StaffRole(role).value
    async with write_transaction():
        if role == StaffRole.admin and await _is_last_active_admin(user_id):
            raise AccountError("last_admin")
        deleted = (
            await RoleGrant.delete()
            .where((RoleGrant.user == user_id) & (RoleGrant.role == role))
            .returning(RoleGrant.id)
        )
        if deleted:
            await _end_sessions(user_id)
            await _record("accounts.role_revoked", actor, user_id=user_id, role=role)


async def _is_last_active_admin(user_id: int) -> bool:
    admins = await RoleGrant.select(RoleGrant.user).where(
        (RoleGrant.role == StaffRole.admin.value) & (RoleGrant.user.is_active.eq(True))
    )
    ids = {a["user"] for a in admins}
    return ids == {user_id}


async def email_audit_checkpoint(checkpoint: Checkpoint) -> int:
    """E-mail the audit trail's signed head to every active administrator, to keep out
    of reach of whoever can write to the database (``guichet audit checkpoint
    --email``, never on a timer). Returns how many messages went to the outbox."""
    admins = RoleGrant.select(RoleGrant.user).where(RoleGrant.role == StaffRole.admin.value)
    rows = await User.select(User.email, User.language).where(
        User.id.is_in(admins), User.is_active.eq(True)
    )
    context = {
        "at": checkpoint.at,
        "entries": checkpoint.entries,
        "last_id": checkpoint.last_id,
        "line": checkpoint.line,
    }
    async with write_transaction():
        for row in rows:
            await enqueue_email(
                to=row["email"],
                template="audit_checkpoint",
                language=row["language"],
                context=context,
            )
    return len(rows)


async def set_active(user_id: int, active: bool, *, actor: Actor) -> None:
    """Disable (or re-enable) an account; disabling ends its sessions at once."""
    async with write_transaction():
        if not active and await _is_last_active_admin(user_id):
            raise AccountError("last_admin")
        if not await User.exists().where(User.id == user_id):
            raise AccountError("user_not_found")
        await User.update({User.is_active: active}).where(User.id == user_id)
        await _end_sessions(user_id)
        await _record("accounts.enabled" if active else "accounts.disabled", actor, user_id=user_id)


async def list_users(
    *, role: str | None = None, q: str = "", limit: int = 50, offset: int = 0
) -> tuple[list[dict], int]:
    """People for the admin list, with their roles (two queries whatever the count)."""
    query = User.select(User.id, User.email, User.full_name, User.is_active, User.last_login_at)
    count = User.count()
    conditions = []
    if role:
        ids = RoleGrant.select(RoleGrant.user).where(RoleGrant.role == StaffRole(role).value)
        conditions.append(User.id.is_in(ids))
    if q:
        conditions.append(User.email.ilike(f"%{q}%") | User.full_name.ilike(f"%{q}%"))
    for condition in conditions:
        query = query.where(condition)
        count = count.where(condition)
    rows = await query.order_by(User.email).limit(limit).offset(offset)
    ids = [r["id"] for r in rows]
    grants = (
        await RoleGrant.select(RoleGrant.user, RoleGrant.role).where(RoleGrant.user.is_in(ids))
        if ids
        else []
    )
    by_user: dict[int, list[str]] = {}
    for grant in grants:
        by_user.setdefault(grant["user"], []).append(grant["role"])
    for row in rows:
        row["roles"] = sorted(by_user.get(row["id"], []))
    return rows, await count


async def get_user(user_id: int) -> dict | None:
    row = (
        await User.select(
            User.id,
            User.email,
            User.full_name,
            User.is_active,
            User.last_login_at,
            User.created_at,
            User.email_verified_at,
            User.totp_enabled_at,
            User.language,
        )
        .where(User.id == user_id)
        .first()
    )
    if row:
        grants = await RoleGrant.select(RoleGrant.role).where(RoleGrant.user == user_id)
        row["roles"] = sorted(g["role"] for g in grants)
    return row


# --- Profile -----------------------------------------------------------------------


async def update_profile(user_id: int, *, full_name: str, language: str, actor: Actor) -> None:
    async with write_transaction():
        await User.update({User.full_name: full_name.strip(), User.language: language}).where(
            User.id == user_id
        )
        await _record("accounts.profile_updated", actor, user_id=user_id)


# --- Two-factor (TOTP) ------------------------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def totp_step(secret: str, code: str, at: datetime | None = None) -> int | None:
    """The time step (now, or one either side for clock drift) whose code this is."""
    code = "".join(code.split())
    if not is_digits(code, 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(at or now())
    for step in (current, current - 1, current + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


async def enable_totp(user_id: int, secret: str, code: str, *, actor: Actor) -> list[str]:
    """Turn two-factor on once the person proves their app has the secret; return
    recovery codes, shown once (only their hashes are kept)."""
    step = totp_step(secret, code)
    if step is None:
        raise AccountError("totp_wrong")
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODE_COUNT)]
    async with write_transaction():
        await User.update(
            {User.totp_secret: secret, User.totp_enabled_at: now(), User.totp_last_step: step}
        ).where(User.id == user_id)
        await RecoveryCode.delete().where(RecoveryCode.user == user_id)
        for c in codes:
            await RecoveryCode.insert(RecoveryCode(user=user_id, code_hash=_token_hash(c)))
        await _end_sessions(user_id)
        await _record("accounts.totp_enabled", actor, user_id=user_id)
    return codes


async def disable_totp(user_id: int, *, actor: Actor) -> None:
    async with write_transaction():
        await User.update({User.totp_secret: None, User.totp_enabled_at: None}).where(
            User.id == user_id
        )
        await RecoveryCode.delete().where(RecoveryCode.user == user_id)
        await _end_sessions(user_id)
        await _record("accounts.totp_disabled", actor, user_id=user_id)


async def verify_second_factor(user_id: int, code: str, *, actor: Actor) -> bool:
    """A TOTP code, or an unused recovery code (then used up)."""
    async with write_transaction():
        row = await for_update(
            User.select(User.totp_secret, User.totp_last_step).where(User.id == user_id)
        ).first()
        step = totp_step(row["totp_secret"], code) if row and row["totp_secret"] else None
        if step is not None and step > row["totp_last_step"]:
            await User.update({User.totp_last_step: step}).where(User.id == user_id)
            return True
        candidate = _token_hash(code.strip().lower())
        recovery = await for_update(
            RecoveryCode.select(RecoveryCode.id).where(
                (RecoveryCode.user == user_id)
                & (RecoveryCode.code_hash == candidate)
                & RecoveryCode.used_at.is_null()
            )
        ).first()
        if recovery:
            await RecoveryCode.update({RecoveryCode.used_at: now()}).where(
                RecoveryCode.id == recovery["id"]
            )
            await _record("accounts.recovery_code_used", actor, user_id=user_id)
            return True
        await _record("accounts.second_factor_failed", actor, user_id=user_id)
        return False


async def remaining_recovery_codes(user_id: int) -> int:
    return await RecoveryCode.count().where(
        (RecoveryCode.user == user_id) & RecoveryCode.used_at.is_null()
    )


# --- Site settings ---------------------------------------------------------------------


async def get_setting(key: str, default: Any = None) -> Any:
    row = await SiteSetting.select(SiteSetting.value).where(SiteSetting.key == key).first()
    if row is None:
        return default
    return json.loads(row["value"]) if isinstance(row["value"], str) else row["value"]


async def set_setting(key: str, value: Any, *, actor: Actor) -> None:
    async with write_transaction():
        encoded = json.dumps(value)
        if await SiteSetting.exists().where(SiteSetting.key == key):
            await SiteSetting.update(
                {
                    SiteSetting.value: encoded,
                    SiteSetting.updated_at: now(),
                    SiteSetting.updated_by: actor.user_id,
                }
            ).where(SiteSetting.key == key)
        else:
            await SiteSetting.insert(SiteSetting(key=key, value=encoded, updated_by=actor.user_id))
        await audit.record(
            "accounts.setting_changed",
            actor_id=actor.user_id,
            ip=actor.ip,
            object_type="setting",
            object_id=key,
            summary={"value": value},
        )


async def totp_required(user: CurrentUser, *, staff_mfa_required: bool) -> bool:
    """Staff need two-factor: every staff role when the server requires it
    (``STAFF_MFA=required``, the default in production), finance and admin staff also
    when the admin setting says so. Applicants choose."""
    if not is_staff(user):
        return False
    if staff_mfa_required:
        return True
    if not totp_required_by_the_admin_setting(user):
        return False
    return bool(await get_setting(SETTING_MANDATORY_TOTP, False))


async def must_enrol_totp(user: CurrentUser, *, staff_mfa_required: bool) -> bool:
    """Staff who need two-factor and have not set it up do that before anything else."""
    if user.totp_enabled:
        return False
    return await totp_required(user, staff_mfa_required=staff_mfa_required)


# --- Personal data (GDPR) -----------------------------------------------------------------


async def export_personal_data(user_id: int) -> dict:
    """Everything Guichet holds about a person, as plain data (no secrets)."""
    user = await get_user(user_id)
    if user is None:
        raise AccountError("user_not_found")
    trail = await audit.search(actor_id=user_id, limit=10_000)
    return {
        "account": {
            "email": user["email"],
            "full_name": user["full_name"],
            "language": user["language"],
            "created_at": user["created_at"],
            "email_verified_at": user["email_verified_at"],
            "last_login_at": user["last_login_at"],
            "two_factor_enabled": user["totp_enabled_at"] is not None,
            "staff_roles": user["roles"],
        },
        "activity": [
            {"time": e["created_at"], "action": e["action"], "ip": e["ip"]} for e in trail[0]
        ],
    }


RetentionCheck = Callable[[int], Awaitable[bool]]
_retention_checks: list[RetentionCheck] = []


def keep_records_when(check: RetentionCheck) -> RetentionCheck:
    """Later domains register here what obliges Guichet to keep a person's records
    (membership of an organisation that applied, reviews, payments...)."""
    _retention_checks.append(check)
    return check


async def must_keep_records(user_id: int) -> bool:
    if await RoleGrant.exists().where(RoleGrant.user == user_id):
        return True  # staff acted on public money: accountable
    for check in _retention_checks:
        if await check(user_id):
            return True
    return False


ErasureHook = Callable[[int, str], Awaitable[None]]
_erasure_hooks: list[ErasureHook] = []


def on_erasure(hook: ErasureHook) -> ErasureHook:
    """Later domains register here how to forget a person's address or name in
    their own records when the person is erased."""
    _erasure_hooks.append(hook)
    return hook


ErasureBlocker = Callable[[int], Awaitable[str | None]]
_erasure_blockers: list[ErasureBlocker] = []


def block_erasure_when(check: ErasureBlocker) -> ErasureBlocker:
    """Later domains register what must be settled before a person can be erased
    (an organisation left without an owner...): the check returns an error code."""
    _erasure_blockers.append(check)
    return check


def _pseudonym(user_id: int) -> tuple[str, str]:
    # .invalid is refused at sign-up, and the random part makes it unguessable anyway.
    return (
        f"compte-supprime-{user_id}-{secrets.token_hex(4)}@guichet.invalid",
        f"Compte supprimé n° {user_id}",
    )


async def erase_account(user_id: int, password: str, *, actor: Actor) -> str:
    """Erase a person at their request: the account is deleted when nothing must be
    kept, otherwise pseudonymised (records stay, identity replaced). Returns which."""
    async with write_transaction():
        row = await User.select(User.password_hash).where(User.id == user_id).first()
        if row is None or not verify_password(row["password_hash"], password):
            raise AccountError("password_wrong")
        if await _is_last_active_admin(user_id):
            raise AccountError("last_admin")
        for blocker in _erasure_blockers:
            if code := await blocker(user_id):
                raise AccountError(code)
        keep_records = await must_keep_records(user_id)
        # Who they were disappears from the trail too (the chain stays valid), and
        # from the e-mails and invitations sent to their address.
        await audit.pseudonymise_actor(user_id, by_actor_id=actor.user_id)
        email_row = await User.select(User.email).where(User.id == user_id).first()
        await forget_address(email_row["email"])
        for forget in _erasure_hooks:
            await forget(user_id, email_row["email"])
        if not keep_records:
            await User.delete().where(User.id == user_id)
            return "deleted"
        email, name = _pseudonym(user_id)
        await User.update(
            {
                User.email: email,
                User.full_name: name,
                User.password_hash: None,
                User.is_active: False,
                User.totp_secret: None,
                User.totp_enabled_at: None,
                User.pseudonymised_at: now(),
                User.session_version: User.session_version + 1,
            }
        ).where(User.id == user_id)
        await RoleGrant.delete().where(RoleGrant.user == user_id)
        await AccountToken.delete().where(AccountToken.user == user_id)
        await RecoveryCode.delete().where(RecoveryCode.user == user_id)
        return "pseudonymised"
