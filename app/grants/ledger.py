"""The ledger of a grant: payments, reversals and recoveries, append-only.

Rules, all checked inside one write transaction with the grant's row locked
(``BEGIN IMMEDIATE`` on SQLite, ``FOR UPDATE`` on PostgreSQL):

- a payment goes against an instalment approved for payment, for at most what is
  left of it and of the grant (payments - reversals - recoveries <= amount due);
- an idempotency key records one entry: the same request again returns the first
  entry, the same key with another amount is refused;
- a mistaken payment is cancelled by a reversal entry, never edited or deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from app.core.audit import Actor
from app.core.db import for_update, write_transaction
from app.core.domain import DomainError
from app.core.i18n import gettext_noop as N_
from app.core.money import format_amount
from app.grants.models import EntryRecord
from app.grants.services import audit_change
from app.grants.states import INSTALMENT, RECOVERY
from app.grants.tables import Grant, GrantStatus, Instalment, LedgerEntry, LedgerKind, Recovery
from app.grants.totals import follow as follow_totals


class LedgerError(DomainError):
    """A payment, reversal or recovery refused; ``field``: the payment form's field it
    is about (the amount when none is named)."""


def not_found(field: str | None = None) -> LedgerError:
    return LedgerError("not_found", N_("Not found."), field)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Balance:
    amount_cents: int  # awarded
    reduction_cents: int
    paid_cents: int  # payments - reversals
    recovered_cents: int

    @property
    def due_cents(self) -> int:
        """What the grantee is owed in all: the award less any reduction."""
        return self.amount_cents - self.reduction_cents

    @property
    def net_paid_cents(self) -> int:
        return self.paid_cents - self.recovered_cents

    @property
    def remaining_cents(self) -> int:
        """Still to pay (negative: paid too much, a recovery is owed)."""
        return self.due_cents - self.net_paid_cents


def totals(entries: Iterable[tuple[str, int]]) -> tuple[int, int]:
    """(payments - reversals, recoveries) of ledger amounts as (kind, cents) pairs."""
    paid = recovered = 0
    for kind, cents in entries:
        if kind == LedgerKind.payment:
            paid += cents
        elif kind == LedgerKind.reversal:
            paid -= cents
        elif kind == LedgerKind.recovery:
            recovered += cents
    return paid, recovered


def _pairs(rows: list[dict]) -> list[tuple[str, int]]:
    return [(r["kind"], r["amount_cents"]) for r in rows]


async def balance(grant_id: int) -> Balance:
    grant = (
        await Grant.select(Grant.amount_cents, Grant.reduction_cents)
        .where(Grant.id == grant_id)
        .first()
    )
    entries = await LedgerEntry.select(LedgerEntry.kind, LedgerEntry.amount_cents).where(
        LedgerEntry.grant == grant_id
    )
    paid, recovered = totals(_pairs(entries))
    return Balance(grant["amount_cents"], grant["reduction_cents"], paid, recovered)


def not_approved() -> LedgerError:
    return LedgerError(
        "not_approved", N_("This instalment is not approved for payment."), "instalment"
    )


def check_reference(reference: str, *, recovery: bool = False) -> None:
    """A payment's mandate number, or a recovery order's reference: 60 characters."""
    if reference.strip() and len(reference) <= 60:
        return
    if recovery:
        raise LedgerError(
            "recovery_reference",
            N_("Enter the recovery order's reference (titre de recette)."),
            "reference",
        )
    raise LedgerError("reference", N_("Enter the payment reference (mandate number)."), "reference")


def _check_common(amount_cents: int, reference: str, key: str, *, recovery: bool = False) -> None:
    if not key or len(key) > 64:
        raise LedgerError("key", N_("This form has expired: open the page again."))
    if amount_cents <= 0:
        raise LedgerError("amount_positive", N_("Enter an amount above zero."), "amount")
    check_reference(reference, recovery=recovery)


async def _replayed(
    key: str, *, grant_id: int, kind: str, amount_cents: int, instalment_id: int | None = None
) -> dict | None:
    """The entry this key already recorded, if it is the same request; refused if the
    key was used for something else (another grant, kind, instalment or amount)."""
    existing = await LedgerEntry.select().where(LedgerEntry.idempotency_key == key).first()
    if existing is None:
        return None
    same = (existing["grant"], existing["kind"], existing["amount_cents"]) == (
        grant_id,
        kind,
        amount_cents,
    )
    if not same or (instalment_id is not None and existing["instalment"] != instalment_id):
        raise LedgerError(
            "key_reused", N_("This form was already used for another amount: open the page again.")
        )
    return existing


async def _lock_grant(grant_id: int) -> dict:
    rows = await for_update(Grant.select().where(Grant.id == grant_id))
    if not rows:
        raise not_found()
    return rows[0]


async def instalment_paid(instalment_id: int) -> int:
    """Payments less reversals on one instalment."""
    entries = await LedgerEntry.select(LedgerEntry.kind, LedgerEntry.amount_cents).where(
        LedgerEntry.instalment == instalment_id
    )
    return totals(_pairs(entries))[0]


async def record_payment(
    grant_id: int,
    instalment_id: int,
    *,
    amount_cents: int,
    value_date: date,
    reference: str,
    bank_reference: str = "",
    idempotency_key: str,
    actor: Actor,
) -> dict:
    """Record a payment (versement) against an approved instalment. Returns the entry
    (the first one, for a replayed key)."""
    _check_common(amount_cents, reference, idempotency_key)
    if value_date > now().date() + timedelta(days=31):
        raise LedgerError(
            "future_date", N_("The value date is more than a month ahead: check it."), "value_date"
        )
    async with write_transaction():
        grant = await _lock_grant(grant_id)
        replay = await _replayed(
            idempotency_key,
            grant_id=grant_id,
            kind=LedgerKind.payment,
            amount_cents=amount_cents,
            instalment_id=instalment_id,
        )
        if replay is not None:
            return replay
        if grant["status"] != GrantStatus.active:
            raise LedgerError("not_active", N_("The grant is not accepted yet."))
        if grant["agreement_required"] and not grant["agreement_file"]:
            raise LedgerError(
                "agreement_missing",
                N_("The signed agreement (convention) is not received yet: no payment before it."),
            )
        rows = await for_update(
            Instalment.select().where(
                (Instalment.id == instalment_id) & (Instalment.grant == grant_id)
            )
        )
        if not rows:
            raise not_found("instalment")
        instalment = rows[0]
        if instalment["status"] == "cancelled":
            raise LedgerError("cancelled", N_("This instalment is cancelled."), "instalment")
        if instalment["status"] not in INSTALMENT.sources("pay"):
            raise not_approved()
        left_on_instalment = instalment["amount_cents"] - await instalment_paid(instalment_id)
        left = (await balance(grant_id)).remaining_cents
        limit = min(left_on_instalment, left)
        if amount_cents > limit:
            raise LedgerError(
                "above_balance",
                N_("The amount is above what is left to pay (%(limit)s)."),
                "amount",
                limit=format_amount(max(limit, 0)),
            )
        entry = (
            await LedgerEntry.insert(
                LedgerEntry(
                    grant=grant_id,
                    instalment=instalment_id,
                    kind=LedgerKind.payment,
                    amount_cents=amount_cents,
                    value_date=value_date,
                    reference=reference.strip(),
                    bank_reference=bank_reference.strip()[:100],
                    idempotency_key=idempotency_key,
                    created_by=actor.user_id,
                )
            ).returning(*LedgerEntry.all_columns())
        )[0]
        if amount_cents == left_on_instalment:  # covered: the instalment is paid
            paid = INSTALMENT.fire("pay", instalment["status"], "finance")
            await Instalment.update({Instalment.status: paid, Instalment.paid_at: now()}).where(
                Instalment.id == instalment_id
            )
        await follow_totals(grant_id)
        await audit_change(
            "grants.payment_recorded",
            actor,
            grant_id,
            instalment=instalment["position"],
            amount_cents=amount_cents,
            reference=reference.strip(),
        )
        return entry


async def reverse_payment(
    grant_id: int, entry_id: int, *, reason: str, idempotency_key: str, actor: Actor
) -> dict:
    """Cancel a mistaken payment with a reversal entry of the same amount; its
    instalment is approved for payment again."""
    if not reason.strip():
        raise LedgerError("reason", N_("Give the reason."), "reason")
    async with write_transaction():
        await _lock_grant(grant_id)
        payment = (
            await LedgerEntry.select()
            .where((LedgerEntry.id == entry_id) & (LedgerEntry.grant == grant_id))
            .first()
        )
        if payment is None or payment["kind"] != LedgerKind.payment:
            raise not_found()
        replay = await _replayed(
            idempotency_key,
            grant_id=grant_id,
            kind=LedgerKind.reversal,
            amount_cents=payment["amount_cents"],
        )
        if replay is not None:
            return replay
        if await LedgerEntry.exists().where(LedgerEntry.reverses == entry_id):
            raise LedgerError("already_reversed", N_("This payment is already cancelled."))
        entry = (
            await LedgerEntry.insert(
                LedgerEntry(
                    grant=grant_id,
                    instalment=payment["instalment"],
                    kind=LedgerKind.reversal,
                    amount_cents=payment["amount_cents"],
                    value_date=now().date(),
                    reference=f"ANNUL-{payment['reference']}"[:60],
                    bank_reference=reason.strip()[:100],
                    reverses=entry_id,
                    idempotency_key=idempotency_key,
                    created_by=actor.user_id,
                )
            ).returning(*LedgerEntry.all_columns())
        )[0]
        # A paid instalment is approved for payment again (one partly paid stays so).
        paid = await for_update(
            Instalment.select(Instalment.status).where(Instalment.id == payment["instalment"])
        )
        if paid and INSTALMENT.can("reverse_payment", paid[0]["status"], "finance"):
            await Instalment.update(
                {
                    Instalment.status: INSTALMENT.fire(
                        "reverse_payment", paid[0]["status"], "finance"
                    ),
                    Instalment.paid_at: None,
                }
            ).where(Instalment.id == payment["instalment"])
        await follow_totals(grant_id)
        await audit_change(
            "grants.payment_reversed",
            actor,
            grant_id,
            amount_cents=payment["amount_cents"],
            reference=payment["reference"],
            reason=reason.strip()[:200],
        )
        return entry


async def recorded(idempotency_key: str) -> bool:
    """Whether a form with this key was already recorded (a second click)."""
    return bool(idempotency_key) and await LedgerEntry.exists().where(
        LedgerEntry.idempotency_key == idempotency_key
    )


async def recovered_on(recovery_id: int) -> int:
    """What was paid back so far on one recovery."""
    rows = await LedgerEntry.select(LedgerEntry.amount_cents).where(
        (LedgerEntry.recovery == recovery_id) & (LedgerEntry.kind == LedgerKind.recovery)
    )
    return sum(r["amount_cents"] for r in rows)


async def receive_recovery(
    grant_id: int,
    recovery_id: int,
    *,
    value_date: date,
    reference: str,
    idempotency_key: str,
    actor: Actor,
    amount_cents: int | None = None,
) -> dict:
    """The grantee paid back all or part (``amount_cents``; None: all that is left) of
    an open recovery (reversement): a ledger entry of that amount; the recovery is
    closed when what was paid back covers it."""
    async with write_transaction():
        await _lock_grant(grant_id)
        recovery = await for_update(
            Recovery.select().where((Recovery.id == recovery_id) & (Recovery.grant == grant_id))
        )
        if not recovery:
            raise not_found()
        recovery = recovery[0]
        earlier = (
            await LedgerEntry.select()
            .where(
                (LedgerEntry.idempotency_key == idempotency_key)
                & (LedgerEntry.recovery == recovery_id)
            )
            .first()
        )
        if earlier is not None and amount_cents in (None, earlier["amount_cents"]):
            return earlier  # the same form sent again (« all that is left » included)
        left = recovery["amount_cents"] - await recovered_on(recovery_id)
        amount = left if amount_cents is None else amount_cents
        _check_common(amount, reference, idempotency_key, recovery=True)
        replay = await _replayed(
            idempotency_key,
            grant_id=grant_id,
            kind=LedgerKind.recovery,
            amount_cents=amount,
        )
        if replay is not None:
            return replay
        if not RECOVERY.can("receive", recovery["status"], "finance"):
            raise LedgerError("recovery_closed", N_("This recovery is already received."))
        if amount > left:
            raise LedgerError(
                "above_recovery",
                N_("The amount is above what is left to pay back (%(limit)s)."),
                "amount",
                limit=format_amount(left),
            )
        entry = (
            await LedgerEntry.insert(
                LedgerEntry(
                    grant=grant_id,
                    kind=LedgerKind.recovery,
                    amount_cents=amount,
                    value_date=value_date,
                    reference=reference.strip(),
                    recovery=recovery_id,
                    idempotency_key=idempotency_key,
                    created_by=actor.user_id,
                )
            ).returning(*LedgerEntry.all_columns())
        )[0]
        action = "receive" if amount == left else "receive_part"
        values = {Recovery.status: RECOVERY.fire(action, recovery["status"], "finance")}
        if action == "receive":
            values[Recovery.received_at] = now()
        await Recovery.update(values).where(Recovery.id == recovery_id)
        await follow_totals(grant_id)
        await audit_change(
            "grants.recovery_received",
            actor,
            grant_id,
            amount_cents=amount,
            left_cents=left - amount,
            reference=reference.strip(),
        )
        return entry


async def entries(grant_id: int) -> list[EntryRecord]:
    """The grant's ledger, oldest first; a payment not yet cancelled is reversible."""
    rows = (
        await LedgerEntry.select(
            *LedgerEntry.all_columns(),
            LedgerEntry.instalment.position.as_alias("instalment_position"),
        )
        .where(LedgerEntry.grant == grant_id)
        .order_by(LedgerEntry.id)
    )
    reversed_ids = {r["reverses"] for r in rows if r["reverses"]}
    return [
        EntryRecord.of(
            r, reversible=r["kind"] == LedgerKind.payment and r["id"] not in reversed_ids
        )
        for r in rows
    ]
