"""The finance dashboard: per funder and per call, what was committed, paid, is left
to pay and was recovered; payments over time; the lists finance staff work from.
A fixed number of queries whatever the number of grants; the sums per call and per
grant are kept by the ledger's writes (``grants.totals``), not summed here."""

from __future__ import annotations

import inspect
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from piccolo.query.functions.aggregate import Sum

from app.calls.tables import Call
from app.core.db import prepared, within
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.money import to_decimal
from app.grants import totals
from app.grants.ledger import Balance
from app.grants.models import Record
from app.grants.schedule import TRIGGERS
from app.grants.states import GRANT, INSTALMENT, RECOVERY, REPORT_IN
from app.grants.tables import Grant, GrantStatus, Instalment, LedgerEntry, Recovery, Report

ENTRY_LABELS = {
    "payment": N_("Payment"),
    "reversal": N_("Payment cancelled"),
    "recovery": N_("Recovery received"),
}

# The work lists show the oldest first, this many at most (the exports have them all).
LIST_LIMIT = 50

SUMMED = (
    "envelope",
    "committed",
    "reduced",
    "paid",
    "recovered",
    "grants",
    "to_pay",
    "to_recover",
)


@dataclass(frozen=True, slots=True)
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
    calls: tuple[Line, ...] = ()

    @property
    def due(self) -> int:
        """Committed less reductions: what the grants' holders are owed in all."""
        return self.committed - self.reduced

    @property
    def to_commit(self) -> int:
        """« Reste à engager »: the envelope less what is committed (a reduction frees
        its amount); negative when more is committed than the envelope holds."""
        return self.envelope - self.due

    @classmethod
    def total(cls, label: str, parts: list[Line], key: int | None = None) -> Line:
        """The sum of ``parts``, which it holds (a funder's calls, every funder)."""
        sums = {name: sum(getattr(p, name) for p in parts) for name in SUMMED}
        return cls(label=label, key=key, calls=tuple(parts), **sums)


async def summary(
    *, funder: int | None = None, call: int | None = None, funders: frozenset[int] | None = None
) -> Line:
    """Everything, with a line per funder holding a line per call (only the funders of
    ``funders``, None: every funder)."""

    def build():
        query = Call.select(
            Call.id,
            Call.title,
            Call.envelope_cents,
            Call.funder,
            Call.funder.name.as_alias("funder_name"),
        ).where(Call.status != "draft")
        if funder:
            query = query.where(Call.funder == funder)
        if call:
            query = query.where(Call.id == call)
        return within(query, Call.funder, funders).order_by(Call.id)

    calls = await prepared((summary, funder, call, funders), build).run()
    # Each call's line as kept by the ledger's writes (grants/totals.py): one query,
    # whatever the number of grants and entries.
    kept = await totals.of_calls([c["id"] for c in calls])
    sums: dict[int, dict[str, int]] = {}
    for c in calls:
        line = kept.get(c["id"], totals.Sums())
        sums[c["id"]] = {name: getattr(line, name) for name in totals.COLUMNS}
    per_funder: dict[int, list[Line]] = {}
    names: dict[int, str] = {}
    for c in calls:
        values = {**sums[c["id"]], "envelope": c["envelope_cents"]}
        per_funder.setdefault(c["funder"], []).append(Line(label=c["title"], key=c["id"], **values))
        names[c["funder"]] = c["funder_name"]
    return Line.total("", [Line.total(names[f], lines, key=f) for f, lines in per_funder.items()])


def _cents(rows: list[dict]) -> list[dict]:
    """SUM of a BIGINT is a NUMERIC (a Decimal) on PostgreSQL: cents are ints here."""
    for row in rows:
        row["amount_cents"] = int(row["amount_cents"] or 0)
    return rows


async def monthly_payments(
    *, funder: int | None = None, call: int | None = None, funders: frozenset[int] | None = None
) -> list[tuple[str, int]]:
    """Net payments per month (YYYY-MM), oldest first."""
    query = prepared(
        (monthly_payments, funder, call, funders),
        lambda: scope(
            LedgerEntry.select(
                LedgerEntry.kind,
                LedgerEntry.value_date,
                Sum(LedgerEntry.amount_cents).as_alias("amount_cents"),
            )
            .where(LedgerEntry.kind.is_in(["payment", "reversal"]))
            .group_by(LedgerEntry.kind, LedgerEntry.value_date),
            LedgerEntry.grant,
            funder=funder,
            call=call,
            funders=funders,
        ),
    )
    months: dict[str, int] = defaultdict(int)
    for e in _cents(await query.run()):
        sign = 1 if e["kind"] == "payment" else -1
        months[e["value_date"].strftime("%Y-%m")] += sign * e["amount_cents"]
    return sorted(months.items())


@dataclass(frozen=True, slots=True)
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


def ticks(series: list[tuple[str, int]], *, height: float = 180) -> list[tuple[float, int]]:
    """The value axis of ``bars``: (y, cents) at 0, half and the top."""
    if not series:
        return []
    top = max(max(v for _l, v in series), 1)
    return [(height - height * part / 2, top * part // 2) for part in range(3)]


def call_bars(total: Line) -> list[tuple[Line, float]]:
    """Each call with grants and the share of what is due on it paid out (percent for
    the bar's width, at most 100; the label says the exact share)."""
    calls = [c for f in total.calls for c in f.calls]
    return [
        (c, min(max(c.paid - c.recovered, 0) * 100 / c.due, 100) if c.due > 0 else 0)
        for c in calls
        if c.grants
    ]


def scope(
    query, grant, *, funder: int | None, call: int | None, funders: frozenset[int] | None = None
):
    """Limit a query to a funder or a call, and to the funders the person reaches
    (``funders``, None: every funder); ``grant`` is the Grant table or a path to it."""
    if funder:
        query = query.where(grant.call.funder == funder)
    if call:
        query = query.where(grant.call == call)
    return within(query, grant.call.funder, funders)


@dataclass(frozen=True, slots=True)
class InstalmentItem(Record):
    """An instalment in a work list."""

    id: int
    grant: int
    position: int
    amount_cents: int
    due_on: date | None
    reference: str | None
    organisation_name: str


@dataclass(frozen=True, slots=True)
class ReportItem:
    """A report past its deadline and not submitted."""

    grant: int
    kind: str
    due: date
    reference: str | None
    organisation_name: str


@dataclass(frozen=True, slots=True)
class RecoveryItem(Record):
    id: int
    grant: int
    amount_cents: int
    reference: str | None
    organisation_name: str
    received_cents: int = 0  # paid back so far

    @property
    def left_cents(self) -> int:
        return self.amount_cents - self.received_cents


@dataclass(frozen=True, slots=True)
class Worklists:
    """The lists finance staff and officers work from, oldest first."""

    approved_total: int  # all of them; ``approved`` shows the LIST_LIMIT oldest
    approved: tuple[InstalmentItem, ...]
    due_this_month: tuple[InstalmentItem, ...]
    overdue_reports: tuple[ReportItem, ...]
    open_recoveries: tuple[RecoveryItem, ...]


async def worklists(
    today: date,
    *,
    funder: int | None = None,
    call: int | None = None,
    funders: frozenset[int] | None = None,
) -> Worklists:
    """The lists finance staff and officers work from."""

    def scoped(name: str, build):
        """The query of ``build()`` narrowed to the scope, built once per scope (its
        join paths cost more to build than the database takes to answer)."""
        return prepared(
            (worklists, name, funder, call, funders),
            lambda **dates: scope(*build(**dates), funder=funder, call=call, funders=funders),
            names=inspect.signature(build).parameters,
        )

    payable = list(INSTALMENT.sources("pay"))

    def instalment_columns():
        return (
            *Instalment.all_columns(),
            Instalment.grant.application.reference.as_alias("reference"),
            Instalment.grant.organisation.name.as_alias("organisation_name"),
        )

    approved = await scoped(
        "approved",
        lambda: (
            Instalment.select(*instalment_columns())
            .where(Instalment.status.is_in(payable))
            .order_by(Instalment.approved_at)
            .limit(LIST_LIMIT),
            Instalment.grant,
        ),
    ).run()
    approved_total = await scoped(
        "approved_total",
        lambda: (Instalment.count().where(Instalment.status.is_in(payable)), Instalment.grant),
    ).run()
    month_start = today.replace(day=1)
    next_month = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    due_this_month = await scoped(
        "due_this_month",
        lambda month_start, next_month: (
            Instalment.select(*instalment_columns())
            .where(
                Instalment.status.is_in(list(INSTALMENT.sources("approve")))
                | (
                    Instalment.status.is_in(list(INSTALMENT.sources("make_due")))
                    & (Instalment.trigger == "date")
                    & (Instalment.due_on >= month_start)
                    & (Instalment.due_on < next_month)
                )
            )
            .order_by(Instalment.id)
            .limit(LIST_LIMIT),
            Instalment.grant,
        ),
    ).run(month_start=month_start, next_month=next_month)
    with_reports = await scoped(
        "with_reports",
        lambda today: (
            Grant.select(
                Grant.id,
                Grant.interim_report_due,
                Grant.final_report_due,
                Grant.application.reference.as_alias("reference"),
                Grant.organisation.name.as_alias("organisation_name"),
            )
            .where(
                (Grant.status == GrantStatus.active)
                & ((Grant.interim_report_due < today) | (Grant.final_report_due < today))
            )
            .order_by(Grant.id),  # one order on both databases (PostgreSQL's heap order is not)
            Grant,
        ),
    ).run(today=today)
    done = {
        (r["grant"], r["kind"])
        for r in await Report.select(Report.grant, Report.kind).where(
            Report.grant.is_in([g["id"] for g in with_reports] or [0])
            & Report.status.is_in(list(REPORT_IN))
        )
    }
    overdue = [
        ReportItem(
            grant=g["id"],
            kind=kind,
            due=g[f"{kind}_report_due"],
            reference=g["reference"],
            organisation_name=g["organisation_name"],
        )
        for g in with_reports
        for kind in ("interim", "final")
        if g[f"{kind}_report_due"]
        and g[f"{kind}_report_due"] < today
        and (g["id"], kind) not in done
    ]
    recoveries = await scoped(
        "recoveries",
        lambda: (
            Recovery.select(
                *Recovery.all_columns(),
                Recovery.grant.application.reference.as_alias("reference"),
                Recovery.grant.organisation.name.as_alias("organisation_name"),
            )
            .where(Recovery.status.is_in(list(RECOVERY.sources("receive"))))
            .order_by(Recovery.id),
            Recovery.grant,
        ),
    ).run()
    received: dict[int, int] = defaultdict(int)
    for e in await LedgerEntry.select(LedgerEntry.recovery, LedgerEntry.amount_cents).where(
        LedgerEntry.recovery.is_in([r["id"] for r in recoveries] or [0])
    ):
        received[e["recovery"]] += e["amount_cents"]
    return Worklists(
        approved_total=approved_total,
        approved=tuple(InstalmentItem.of(r) for r in approved),
        due_this_month=tuple(InstalmentItem.of(r) for r in due_this_month),
        overdue_reports=tuple(overdue[:LIST_LIMIT]),
        open_recoveries=tuple(
            RecoveryItem.of(r, received_cents=received[r["id"]]) for r in recoveries
        ),
    )


@dataclass(frozen=True, slots=True)
class CallGrant(Record):
    """A grant of a call, with its balance."""

    id: int
    status: str
    reference: str | None
    organisation_name: str
    balance: Balance

    @property
    def accepted(self) -> bool:
        return self.status == GrantStatus.active


async def grants_of_call(call: int, *, funders: frozenset[int] | None = None) -> list[CallGrant]:
    """Each grant of a call with its balance (one query: the ledger's sums are kept on
    the grant); none when the call's funder is not among ``funders``."""
    rows = await prepared(
        (grants_of_call, funders),
        lambda call: (
            within(
                Grant.select(
                    Grant.id,
                    Grant.status,
                    Grant.amount_cents,
                    Grant.reduction_cents,
                    Grant.paid_cents,
                    Grant.recovered_cents,
                    Grant.application.reference.as_alias("reference"),
                    Grant.organisation.name.as_alias("organisation_name"),
                ),
                Grant.call.funder,
                funders,
            )
            .where(Grant.call == call)
            .order_by(Grant.application)
        ),
    ).run(call=call)
    return [
        CallGrant.of(
            row,
            balance=Balance(
                row["amount_cents"],
                row["reduction_cents"],
                row["paid_cents"],
                row["recovered_cents"],
            ),
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class CallChoice(Record):
    id: int
    title: str


async def published_calls(*, funders: frozenset[int] | None = None) -> list[CallChoice]:
    query = within(Call.select(Call.id, Call.title), Call.funder, funders)
    rows = await query.where(Call.status != "draft").order_by(Call.id)
    return [CallChoice.of(r) for r in rows]


def export_rows(
    name: str, funder: int | None, call: int | None, *, funders: frozenset[int] | None = None
):
    """Header and rows (streamed in pages of 500) of the grants, instalments or
    payments export: titles and statuses in the page's language (the codes beside
    them), amounts as Decimals in euros, dates as dates (``core.exports``); only of
    ``funders`` (None: every funder)."""

    def scoped(query, grant):
        return scope(query, grant, funder=funder, call=call, funders=funders)

    if name == "subventions":
        header = [
            _("Grant no."), _("File number"), _("Organisation"), _("SIRET"),
            _("Call for projects"), _("Status"), _("Status (code)"), _("Amount awarded (€)"),
            _("Reduction (€)"), _("Paid out (€)"), _("Recovered (€)"), _("Accepted on"),
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
                Grant.paid_cents,
                Grant.recovered_cents,
                Grant.accepted_at,
            ),
            Grant,
        ).order_by(Grant.id)

        def row(r):
            return [
                r["id"], r["application.reference"], r["organisation.name"],
                r["organisation.siret"], r["call.title"], _(GRANT.labels[r["status"]]),
                r["status"], to_decimal(r["amount_cents"]), to_decimal(r["reduction_cents"]),
                to_decimal(r["paid_cents"]), to_decimal(r["recovered_cents"]),
                r["accepted_at"],
            ]  # fmt: skip
    elif name == "echeances":
        header = [
            _("Instalment no."), _("Grant no."), _("File number"), _("Organisation"),
            _("Instalment"), _("Amount (€)"), _("Paid when"), _("Due on"), _("Status"),
            _("Status (code)"),
        ]  # fmt: skip
        query = scoped(
            Instalment.select(
                Instalment.id,
                Instalment.grant,
                Instalment.grant.application.reference,
                Instalment.grant.organisation.name,
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
                r["id"], r["grant"], r["grant.application.reference"],
                r["grant.organisation.name"], r["position"], to_decimal(r["amount_cents"]),
                _(TRIGGERS[r["trigger"]]) if r["trigger"] in TRIGGERS else r["trigger"],
                r["due_on"], _(INSTALMENT.labels[r["status"]]), r["status"],
            ]  # fmt: skip
    else:
        header = [
            _("Entry no."), _("Grant no."), _("File number"), _("Organisation"), _("Entry"),
            _("Entry (code)"), _("Signed amount (€)"), _("Value date"),
            _("Reference"), _("Bank reference"), _("Instalment"), _("Cancels entry no."),
        ]  # fmt: skip
        query = scoped(
            LedgerEntry.select(
                LedgerEntry.id,
                LedgerEntry.grant,
                LedgerEntry.grant.application.reference,
                LedgerEntry.grant.organisation.name,
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
                r["id"], r["grant"], r["grant.application.reference"],
                r["grant.organisation.name"], _(ENTRY_LABELS[r["kind"]]), r["kind"],
                to_decimal(sign * r["amount_cents"]), r["value_date"], r["reference"], r["bank_reference"],
                r["instalment.position"], r["reverses"],
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
