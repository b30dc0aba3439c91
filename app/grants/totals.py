"""The finance dashboard's sums, kept instead of summed on each request: each grant's
paid (payments - reversals) and recovered (``Grant.paid_cents``, ``recovered_cents``)
and each call's line (``CallTotals``). ``follow`` keeps them, inside the write
transaction that changed a grant's ledger, amount or reduction; ``check`` compares
them with the ledger (``guichet finance check-totals``), ``rebuild`` writes them again
from it (a migration, the benchmark's bulk-loaded ledger, a repair)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from app.core.db import for_update
from app.grants.tables import CallTotals, Grant, LedgerEntry

# A grant's paid and recovered from its ledger (payments - reversals; recoveries), and
# a call's line summed from its grants' kept sums: written out, table names included.
_FOLLOW_GRANT = """
UPDATE "grant" SET
  paid_cents = COALESCE((SELECT SUM(CASE e.kind WHEN 'payment' THEN e.amount_cents
      WHEN 'reversal' THEN -e.amount_cents ELSE 0 END)
    FROM ledger_entry e WHERE e."grant" = "grant".id), 0),
  recovered_cents = COALESCE((SELECT SUM(CASE WHEN e.kind = 'recovery' THEN e.amount_cents
      ELSE 0 END) FROM ledger_entry e WHERE e."grant" = "grant".id), 0)
"""
_CALL_LINE = """
SELECT COUNT(*) AS grants,
  COALESCE(SUM(amount_cents), 0) AS committed,
  COALESCE(SUM(reduction_cents), 0) AS reduced,
  COALESCE(SUM(paid_cents), 0) AS paid,
  COALESCE(SUM(recovered_cents), 0) AS recovered,
  COALESCE(SUM(CASE WHEN amount_cents - reduction_cents - paid_cents + recovered_cents > 0
    THEN amount_cents - reduction_cents - paid_cents + recovered_cents ELSE 0 END), 0)
    AS to_pay,
  COALESCE(SUM(CASE WHEN amount_cents - reduction_cents - paid_cents + recovered_cents < 0
    THEN paid_cents + reduction_cents - amount_cents - recovered_cents ELSE 0 END), 0)
    AS to_recover
FROM "grant" WHERE "call" = {}
"""
_LEDGER_SUMS = (
    'SELECT "grant", kind, SUM(amount_cents) AS cents FROM ledger_entry GROUP BY "grant", kind'
)

COLUMNS = ("grants", "committed", "reduced", "paid", "recovered", "to_pay", "to_recover")


@dataclass(frozen=True, slots=True)
class Sums:
    """A call's grants summed (cents)."""

    grants: int = 0
    committed: int = 0
    reduced: int = 0
    paid: int = 0
    recovered: int = 0
    to_pay: int = 0
    to_recover: int = 0


async def follow(grant_id: int) -> None:
    """Inside the transaction that changed the grant's ledger, amount or reduction: its
    paid and recovered from its ledger, then its call's line."""
    await Grant.raw(_FOLLOW_GRANT + "WHERE id = {}", grant_id)
    row = await Grant.select(Grant.call).where(Grant.id == grant_id).first()
    if row is not None:
        await _write_call(row["call"])


async def _write_call(call_id: int) -> None:
    """The call's line from its grants' kept sums (one aggregate over its grants). The
    line is locked before the sum (PostgreSQL): two grants of one call paid at once
    each count the other, one after the other."""
    await CallTotals.insert(CallTotals(call=call_id)).on_conflict(
        target=CallTotals.call, action="DO NOTHING"
    )
    await for_update(CallTotals.select(CallTotals.id).where(CallTotals.call == call_id))
    rows = await Grant.raw(_CALL_LINE, call_id)
    sums = {name: int(rows[0][name]) for name in COLUMNS}  # NUMERIC on PostgreSQL
    await CallTotals.update(
        {
            CallTotals.grants: sums["grants"],
            **{getattr(CallTotals, f"{name}_cents"): sums[name] for name in COLUMNS[1:]},
        }
    ).where(CallTotals.call == call_id)


async def of_calls(call_ids: list[int]) -> dict[int, Sums]:
    """The kept line of each of these calls (a call without grants: zeros)."""
    rows = await CallTotals.select().where(CallTotals.call.is_in(call_ids or [0]))
    return {
        r["call"]: Sums(grants=r["grants"], **{name: r[f"{name}_cents"] for name in COLUMNS[1:]})
        for r in rows
    }


async def rebuild() -> None:
    """Every grant's sums and every call's line again from the ledger (inside a write
    transaction)."""
    await Grant.raw(_FOLLOW_GRANT)
    await CallTotals.delete().where(CallTotals.id > 0)
    for row in await Grant.select(Grant.call).distinct():
        await _write_call(row["call"])


async def check() -> list[str]:
    """What differs between the kept sums and the ledger's: one line per grant or call
    (empty: they agree)."""
    ledger: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for e in await LedgerEntry.raw(_LEDGER_SUMS):
        cents = int(e["cents"])
        if e["kind"] == "payment":
            ledger[e["grant"]][0] += cents
        elif e["kind"] == "reversal":
            ledger[e["grant"]][0] -= cents
        elif e["kind"] == "recovery":
            ledger[e["grant"]][1] += cents
    problems = []
    expected: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    for g in await Grant.select(
        Grant.id,
        Grant.call,
        Grant.amount_cents,
        Grant.reduction_cents,
        Grant.paid_cents,
        Grant.recovered_cents,
    ).order_by(Grant.id):
        paid, recovered = ledger[g["id"]]
        if (g["paid_cents"], g["recovered_cents"]) != (paid, recovered):
            problems.append(
                f"grant {g['id']}: kept paid {g['paid_cents']}, recovered "
                f"{g['recovered_cents']}; ledger paid {paid}, recovered {recovered}"
            )
        remaining = g["amount_cents"] - g["reduction_cents"] - paid + recovered
        line = expected[g["call"]]
        line["grants"] += 1
        line["committed"] += g["amount_cents"]
        line["reduced"] += g["reduction_cents"]
        line["paid"] += paid
        line["recovered"] += recovered
        line["to_pay"] += max(remaining, 0)
        line["to_recover"] += max(-remaining, 0)
    kept = {
        r["call"]: {"grants": r["grants"], **{n: r[f"{n}_cents"] for n in COLUMNS[1:]}}
        for r in await CallTotals.select()
    }
    zeros = dict.fromkeys(COLUMNS, 0)
    for call_id in sorted(set(expected) | set(kept)):
        want, have = expected.get(call_id, zeros), kept.get(call_id, zeros)
        if want != have:
            differ = ", ".join(
                f"{n} kept {have[n]} ledger {want[n]}" for n in COLUMNS if have[n] != want[n]
            )
            problems.append(f"call {call_id}: {differ}")
    return problems
