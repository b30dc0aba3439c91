"""Two-step verification: a TOTP app (RFC 6238) with single-use recovery codes, of
which only hashes are kept. Who must use it: ``services.totp_required``."""

from __future__ import annotations

import secrets
from datetime import datetime

import pyotp

from app.accounts.credentials import AccountError, now, token_hash
from app.accounts.services import audit_account, end_sessions
from app.accounts.tables import RecoveryCode, User
from app.core.audit import Actor
from app.core.db import for_update, write_transaction
from app.core.i18n import gettext_noop as N_
from app.core.numbers import is_digits

RECOVERY_CODE_COUNT = 10
TOTP_ISSUER = "Guichet"


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
        raise AccountError(
            "totp_wrong",
            N_("This code is not correct. Check the time on your phone and type the current code."),
            field="code",
        )
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODE_COUNT)]
    async with write_transaction():
        await User.update(
            {User.totp_secret: secret, User.totp_enabled_at: now(), User.totp_last_step: step}
        ).where(User.id == user_id)
        await RecoveryCode.delete().where(RecoveryCode.user == user_id)
        for c in codes:
            await RecoveryCode.insert(RecoveryCode(user=user_id, code_hash=token_hash(c)))
        await end_sessions(user_id)
        await audit_account("accounts.totp_enabled", actor, user_id=user_id)
    return codes


async def disable_totp(user_id: int, *, actor: Actor) -> None:
    async with write_transaction():
        await User.update({User.totp_secret: None, User.totp_enabled_at: None}).where(
            User.id == user_id
        )
        await RecoveryCode.delete().where(RecoveryCode.user == user_id)
        await end_sessions(user_id)
        await audit_account("accounts.totp_disabled", actor, user_id=user_id)


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
        candidate = token_hash(code.strip().lower())
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
            await audit_account("accounts.recovery_code_used", actor, user_id=user_id)
            return True
        await audit_account("accounts.second_factor_failed", actor, user_id=user_id)
        return False


async def remaining_recovery_codes(user_id: int) -> int:
    return await RecoveryCode.count().where(
        (RecoveryCode.user == user_id) & RecoveryCode.used_at.is_null()
    )
