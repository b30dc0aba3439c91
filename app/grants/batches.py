"""Payment batches (lots de mandatement): finance selects approved instalments, exports
them for the accounting system (beneficiary, SIRET, IBAN, BIC, amount, instalment,
decision), and once the mandate is issued marks the batch paid.

Rules:
- a batch holds approved instalments only, each with what was left to pay on it, and
  an instalment is in one unpaid batch at most;
- marking paid records one ledger payment per line (``ledger.record_payment``, so the
  ledger's rules and the kept totals hold), all in one write transaction: a line that
  cannot be paid refuses the whole marking, nothing half-written;
- marking is idempotent: each line's payment carries its own idempotency key, a line
  already paid is left as it is, a batch marked paid records nothing more; a line whose
  instalment was paid otherwise in between is skipped and said so;
- each creation, export and marking is audited; the full IBAN goes to the export
  file only, never to the trail or the logs.

The batch's queries live here, in one place (funder scoping will narrow them here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.core.audit import Actor, record_by
from app.core.db import for_update, within, write_transaction
from app.core.domain import DomainError
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.money import to_decimal
from app.grants import ledger
from app.grants.models import Record
from app.grants.states import INSTALMENT
from app.grants.tables import (
    Grant,
    GrantStatus,
    Instalment,
    LedgerEntry,
    PaymentBatch,
    PaymentBatchLine,
)

MAX_LINES = 500  # a batch the accounting system takes in one file
PAYABLE = sorted(INSTALMENT.sources("pay"))


class BatchError(DomainError):
    """A batch refused: its message names the line when one is at fault."""


def not_found() -> BatchError:
    return BatchError("not_found", N_("Not found."))


@dataclass(frozen=True, slots=True)
class Candidate(Record):
    """An approved instalment that may go into a batch."""

    id: int
    grant: int
    position: int
    amount_cents: int
    reference: str | None
    organisation_name: str
    approved_at: datetime | None
    left_cents: int = 0


@dataclass(frozen=True, slots=True)
class BatchSummary(Record):
    id: int
    status: str
    created_at: datetime
    paid_at: datetime | None
    value_date: date | None
    mandate_reference: str
    lines: int = 0
    total_cents: int = 0


@dataclass(frozen=True, slots=True)
class BatchLine(Record):
    id: int
    instalment: int
    grant: int
    position: int
    amount_cents: int
    mandate_reference: str
    outcome: str
    entry: int | None
    reference: str | None
    organisation_name: str
    siret: str


@dataclass(frozen=True, slots=True)
class Batch:
    id: int
    status: str
    created_at: datetime
    exported_at: datetime | None
    mandate_reference: str
    value_date: date | None
    paid_at: datetime | None
    lines: tuple[BatchLine, ...]

    @property
    def total_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)

    @property
    def paid(self) -> bool:
        return self.status == "paid"


@dataclass(frozen=True, slots=True)
class Marked:
    """What marking a batch paid did: lines paid now, lines skipped (already paid
    otherwise), and whether the batch was already marked (nothing recorded)."""

    paid: int
    skipped: tuple[str, ...]
    already: bool


def _line_name(reference: str | None, position: int) -> str:
    return _("%(file)s, instalment %(n)d") % {"file": reference or "—", "n": position}


async def _paid_on(instalment_ids: list[int]) -> dict[int, int]:
    """Payments less reversals on each of these instalments (one grouped query)."""
    paid: dict[int, int] = {}
    rows = await LedgerEntry.select(
        LedgerEntry.instalment, LedgerEntry.kind, LedgerEntry.amount_cents
    ).where(LedgerEntry.instalment.is_in(instalment_ids or [0]))
    for row in rows:
        sign = {"payment": 1, "reversal": -1}.get(row["kind"], 0)
        paid[row["instalment"]] = paid.get(row["instalment"], 0) + sign * row["amount_cents"]
    return paid


def _in_open_batch():
    """The instalments on an unpaid line of a batch."""
    return PaymentBatchLine.select(PaymentBatchLine.instalment).where(
        (PaymentBatchLine.outcome == "") & (PaymentBatchLine.batch.status == "open")
    )


async def candidates(
    limit: int = MAX_LINES, funders: frozenset[int] | None = None
) -> list[Candidate]:
    """Approved instalments of accepted grants of ``funders`` (None: every funder), not
    in an open batch, oldest approval first, with what is left to pay on each (grants
    waiting for their signed agreement are left out: no payment before it)."""
    rows = await within(
        Instalment.select(
            Instalment.id,
            Instalment.grant,
            Instalment.position,
            Instalment.amount_cents,
            Instalment.approved_at,
            Instalment.grant.application.reference.as_alias("reference"),
            Instalment.grant.organisation.name.as_alias("organisation_name"),
            Instalment.grant.agreement_required.as_alias("agreement_required"),
            Instalment.grant.agreement_file.as_alias("agreement_file"),
        )
        .where(
            Instalment.status.is_in(PAYABLE)
            & (Instalment.grant.status == GrantStatus.active)
            & Instalment.id.not_in(_in_open_batch())
        )
        .order_by(Instalment.approved_at)
        .order_by(Instalment.id)
        .limit(limit),
        Instalment.grant.call.funder,
        funders,
    )
    rows = [r for r in rows if not r["agreement_required"] or r["agreement_file"]]
    paid = await _paid_on([r["id"] for r in rows])
    found = [Candidate.of(r, left_cents=r["amount_cents"] - paid.get(r["id"], 0)) for r in rows]
    return [c for c in found if c.left_cents > 0]


async def create_batch(
    instalment_ids: list[int], *, actor: Actor, funders: frozenset[int] | None = None
) -> int:
    """A batch of these approved instalments, each for what is left to pay on it; an
    instalment of a funder outside ``funders`` is « not found »."""
    wanted = sorted(set(instalment_ids))
    if not wanted:
        raise BatchError("empty", N_("Select at least one instalment."))
    if len(wanted) > MAX_LINES:
        raise BatchError(
            "too_many", N_("A batch holds %(max)d instalments at most."), max=MAX_LINES
        )
    async with write_transaction():
        # Locked alone (PostgreSQL refuses FOR UPDATE across the joins below).
        await for_update(Instalment.select(Instalment.id).where(Instalment.id.is_in(wanted)))
        rows = await within(
            Instalment.select(
                Instalment.id,
                Instalment.grant,
                Instalment.position,
                Instalment.amount_cents,
                Instalment.status,
                Instalment.grant.status.as_alias("grant_status"),
                Instalment.grant.application.reference.as_alias("reference"),
            ).where(Instalment.id.is_in(wanted)),
            Instalment.grant.call.funder,
            funders,
        )
        if len(rows) != len(wanted):
            raise not_found()
        taken = {
            r["instalment"]
            for r in await _in_open_batch().where(PaymentBatchLine.instalment.is_in(wanted))
        }
        paid = await _paid_on(wanted)
        for r in rows:
            name = _line_name(r["reference"], r["position"])
            if r["status"] not in PAYABLE or r["grant_status"] != GrantStatus.active:
                raise BatchError(
                    "not_approved", N_("%(line)s is not approved for payment."), line=name
                )
            if r["id"] in taken:
                raise BatchError(
                    "in_batch", N_("%(line)s is already in a batch to pay."), line=name
                )
            if r["amount_cents"] - paid.get(r["id"], 0) <= 0:
                raise BatchError("nothing_left", N_("%(line)s is paid already."), line=name)
        batch_id = (
            await PaymentBatch.insert(PaymentBatch(created_by=actor.user_id)).returning(
                PaymentBatch.id
            )
        )[0]["id"]
        await PaymentBatchLine.insert(
            *[
                PaymentBatchLine(
                    batch=batch_id,
                    instalment=r["id"],
                    grant=r["grant"],
                    amount_cents=r["amount_cents"] - paid.get(r["id"], 0),
                )
                for r in sorted(rows, key=lambda r: r["id"])
            ]
        )
        await record_by(
            actor,
            "grants.batch_created",
            "payment_batch",
            batch_id,
            lines=len(rows),
            amount_cents=sum(r["amount_cents"] - paid.get(r["id"], 0) for r in rows),
        )
    return batch_id


def _outside(funders: frozenset[int]):
    """The batches holding a line of a funder outside ``funders``."""
    return PaymentBatchLine.select(PaymentBatchLine.batch).where(
        PaymentBatchLine.grant.call.funder.not_in(sorted(funders) or [0])
    )


async def batches(limit: int = 50, funders: frozenset[int] | None = None) -> list[BatchSummary]:
    """The latest batches, newest first, with their number of lines and total; only
    those whose every line is of ``funders`` (None: every batch)."""
    query = PaymentBatch.select(
        PaymentBatch.id,
        PaymentBatch.status,
        PaymentBatch.created_at,
        PaymentBatch.paid_at,
        PaymentBatch.value_date,
        PaymentBatch.mandate_reference,
    ).order_by(PaymentBatch.id, ascending=False)
    if funders is not None:
        query = query.where(PaymentBatch.id.not_in(_outside(funders)))
    rows = await query.limit(limit)
    sums: dict[int, list[int]] = {}
    for line in await PaymentBatchLine.select(
        PaymentBatchLine.batch, PaymentBatchLine.amount_cents
    ).where(PaymentBatchLine.batch.is_in([r["id"] for r in rows] or [0])):
        total = sums.setdefault(line["batch"], [0, 0])
        total[0] += 1
        total[1] += line["amount_cents"]
    return [
        BatchSummary.of(
            r, lines=sums.get(r["id"], [0, 0])[0], total_cents=sums.get(r["id"], [0, 0])[1]
        )
        for r in rows
    ]


async def batch(batch_id: int, funders: frozenset[int] | None = None) -> Batch | None:
    """A batch with its lines (file, organisation, SIRET), in instalment order; None
    when it holds a line of a funder outside ``funders``."""
    query = PaymentBatch.select().where(PaymentBatch.id == batch_id)
    if funders is not None:
        query = query.where(PaymentBatch.id.not_in(_outside(funders)))
    row = await query.first()
    if row is None:
        return None
    lines = (
        await PaymentBatchLine.select(
            PaymentBatchLine.id,
            PaymentBatchLine.instalment,
            PaymentBatchLine.grant,
            PaymentBatchLine.instalment.position.as_alias("position"),
            PaymentBatchLine.amount_cents,
            PaymentBatchLine.mandate_reference,
            PaymentBatchLine.outcome,
            PaymentBatchLine.entry,
            PaymentBatchLine.grant.application.reference.as_alias("reference"),
            PaymentBatchLine.grant.organisation.name.as_alias("organisation_name"),
            PaymentBatchLine.grant.organisation.siret.as_alias("siret"),
        )
        .where(PaymentBatchLine.batch == batch_id)
        .order_by(PaymentBatchLine.id)
    )
    return Batch(
        id=row["id"],
        status=row["status"],
        created_at=row["created_at"],
        exported_at=row["exported_at"],
        mandate_reference=row["mandate_reference"],
        value_date=row["value_date"],
        paid_at=row["paid_at"],
        lines=tuple(BatchLine.of(r) for r in lines),
    )


async def _decisions(batch_id: int) -> dict[int, tuple[str, date | None]]:
    """Each file's deliberation reference and date, by application. Grants come before
    decisions in the domains' order (decisions create grants): the decision is read by
    its table's name, not imported."""
    rows = await Grant.raw(
        "SELECT g.application, d.deliberation_reference, d.deliberation_date "
        'FROM payment_batch_line l JOIN "grant" g ON g.id = l."grant" '
        "JOIN decision d ON d.application = g.application WHERE l.batch = {}",
        batch_id,
    )
    return {
        r["application"]: (r["deliberation_reference"], _as_date(r["deliberation_date"]))
        for r in rows
    }


def _as_date(value) -> date | None:
    # A raw query on SQLite gives the ISO text of a DATE column.
    if isinstance(value, str):
        return date.fromisoformat(value) if value else None
    return value


async def export_rows(batch_id: int, *, actor: Actor) -> tuple[list[str], list[list]]:
    """The batch for the accounting system, one line per instalment: beneficiary,
    SIRET, IBAN, BIC, amount, instalment, decision. Each export is audited (the batch
    and its lines, never the bank details)."""
    found = await batch(batch_id)
    if found is None:
        raise not_found()
    rows = await PaymentBatchLine.select(
        PaymentBatchLine.id,
        PaymentBatchLine.grant.application.as_alias("application"),
        PaymentBatchLine.grant.organisation.iban.as_alias("iban"),
        PaymentBatchLine.grant.organisation.bic.as_alias("bic"),
    ).where(PaymentBatchLine.batch == batch_id)
    bank = {r["id"]: r for r in rows}
    decisions = await _decisions(batch_id)
    header = [
        _("Batch no."), _("Line no."), _("Beneficiary"), _("SIRET"), _("IBAN"), _("BIC"),
        _("Amount (€)"), _("Instalment"), _("File number"), _("Decision reference"),
        _("Decision date"), _("Mandate number"), _("Status"),
    ]  # fmt: skip
    out = []
    for line in found.lines:
        application = bank[line.id]["application"]
        reference, day = decisions.get(application, ("", None))
        out.append(
            [
                found.id, line.id, line.organisation_name, line.siret, bank[line.id]["iban"],
                bank[line.id]["bic"], to_decimal(line.amount_cents), line.position,
                line.reference, reference, day,
                line.mandate_reference or found.mandate_reference,
                _(LINE_LABELS[line.outcome]),
            ]
        )  # fmt: skip
    async with write_transaction():
        await PaymentBatch.update({PaymentBatch.exported_at: ledger.now()}).where(
            PaymentBatch.id == batch_id
        )
        await record_by(
            actor,
            "grants.batch_exported",
            "payment_batch",
            batch_id,
            lines=len(out),
            amount_cents=found.total_cents,
        )
    return header, out


LINE_LABELS = {"": N_("to pay"), "paid": N_("paid"), "skipped": N_("skipped: paid otherwise")}


async def mark_paid(
    batch_id: int,
    *,
    value_date: date,
    mandate_reference: str,
    line_mandates: dict[int, str],
    actor: Actor,
) -> Marked:
    """The mandate is issued: each line's payment into the ledger (its own mandate
    number, else the batch's). Idempotent; a line paid otherwise meanwhile is skipped;
    any other refusal refuses the whole marking."""
    mandate_reference = mandate_reference.strip()
    mandates = {k: v.strip() for k, v in line_mandates.items() if v.strip()}
    async with write_transaction():
        rows = await for_update(PaymentBatch.select().where(PaymentBatch.id == batch_id))
        if not rows:
            raise not_found()
        if rows[0]["status"] == "paid":
            return Marked(paid=0, skipped=(), already=True)
        found = await batch(batch_id)
        if found is None:  # locked above: only a concurrent delete, which nothing does
            raise not_found()
        for line in found.lines:
            mandate = mandates.get(line.id) or mandate_reference
            try:
                ledger.check_reference(mandate)
            except ledger.LedgerError:
                raise BatchError(
                    "mandate",
                    N_("Enter the mandate number of the batch, or of each line (%(line)s)."),
                    line=_line_name(line.reference, line.position),
                ) from None
        statuses = {
            r["id"]: r["status"]
            for r in await Instalment.select(Instalment.id, Instalment.status).where(
                Instalment.id.is_in([line.instalment for line in found.lines] or [0])
            )
        }
        paid = skipped = paid_cents = 0
        names = []
        for line in found.lines:
            if line.outcome:
                continue
            name = _line_name(line.reference, line.position)
            mandate = mandates.get(line.id) or mandate_reference
            if statuses.get(line.instalment) == "paid":
                await PaymentBatchLine.update({PaymentBatchLine.outcome: "skipped"}).where(
                    PaymentBatchLine.id == line.id
                )
                skipped += 1
                names.append(name)
                continue
            try:
                entry = await ledger.record_payment(
                    line.grant,
                    line.instalment,
                    amount_cents=line.amount_cents,
                    value_date=value_date,
                    reference=mandate,
                    bank_reference=_("Batch %(n)d") % {"n": batch_id},
                    idempotency_key=f"batch-{batch_id}-line-{line.id}",
                    actor=actor,
                )
            except ledger.LedgerError as exc:
                raise BatchError(
                    "line_refused", N_("%(line)s: %(reason)s"), line=name, reason=exc.text()
                ) from None
            await PaymentBatchLine.update(
                {
                    PaymentBatchLine.outcome: "paid",
                    PaymentBatchLine.entry: entry["id"],
                    PaymentBatchLine.mandate_reference: mandate,
                }
            ).where(PaymentBatchLine.id == line.id)
            paid += 1
            paid_cents += line.amount_cents
        await PaymentBatch.update(
            {
                PaymentBatch.status: "paid",
                PaymentBatch.mandate_reference: mandate_reference[:60],
                PaymentBatch.value_date: value_date,
                PaymentBatch.paid_at: ledger.now(),
                PaymentBatch.paid_by: actor.user_id,
            }
        ).where(PaymentBatch.id == batch_id)
        await record_by(
            actor,
            "grants.batch_paid",
            "payment_batch",
            batch_id,
            paid=paid,
            skipped=skipped,
            amount_cents=paid_cents,
            reference=mandate_reference[:60],
        )
    return Marked(paid=paid, skipped=tuple(names), already=False)
