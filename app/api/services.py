"""The read-only JSON API's rules: personal API tokens (shown once, stored as their
SHA-256, revocable, read-only) and the paginated reads it serves. No HTTP here."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from app.accounts.services import Actor, CurrentUser, load_current_user, must_enrol_totp
from app.accounts.tables import ApiToken
from app.calls.tables import Call
from app.core import audit
from app.core.db import within, write_transaction
from app.core.domain import DomainError
from app.core.i18n import gettext_noop as N_
from app.grants.tables import Grant, Instalment, LedgerEntry
from app.permissions import can_use_api

PREFIX = "gch_"
MAX_TOKENS = 10
TOUCH_EVERY = timedelta(minutes=1)
MAX_PER_PAGE = 200


class TokenError(DomainError):
    """A token refused; the message is written at the raise, on the token's name."""


def now() -> datetime:
    return datetime.now(UTC)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def tokens_of(user_id: int) -> list[dict]:
    return (
        await ApiToken.select(
            ApiToken.id,
            ApiToken.name,
            ApiToken.prefix,
            ApiToken.created_at,
            ApiToken.last_used_at,
            ApiToken.revoked_at,
        )
        .where(ApiToken.user == user_id)
        .order_by(ApiToken.id, ascending=False)
    )


async def create_token(user: CurrentUser, name: str, *, actor: Actor) -> str:
    """A new read-only token for staff (officers, finance, admins); the only time the
    token itself exists outside the holder's hands is this return value."""
    name = name.strip()
    if not can_use_api(user):
        raise TokenError("not_staff", N_("API tokens are for staff."), "name")
    if not name or len(name) > 100:
        raise TokenError(
            "name",
            N_("Name the token (100 characters at most), e.g. « Export comptable »."),
            "name",
        )
    async with write_transaction():
        active = await ApiToken.count().where(
            (ApiToken.user == user.id) & ApiToken.revoked_at.is_null()
        )
        if active >= MAX_TOKENS:
            raise TokenError("too_many", N_("You have 10 active tokens: revoke one first."), "name")
        token = PREFIX + secrets.token_urlsafe(32)
        await ApiToken.insert(
            ApiToken(user=user.id, name=name, prefix=token[:12], token_hash=digest(token))
        )
        await audit.record_by(
            actor, "api.token_created", "user", user.id, name=name, prefix=token[:12]
        )
    return token


async def revoke_token(user_id: int, token_id: int, *, actor: Actor) -> bool:
    async with write_transaction():
        rows = (
            await ApiToken.update({ApiToken.revoked_at: now()})
            .where(
                (ApiToken.id == token_id)
                & (ApiToken.user == user_id)
                & ApiToken.revoked_at.is_null()
            )
            .returning(ApiToken.prefix)
        )
        if rows:
            await audit.record_by(
                actor, "api.token_revoked", "user", user_id, prefix=rows[0]["prefix"]
            )
    return bool(rows)


async def user_for_token(token: str, *, staff_mfa_required: bool) -> CurrentUser | None:
    """The active staff member holding this unrevoked token, or None (also while they
    must set up two-factor: ``staff_mfa_required`` is the server's STAFF_MFA)."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    row = (
        await ApiToken.select(ApiToken.id, ApiToken.user, ApiToken.last_used_at)
        .where((ApiToken.token_hash == digest(token)) & ApiToken.revoked_at.is_null())
        .first()
    )
    if row is None:
        return None
    user = await load_current_user(row["user"])
    # Staff who must set up two-factor first cannot go round it with a token.
    if (
        user is None
        or not can_use_api(user)
        or await must_enrol_totp(user, staff_mfa_required=staff_mfa_required)
    ):
        return None
    at = now()
    if row["last_used_at"] is None or at - row["last_used_at"] > TOUCH_EVERY:
        async with write_transaction():
            await ApiToken.update({ApiToken.last_used_at: at}).where(ApiToken.id == row["id"])
    return user


# --- Reads --------------------------------------------------------------------------------------


MAX_PAGE = 1_000_000
MAX_ID = 2**31 - 1


def page_bounds(page: int, per_page: int) -> tuple[int, int]:
    page = min(max(page, 1), MAX_PAGE)
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    return page, per_page


CALL_COLUMNS = (
    Call.id,
    Call.title,
    Call.reference_prefix,
    Call.status,
    Call.envelope_cents,
    Call.min_award_cents,
    Call.max_award_cents,
    Call.opens_at,
    Call.closes_at,
    Call.funder.name.as_alias("funder"),
)


async def calls(
    page: int, per_page: int, *, funders: frozenset[int] | None = None
) -> tuple[list[dict], int]:
    """Published, closed and archived calls (drafts are nobody's business), of
    ``funders`` (None: every funder)."""
    total = await within(Call.count(), Call.funder, funders).where(Call.status != "draft")
    rows = (
        await within(Call.select(*CALL_COLUMNS), Call.funder, funders)
        .where(Call.status != "draft")
        .order_by(Call.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return rows, total


def _out_of_range(*ids: int | None) -> bool:
    """Ids beyond what the databases store name nothing (and must not reach SQL)."""
    return any(i is not None and not 0 <= i <= MAX_ID for i in ids)


async def call(call_id: int, *, funders: frozenset[int] | None = None) -> dict | None:
    if _out_of_range(call_id):
        return None
    return (
        await within(Call.select(*CALL_COLUMNS), Call.funder, funders)
        .where((Call.id == call_id) & (Call.status != "draft"))
        .first()
    )


GRANT_COLUMNS = (
    Grant.id,
    Grant.call,
    Grant.application.reference.as_alias("file_reference"),
    Grant.organisation.name.as_alias("organisation"),
    Grant.organisation.siret.as_alias("siret"),
    Grant.status,
    Grant.amount_cents,
    Grant.reduction_cents,
    Grant.accepted_at,
)


async def grants(
    call_id: int | None, page: int, per_page: int, *, funders: frozenset[int] | None = None
) -> tuple[list[dict], int]:
    if _out_of_range(call_id):
        return [], 0
    condition = Grant.call == call_id if call_id else Grant.id > 0
    total = await within(Grant.count(), Grant.call.funder, funders).where(condition)
    rows = (
        await within(Grant.select(*GRANT_COLUMNS), Grant.call.funder, funders)
        .where(condition)
        .order_by(Grant.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return rows, total


async def grant(grant_id: int, *, funders: frozenset[int] | None = None) -> dict | None:
    if _out_of_range(grant_id):
        return None
    query = within(Grant.select(*GRANT_COLUMNS), Grant.call.funder, funders)
    return await query.where(Grant.id == grant_id).first()


async def instalments(grant_id: int) -> list[dict]:
    return (
        await Instalment.select(
            Instalment.id,
            Instalment.grant,
            Instalment.position,
            Instalment.amount_cents,
            Instalment.trigger,
            Instalment.due_on,
            Instalment.status,
        )
        .where(Instalment.grant == grant_id)
        .order_by(Instalment.position)
    )


async def payments(
    grant_id: int | None, page: int, per_page: int, *, funders: frozenset[int] | None = None
) -> tuple[list[dict], int]:
    if _out_of_range(grant_id):
        return [], 0
    condition = LedgerEntry.grant == grant_id if grant_id else LedgerEntry.id > 0
    funder = LedgerEntry.grant.call.funder
    total = await within(LedgerEntry.count(), funder, funders).where(condition)
    rows = (
        await within(
            LedgerEntry.select(
                LedgerEntry.id,
                LedgerEntry.grant,
                LedgerEntry.instalment,
                LedgerEntry.kind,
                LedgerEntry.amount_cents,
                LedgerEntry.value_date,
                LedgerEntry.reference,
                LedgerEntry.reverses,
            ),
            funder,
            funders,
        )
        .where(condition)
        .order_by(LedgerEntry.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return rows, total
