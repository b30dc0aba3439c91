"""The finance dashboard: per funder and per call, what was committed, paid, is left
to pay and was recovered; payments over time; the lists finance staff work from.
A fixed number of queries whatever the number of grants; ledger sums per grant in SQL."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from piccolo.query.functions.aggregate import Sum

from app.calls.tables import Call
from app.core.money import to_decimal
from app.grants.ledger import Balance, totals
from app.grants.tables import Grant, Instalment, LedgerEntry, Recovery, Report

# The work lists show the oldest first, this many at most (the exports have them all).
LIST_LIMIT = 50


@dataclass
class Line:
    """One call (or one funder, or everything): amounts in cents."""

    label: str
    envelope: int = 0
    committed: int = 0  # awarded
    reduced: int = 0
    paid: int = 0  # payments - reversals
    recovered: int = 0
    grants: int = 0
    to_pay: int = 0  # the sum, grant by grant, of what is left to pay (never negative)
    to_recover: int = 0  # the sum of what was paid beyond what is due, not yet recovered
    key: int | None = None
    calls: list[Line] = field(default_factory=list)

    def add(self, other: Line) -> None:
        for name in (
            "envelope",
            "committed",
            "reduced",
            "paid",
            "recovered",
            "grants",
            "to_pay",
            "to_recover",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


async def summary(*, funder: int | None = None, call: int | None = None) -> Line:
    """Everything, with a line per funder holding a line per call."""
    calls_query = Call.select(
        Call.id,
        Call.title,
        Call.envelope_cents,
        Call.funder,
        Call.funder.name.as_alias("funder_name"),
    ).where(Call.status != "draft")
    if funder:
        calls_query = calls_query.where(Call.funder == funder)
    if call:
        calls_query = calls_query.where(Call.id == call)
    calls = await calls_query.order_by(Call.id)
    ids = [c["id"] for c in calls] or [0]
    grants = await Grant.select(
        Grant.id, Grant.call, Grant.amount_cents, Grant.reduction_cents
    ).where(Grant.call.is_in(ids))
    entries = await _sums_per_grant(LedgerEntry.grant.call.is_in(ids))
    per_call = {
        c["id"]: Line(label=c["title"], envelope=c["envelope_cents"], key=c["id"]) for c in calls
    }
    for g in grants:
        line = per_call[g["call"]]
        line.committed += g["amount_cents"]
        line.reduced += g["reduction_cents"]
        line.grants += 1
    by_grant: dict[int, list[dict]] = defaultdict(list)
    for e in entries:
        by_grant[e["grant"]].append(e)
    for g in grants:
        line = per_call[g["call"]]
        paid, recovered = totals(by_grant[g["id"]])
        line.paid += paid
        line.recovered += recovered
        balance = Balance(g["amount_cents"], g["reduction_cents"], paid, recovered)
        line.to_pay += max(balance.remaining_cents, 0)
        line.to_recover += max(-balance.remaining_cents, 0)
    total = Line(label="")
    funders: dict[int, Line] = {}
    for c in calls:
        f = funders.setdefault(c["funder"], Line(label=c["funder_name"], key=c["funder"]))
        f.calls.append(per_call[c["id"]])
        f.add(per_call[c["id"]])
    for f in funders.values():
        total.calls.append(f)
        total.add(f)
    return total


async def _sums_per_grant(condition) -> list[dict]:
    """Ledger totals per grant and kind, summed in SQL (rows: grant, kind, amount_cents)."""
    return _cents(
        await LedgerEntry.select(
            LedgerEntry.grant,
            LedgerEntry.kind,
            Sum(LedgerEntry.amount_cents).as_alias("amount_cents"),
        )
        .where(condition)
        .group_by(LedgerEntry.grant, LedgerEntry.kind)
    )


def _cents(rows: list[dict]) -> list[dict]:
    """SUM of a BIGINT is a NUMERIC (a Decimal) on PostgreSQL: cents are ints here."""
    for row in rows:
        row["amount_cents"] = int(row["amount_cents"] or 0)
    return rows


async def monthly_payments(
    *, funder: int | None = None, call: int | None = None
) -> list[tuple[str, int]]:
    """Net payments per month (YYYY-MM), oldest first."""
    query = (
        LedgerEntry.select(
            LedgerEntry.kind,
            LedgerEntry.value_date,
            Sum(LedgerEntry.amount_cents).as_alias("amount_cents"),
        )
        .where(LedgerEntry.kind.is_in(["payment", "reversal"]))
        .group_by(LedgerEntry.kind, LedgerEntry.value_date)
    )
    if funder:
        query = query.where(LedgerEntry.grant.call.funder == funder)
    if call:
        query = query.where(LedgerEntry.grant.call == call)
    months: dict[str, int] = defaultdict(int)
    for e in _cents(await query):
        sign = 1 if e["kind"] == "payment" else -1
        months[e["value_date"].strftime("%Y-%m")] += sign * e["amount_cents"]
    return sorted(months.items())


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


def bars(series: list[tuple[str, int]], *, width: float = 640, height: float = 180) -> list[Bar]:
    """Geometry of a bar chart (SVG user units), bars scaled to the largest value."""
    if not series:
        return []
    top = max(max(v for _l, v in series), 1)
    step = width / len(series)
    return [
        Bar(
            label=label,
            value=value,
            x=i * step + step * 0.15,
            y=height - max(value, 0) * height / top,
            width=step * 0.7,
            height=max(value, 0) * height / top,
        )
        for i, (label, value) in enumerate(series)
    ]


def _grant_columns():
    return (
        Grant.application.reference.as_alias("reference"),
        Grant.organisation.name.as_alias("organisation_name"),
        Grant.call.title.as_alias("call_title"),
    )


def scope(query, grant, *, funder: int | None, call: int | None):
    """Limit a query to a funder or a call; ``grant`` is the Grant table or a path to it."""
    if funder:
        query = query.where(grant.call.funder == funder)
    if call:
        query = query.where(grant.call == call)
    return query


async def worklists(today: date, *, funder: int | None = None, call: int | None = None) -> dict:
    """The lists finance staff and officers work from."""

    def scoped(query, grant):
        return scope(query, grant, funder=funder, call=call)

    instalment_columns = (
        *Instalment.all_columns(),
        Instalment.grant.application.reference.as_alias("reference"),
        Instalment.grant.organisation.name.as_alias("organisation_name"),
    )
    approved = (
        await scoped(
            Instalment.select(*instalment_columns).where(Instalment.status == "approved"),
            Instalment.grant,
        )
        .order_by(Instalment.approved_at)
        .limit(LIST_LIMIT)
    )
    approved_total = await scoped(
        Instalment.count().where(Instalment.status == "approved"), Instalment.grant
    )
    month_start = today.replace(day=1)
    next_month = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    due_this_month = (
        await scoped(
            Instalment.select(*instalment_columns).where(
                (Instalment.status == "due")
                | (
                    (Instalment.status == "scheduled")
                    & (Instalment.trigger == "date")
                    & (Instalment.due_on >= month_start)
                    & (Instalment.due_on < next_month)
                )
            ),
            Instalment.grant,
        )
        .order_by(Instalment.id)
        .limit(LIST_LIMIT)
    )
    reports = await scoped(
        Grant.select(
            Grant.id,
            Grant.interim_report_due,
            Grant.final_report_due,
            *_grant_columns(),
        ).where(
            (Grant.status == "active")
            & ((Grant.interim_report_due < today) | (Grant.final_report_due < today))
        ),
        Grant,
    )
    done = {
        (r["grant"], r["kind"])
        for r in await Report.select(Report.grant, Report.kind).where(
            Report.grant.is_in([g["id"] for g in reports] or [0])
            & Report.status.is_in(["submitted", "approved"])
        )
    }
    overdue = [
        {**g, "kind": kind, "due": g[f"{kind}_report_due"]}
        for g in reports
        for kind in ("interim", "final")
        if g[f"{kind}_report_due"]
        and g[f"{kind}_report_due"] < today
        and (g["id"], kind) not in done
    ]
    recoveries = await scoped(
        Recovery.select(
            *Recovery.all_columns(),
            Recovery.grant.application.reference.as_alias("reference"),
            Recovery.grant.organisation.name.as_alias("organisation_name"),
        ).where(Recovery.status == "open"),
        Recovery.grant,
    ).order_by(Recovery.id)
    return {
        "approved_total": approved_total,
        "approved": approved,
        "due_this_month": due_this_month,
        "overdue_reports": overdue[:LIST_LIMIT],
        "open_recoveries": recoveries,
    }


async def grants_of_call(call: int) -> list[dict]:
    """Each grant of a call with its balance (two queries)."""
    rows = (
        await Grant.select(
            Grant.id,
            Grant.status,
            Grant.amount_cents,
            Grant.reduction_cents,
            Grant.application.reference.as_alias("reference"),
            Grant.organisation.name.as_alias("organisation_name"),
        )
        .where(Grant.call == call)
        .order_by(Grant.application)
    )
    by_grant: dict[int, list[dict]] = defaultdict(list)
    for e in await _sums_per_grant(LedgerEntry.grant.call == call):
        by_grant[e["grant"]].append(e)
    for row in rows:
        paid, recovered = totals(by_grant[row["id"]])
        row["balance"] = Balance(row["amount_cents"], row["reduction_cents"], paid, recovered)
    return rows


async def published_calls() -> list[dict]:
    return await Call.select(Call.id, Call.title).where(Call.status != "draft").order_by(Call.id)


def export_rows(name: str, funder: int | None, call: int | None):
    """Header and rows (streamed in pages of 500) of the grants, instalments or
    payments export, amounts as Decimals in euros, dates in ISO format."""

    def scoped(query, grant):
        return scope(query, grant, funder=funder, call=call)

    if name == "subventions":
        header = [
            "grant_id", "file_reference", "organisation", "siret", "call", "status",
            "amount_eur", "reduction_eur", "accepted_on",
        ]  # fmt: skip
        query = scoped(
            Grant.select(
                Grant.id,
                Grant.application.reference,
                Grant.organisation.name,
                Grant.organisation.siret,
                Grant.call.title,
                Grant.status,
                Grant.amount_cents,
                Grant.reduction_cents,
                Grant.accepted_at,
            ),
            Grant,
        ).order_by(Grant.id)

        def row(r):
            return [
                r["id"], r["application.reference"], r["organisation.name"],
                r["organisation.siret"], r["call.title"], r["status"],
                to_decimal(r["amount_cents"]), to_decimal(r["reduction_cents"]),
                r["accepted_at"].date().isoformat() if r["accepted_at"] else "",
            ]  # fmt: skip
    elif name == "echeances":
        header = [
            "instalment_id", "grant_id", "file_reference", "position", "amount_eur",
            "trigger", "due_on", "status",
        ]  # fmt: skip
        query = scoped(
            Instalment.select(
                Instalment.id,
                Instalment.grant,
                Instalment.grant.application.reference,
                Instalment.position,
                Instalment.amount_cents,
                Instalment.trigger,
                Instalment.due_on,
                Instalment.status,
            ),
            Instalment.grant,
        ).order_by(Instalment.id)

        def row(r):
            return [
                r["id"], r["grant"], r["grant.application.reference"], r["position"],
                to_decimal(r["amount_cents"]), r["trigger"],
                r["due_on"].isoformat() if r["due_on"] else "", r["status"],
            ]  # fmt: skip
    else:
        header = [
            "entry_id", "grant_id", "file_reference", "kind", "amount_eur", "signed_amount_eur",
            "value_date", "reference", "bank_reference", "instalment", "reverses",
        ]  # fmt: skip
        query = scoped(
            LedgerEntry.select(
                LedgerEntry.id,
                LedgerEntry.grant,
                LedgerEntry.grant.application.reference,
                LedgerEntry.kind,
                LedgerEntry.amount_cents,
                LedgerEntry.value_date,
                LedgerEntry.reference,
                LedgerEntry.bank_reference,
                LedgerEntry.instalment.position,
                LedgerEntry.reverses,
            ),
            LedgerEntry.grant,
        ).order_by(LedgerEntry.id)

        def row(r):
            sign = 1 if r["kind"] == "payment" else -1
            return [
                r["id"], r["grant"], r["grant.application.reference"], r["kind"],
                to_decimal(r["amount_cents"]), to_decimal(sign * r["amount_cents"]),
                r["value_date"].isoformat(), r["reference"], r["bank_reference"],
                r["instalment.position"] or "", r["reverses"] or "",
            ]  # fmt: skip

    async def rows():
        offset = 0
        while True:
            batch = await query.limit(500).offset(offset)
            for r in batch:
                yield row(r)
            if len(batch) < 500:
                return
            offset += 500

    return header, rows()
