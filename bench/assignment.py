"""Automatic reviewer assignment at the size of a large call.

2 000 applications × 40 reviewers, 3 reviews wanted, about 2 % of pairs conflicted,
200 existing assignments. Goal: median under 2 seconds.

Then the save of such a plan (``pool.apply_preview``) on a database (SQLite in a
temporary folder; PostgreSQL too with ``--postgres``): the call's files, pool and
conflicts loaded, the plan previewed then saved, A/B in one run on copies of the same
database: the save as it was (one INSERT and one audit entry per pair) against the
save in chunks with one audit entry for the plan. ``--save-runs N`` rounds each.

Run from the project root: ``python -m bench.assignment [--postgres] [--save-runs N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.reviews.assignment import auto_assign

APPLICATIONS = 2000
REVIEWERS = 40
WANTED = 3
CONFLICT_RATE = 0.02
EXISTING = 200
RUNS = 5
GOAL_SECONDS = 2.0


def instance(seed: int = 2016):
    rng = random.Random(seed)
    applications = list(range(1, APPLICATIONS + 1))
    reviewers = list(range(1001, 1001 + REVIEWERS))
    conflicts = {(a, r) for a in applications for r in reviewers if rng.random() < CONFLICT_RATE}
    existing: set[tuple[int, int]] = set()
    while len(existing) < EXISTING:
        pair = (rng.choice(applications), rng.choice(reviewers))
        if pair not in conflicts:
            existing.add(pair)
    return applications, reviewers, existing, conflicts


def plan_bench() -> bool:
    applications, reviewers, existing, conflicts = instance()
    timings = []
    plan = None
    for _ in range(RUNS):
        start = time.perf_counter()
        plan = auto_assign(applications, reviewers, WANTED, existing, conflicts)
        timings.append(time.perf_counter() - start)
    assert plan is not None
    median = statistics.median(timings)
    loads = plan.load.values()
    print(
        f"auto_assign {APPLICATIONS} applications × {REVIEWERS} reviewers, wanted={WANTED}, "
        f"{len(conflicts)} conflicts, {len(existing)} existing"
    )
    print(f"  new pairs: {len(plan.new_pairs)}, shortfalls: {len(plan.shortfalls)}")
    print(f"  load: min {min(loads)}, max {max(loads)}, spread {plan.spread}")
    print(f"  median of {RUNS} runs: {median:.3f} s (goal < {GOAL_SECONDS} s)")
    return median < GOAL_SECONDS


# --- The save, on a database --------------------------------------------------------------

ORGANISATIONS = 400


async def _load_call(seed: int = 2016) -> int:
    """A call of APPLICATIONS eligible files, its pool of REVIEWERS, conflicts
    (CONFLICT_RATE of reviewer-organisation links) and EXISTING assignments."""
    from app.accounts.tables import RoleGrant, User
    from app.applications.tables import Application
    from app.calls.tables import Call, FormVersion
    from app.core.bulk import insert_many
    from app.funders.tables import Funder
    from app.organisations.tables import Organisation
    from app.reviews.tables import Assignment, Conflict, PoolMember, ReviewSettings

    rng = random.Random(seed)
    now = datetime.now(UTC)
    reviewers = [
        r["id"]
        for r in await User.insert(
            *(User(email=f"eval{n}@bench.test", full_name=f"Éval {n}") for n in range(REVIEWERS))
        ).returning(User.id)
    ]
    await insert_many(RoleGrant, (RoleGrant(user=r, role="reviewer") for r in reviewers))
    funder = (await Funder.insert(Funder(name="Banc", slug="banc", kind="région")).returning(Funder.id))[0]["id"]  # fmt: skip
    call = (
        await Call.insert(
            Call(
                funder=funder,
                title="Appel du banc",
                reference_prefix="BA",
                envelope_cents=10**10,
                min_award_cents=1,
                max_award_cents=10**9,
                opens_at=now - timedelta(days=60),
                closes_at=now - timedelta(days=30),
                status="closed",
                rubric="[]",
            )
        ).returning(Call.id)
    )[0]["id"]
    version = (await FormVersion.insert(FormVersion(call=call, number=1, form='{"sections": []}', documents="[]")).returning(FormVersion.id))[0]["id"]  # fmt: skip
    orgs = [
        o["id"]
        for o in await Organisation.insert(
            *(
                Organisation(name=f"Asso {n}", legal_form="association", siret=f"{n:014d}")
                for n in range(ORGANISATIONS)
            )
        ).returning(Organisation.id)
    ]
    await insert_many(
        Application,
        (
            Application(
                call=call,
                organisation=orgs[n % ORGANISATIONS],
                form_version=version,
                status="eligible",
                reference=f"BA-{n:05d}",
                title=f"Projet {n}",
            )
            for n in range(APPLICATIONS)
        ),
    )
    apps = [
        (a["id"], a["organisation"])
        for a in await Application.select(Application.id, Application.organisation).where(
            Application.call == call
        )
    ]
    await ReviewSettings.insert(ReviewSettings(call=call, reviews_wanted=WANTED))
    await insert_many(PoolMember, (PoolMember(call=call, reviewer=r) for r in reviewers))
    conflicts = {(r, o) for r in reviewers for o in orgs if rng.random() < CONFLICT_RATE}
    await insert_many(Conflict, (Conflict(reviewer=r, organisation=o) for r, o in conflicts))
    existing: set[tuple[int, int]] = set()
    while len(existing) < EXISTING:
        app_id, org = rng.choice(apps)
        reviewer = rng.choice(reviewers)
        if (reviewer, org) not in conflicts:
            existing.add((app_id, reviewer))
    await insert_many(
        Assignment, (Assignment(application=a, reviewer=r) for a, r in sorted(existing))
    )
    return call


async def _save_as_before(call_id: int, fingerprint: str, actor) -> int:
    """``pool.apply_preview`` as it was: one INSERT and one audit entry per pair."""
    from app.applications.states import APPLICATION
    from app.applications.tables import Application
    from app.core import audit
    from app.core.db import write_transaction
    from app.reviews import pool
    from app.reviews.tables import Assignment

    async with write_transaction():
        current = await pool.preview(call_id)
        assert current.fingerprint == fingerprint
        for app_id, reviewer_id in current.plan.new_pairs:
            await Assignment.insert(
                Assignment(application=app_id, reviewer=reviewer_id, assigned_by=actor.user_id)
            )
            await audit.record_by(
                actor, "reviews.assigned", "application", app_id, reviewer=reviewer_id
            )
        touched = sorted({app_id for app_id, _r in current.plan.new_pairs})
        review = APPLICATION.step("start_review", "officer")
        await Application.update({Application.status: review.target}).where(
            Application.id.is_in(touched) & Application.status.is_in(list(review.sources))
        )
    return len(current.plan.new_pairs)


async def _on(url: str, work):
    from app.core import audit, db

    audit.use_key(b"guichet-bench-audit-key-32-bytes")
    engine = db.bind(db.engine_from_url(url))
    await db.start(engine, 2)
    try:
        return await work()
    finally:
        await db.stop(engine)


async def _prepare(url: str) -> int:
    from app.core import db

    await db.migrate()
    async with db.write_transaction():
        return await _load_call()


async def _timed_save(call_id: int, how: str) -> tuple[float, int, int]:
    """(seconds, pairs saved, audit entries written) of one save."""
    from app.core.audit import Actor
    from app.core.tables import AuditEntry
    from app.reviews import pool

    actor = Actor(user_id=None, label="banc")
    preview = await pool.preview(call_id)
    entries = await AuditEntry.count()
    start = time.perf_counter()
    if how == "before":
        saved = await _save_as_before(call_id, preview.fingerprint, actor)
    else:
        saved = await pool.apply_preview(call_id, preview.fingerprint, actor=actor)
    seconds = time.perf_counter() - start
    return seconds, saved, await AuditEntry.count() - entries


def _pg(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)


def save_bench(database: str, runs: int) -> None:
    """A/B of the save, alternating, each on a fresh copy of the same database."""
    timings: dict[str, list[float]] = {"before": [], "after": []}
    counts = {}
    with tempfile.TemporaryDirectory() as tmp:
        if database == "SQLite":
            from app.core import db

            template = f"sqlite:///{tmp}/template.sqlite3"
            db.create_sqlite_file(template)
            call_id = asyncio.run(_on(template, lambda: _prepare(template)))

            def fresh(n: int) -> str:
                shutil.copyfile(f"{tmp}/template.sqlite3", f"{tmp}/db{n}.sqlite3")
                return f"sqlite:///{tmp}/db{n}.sqlite3"

            def drop(url: str) -> None:
                Path(url.removeprefix("sqlite:///")).unlink()
        else:
            base = "postgresql://postgres@127.0.0.1:5432"
            name = f"bench_assign_{os.getpid()}"
            _pg(f'CREATE DATABASE "{name}"')
            call_id = asyncio.run(_on(f"{base}/{name}", lambda: _prepare(f"{base}/{name}")))

            def fresh(n: int) -> str:
                _pg(f'CREATE DATABASE "{name}_{n}" TEMPLATE "{name}"')
                return f"{base}/{name}_{n}"

            def drop(url: str) -> None:
                _pg(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')

        try:
            n = 0
            for _ in range(runs):
                for how in ("before", "after"):
                    url = fresh(n)
                    n += 1
                    seconds, saved, audited = asyncio.run(
                        _on(url, lambda h=how: _timed_save(call_id, h))
                    )
                    drop(url)
                    timings[how].append(seconds)
                    counts[how] = (saved, audited)
        finally:
            if database != "SQLite":
                _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    before, after = (statistics.median(timings[h]) for h in ("before", "after"))
    print(
        f"save of the plan, {database}, {APPLICATIONS} files, median of {runs} (A/B alternating):"
    )
    for how, label in (
        ("before", "one INSERT + one audit per pair"),
        ("after", "chunks + one audit"),
    ):
        saved, audited = counts[how]
        print(
            f"  {label}: {statistics.median(timings[how]):.3f} s "
            f"({', '.join(f'{t:.3f}' for t in timings[how])}); {saved} pairs, "
            f"{audited} audit entries"
        )
    print(f"  ratio before / after: {before / after:.1f}")
    kept = Path(__file__).resolve().parent / "assignment.json"
    found = json.loads(kept.read_text()) if kept.exists() else {}
    found[database] = {
        "files": APPLICATIONS,
        "runs": runs,
        "pairs": counts["after"][0],
        "before_s": round(before, 2),
        "after_s": round(after, 2),
        "audit_before": counts["before"][1],
        "audit_after": counts["after"][1],
    }
    kept.write_text(json.dumps(found, indent=2))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--save-runs", type=int, default=1)
    parser.add_argument("--plan-only", action="store_true")
    args = parser.parse_args()
    ok = plan_bench()
    if not args.plan_only:
        (Path(__file__).resolve().parent / "assignment.json").unlink(missing_ok=True)
        save_bench("SQLite", args.save_runs)
        if args.postgres:
            save_bench("PostgreSQL", args.save_runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
