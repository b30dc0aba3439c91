"""Personal data (GDPR): what Guichet holds about a person, and erasure at their
request — the account deleted when nothing must be kept, else pseudonymised."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from app.accounts.credentials import now
from app.accounts.passwords import still_the_password, wrong_password
from app.accounts.services import get_user, keep_an_admin, user_not_found
from app.accounts.tables import AccountToken, RecoveryCode, RoleGrant, User
from app.core import audit
from app.core.audit import Actor
from app.core.db import write_transaction
from app.core.outbox import forget_address
from app.core.security import password_matches


async def export_personal_data(user_id: int) -> dict:
    """Everything Guichet holds about a person, as plain data (no secrets)."""
    user = await get_user(user_id)
    if user is None:
        raise user_not_found()
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


ErasureBlocker = Callable[[int], Awaitable[None]]
_erasure_blockers: list[ErasureBlocker] = []


def block_erasure_when(check: ErasureBlocker) -> ErasureBlocker:
    """Later domains register what must be settled before a person can be erased
    (an organisation left without an owner...): the check raises an ``AccountError``
    with its message when erasure must wait."""
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
    row = await User.select(User.password_hash).where(User.id == user_id).first()
    if row is None or not await password_matches(row["password_hash"], password):
        raise wrong_password("password")
    async with write_transaction():
        await still_the_password(user_id, row["password_hash"], field="password")
        await keep_an_admin(user_id)
        for blocker in _erasure_blockers:
            await blocker(user_id)
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
