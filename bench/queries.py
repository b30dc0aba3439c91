"""The key pages' queries before and after issue 20's indexes, kept sums and SQL
ranking, A/B in one run on the dataset of ``bench.dataset`` (SQLite in a temporary
folder; PostgreSQL too with ``--postgres``): each query as it was and as it is, timed
alternately (median of ``--runs``), with the plan the database chooses (EXPLAIN QUERY
PLAN on SQLite, EXPLAIN on PostgreSQL). "Before" runs without the new indexes
(dropped, then created again for "after").

Run from the project root: ``python -m bench.queries [--postgres] [--runs N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from piccolo.query.functions.aggregate import Count, Sum

from app.core import db

INDEXES = {
    "application_call_reference": 'application ("call", reference)',
    "application_call_status_requested": 'application ("call", status, requested_cents)',
    "review_assignment_reviewer_submitted": "review_assignment (reviewer, submitted_at, id)",
    "ledger_entry_kind_date_amount": 'ledger_entry (kind, value_date, amount_cents, "grant")',
    "instalment_status_approved": "instalment (status, approved_at)",
}


async def _sql(sql: str) -> list[dict]:
    return await db.current_engine().run_ddl(sql)


async def _plan(sql: str) -> str:
    if db.is_sqlite():
        rows = await _sql(f"EXPLAIN QUERY PLAN {sql}")
        return " | ".join(r["detail"] for r in rows)
    rows = await _sql(f"EXPLAIN {sql}")
    return " | ".join(r["QUERY PLAN"].strip() for r in rows[:4])


async def _time(work, runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        await work()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


# --- "before": the code as it was ------------------------------------------------------


async def counts_before(reviewer: int):
    from app.reviews.scoring import mine as _mine
    from app.reviews.tables import Assignment

    total = await Assignment.count().where(_mine(reviewer))
    done = await Assignment.count().where(_mine(reviewer) & Assignment.submitted_at.is_not_null())
    return done, total


async def summary_before():
    """The finance dashboard's sums as they were: every grant and the ledger summed per
    grant and kind on each request."""
    from app.calls.tables import Call
    from app.grants.ledger import Balance, totals
    from app.grants.tables import Grant, LedgerEntry

    calls = await Call.select(Call.id).where(Call.status != "draft")
    ids = [c["id"] for c in calls]
    grants = await Grant.select(
        Grant.id, Grant.call, Grant.amount_cents, Grant.reduction_cents
    ).where(Grant.call.is_in(ids))
    by_grant = defaultdict(list)
    for e in (
        await LedgerEntry.select(
            LedgerEntry.grant, LedgerEntry.kind, Sum(LedgerEntry.amount_cents).as_alias("cents")
        )
        .where(LedgerEntry.grant.call.is_in(ids))
        .group_by(LedgerEntry.grant, LedgerEntry.kind)
    ):
        by_grant[e["grant"]].append((e["kind"], int(e["cents"])))
    paid_total = 0
    for g in grants:
        paid, recovered = totals(by_grant[g["id"]])
        Balance(g["amount_cents"], g["reduction_cents"], paid, recovered)
        paid_total += paid
    return paid_total


async def ranking_before(call_id: int):
    """The ranking as it was: the call's files and stored marks read, sorted and summed
    in Python, then 200 kept."""
    from app.applications.tables import Application
    from app.calls import services as calls
    from app.reviews.marks import Mark
    from app.reviews.ranking import RANKED
    from app.reviews.tables import FileMark

    await calls.get_call(call_id)
    apps = await Application.select(
        Application.id,
        Application.reference,
        Application.title,
        Application.requested_cents,
        Application.status,
        Application.organisation.name.as_alias("organisation_name"),
    ).where((Application.call == call_id) & Application.status.is_in(list(RANKED)))
    marks = {
        m["application"]: Mark.stored(m)
        for m in await FileMark.select().where(FileMark.application.call == call_id)
    }
    rows = [(a, marks.get(a["id"])) for a in apps]
    rows.sort(
        key=lambda r: (
            r[1] is None or r[1].ranking is None,
            -((r[1] and r[1].ranking) or 0),
            r[0]["id"],
        )
    )
    running, out = 0, []
    for a, m in rows:
        running += a["requested_cents"]
        out.append((a["id"], m, running))
    return out[:200]


async def ranking_after(call_id: int):
    from app.reviews import ranking

    await ranking.ranked_count(call_id)
    return await ranking.ranked_files(call_id, limit=200, offset=0)


async def run_all(runs: int) -> list[tuple]:
    from app.accounts.tables import User
    from app.applications.staff_table import TableQuery, staff_table
    from app.calls.tables import Call
    from app.grants import dashboard
    from app.reviews.scoring import mine as _mine
    from app.reviews.scoring import my_assignment_counts
    from app.reviews.tables import Assignment
    from bench.dataset import REVIEWER

    call = (await Call.select(Call.id).order_by(Call.id).first())["id"]
    reviewer = (await User.select(User.id).where(User.email == REVIEWER).first())["id"]
    cases = [
        (
            "officer table: a page by reference",
            ["application_call_reference"],
            lambda: staff_table(call, TableQuery()),
            lambda: staff_table(call, TableQuery()),
            f'SELECT id FROM application WHERE "call" = {call} ORDER BY reference, id LIMIT 50',
        ),
        (
            "reviewer dashboard: the two counts",
            ["review_assignment_reviewer_submitted"],
            lambda: counts_before(reviewer),
            lambda: my_assignment_counts(reviewer),
            str(Assignment.select(Count(), Count(Assignment.submitted_at)).where(_mine(reviewer))),
        ),
        (
            "finance dashboard: the sums per call",
            [],
            summary_before,
            dashboard.summary,
            "SELECT * FROM grant_call_totals",
        ),
        (
            "finance dashboard: payments per month",
            ["ledger_entry_kind_date_amount"],
            dashboard.monthly_payments,
            dashboard.monthly_payments,
            "SELECT kind, value_date, SUM(amount_cents) FROM ledger_entry "
            "WHERE kind IN ('payment', 'reversal') GROUP BY kind, value_date",
        ),
        (
            "ranking: the first 200 of 5 000",
            ["application_call_status_requested"],
            lambda: ranking_before(call),
            lambda: ranking_after(call),
            "SELECT id, requested_cents FROM application "
            f"WHERE \"call\" = {call} AND status IN ('in_review', 'awarded')",
        ),
    ]
    results = []
    for name, indexes, before, after, plan_sql in cases:
        for index in indexes:
            await _sql(f"DROP INDEX IF EXISTS {index}")
        if not db.is_sqlite():
            await _sql("ANALYZE")
        plan_before = await _plan(plan_sql)
        await before()  # warm-up
        a = await _time(before, runs)
        for index in indexes:
            await _sql(f"CREATE INDEX IF NOT EXISTS {index} ON {INDEXES[index]}")
        if not db.is_sqlite():
            await _sql("ANALYZE")
        plan_after = await _plan(plan_sql)
        await after()  # warm-up
        b = await _time(after, runs)
        results.append((name, a, b, plan_before, plan_after))
    return results


async def on(url: str, runs: int) -> list[tuple]:
    from bench import dataset

    if url.startswith("sqlite"):
        db.create_sqlite_file(url)
    from app.core import audit

    audit.use_key(dataset.BENCH_AUDIT_KEY)
    engine = db.bind(db.engine_from_url(url))
    await db.start(engine, 2)
    try:
        await db.migrate()
        from app.accounts.tables import User

        if db.is_sqlite():  # as in production: no statistics (a kept file may have some)
            await _sql("DROP TABLE IF EXISTS sqlite_stat1")

        if not await User.exists().where(User.email == dataset.REVIEWER):
            await dataset.generate()
        return await run_all(runs)
    finally:
        await db.stop(engine)


HERE = Path(__file__).resolve().parent


def report(database: str, results: list[tuple]) -> None:
    """Print, and keep in bench/queries.json (bench.load puts it in RESULTS.md)."""
    kept = HERE / "queries.json"
    found = json.loads(kept.read_text()) if kept.exists() else {}
    found[database] = [
        {"query": n, "before_ms": round(a, 2), "after_ms": round(b, 2), "plan_before": pa,
         "plan_after": pb}
        for n, a, b, pa, pb in results
    ]  # fmt: skip
    kept.write_text(json.dumps(found, indent=2, ensure_ascii=False))
    print(f"\n{database} (median ms, before → after, ratio):")
    for name, a, b, plan_before, plan_after in results:
        print(f"- {name}: {a:.2f} → {b:.2f} ms (× {a / b:.1f})")
        print(f"    plan before: {plan_before}")
        print(f"    plan after:  {plan_after}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sqlite", help="a SQLite file to keep the dataset in (reused)")
    args = parser.parse_args()
    if args.sqlite:
        report("SQLite", asyncio.run(on(f"sqlite:///{args.sqlite}", args.runs)))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            report("SQLite", asyncio.run(on(f"sqlite:///{tmp}/q.sqlite3", args.runs)))
    if args.postgres:
        name = f"bench_queries_{os.getpid()}"
        psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc"]
        subprocess.run([*psql, f'CREATE DATABASE "{name}"'], check=True)
        try:
            url = f"postgresql://postgres@127.0.0.1:5432/{name}"
            report("PostgreSQL", asyncio.run(on(url, args.runs)))
        finally:
            subprocess.run([*psql, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
