"""A region's volume of data, for the benchmarks: 20 calls, 1 000 organisations,
10 000 applications with answers and budgets (and attachment metadata), 30 000 reviews
× 8 criteria, 2 000 grants with instalments and 20 000 ledger entries.

Rows go in by bulk inserts of 1 000 (the services' one-by-one rules are measured by
the tests, not here); three people sign in for the load test: officer, reviewer and
finance (``PASSWORD``).

``python -m bench.dataset URL DATA_DIR`` fills an empty, migrated database.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from app.accounts.services import create_user
from app.accounts.tables import RoleGrant, StaffRole, User
from app.applications.tables import Application, Attachment
from app.calls.tables import Call, FormVersion
from app.core import audit, db
from app.decisions.tables import Decision
from app.funders.tables import Funder
from app.grants import totals
from app.grants.tables import Grant, Instalment, LedgerEntry
from app.organisations.tables import Membership, Organisation
from app.reviews import marks
from app.reviews.tables import Assignment

# The benches write through the services without create_app: a key of their own.
BENCH_AUDIT_KEY = b"guichet-bench-audit-key-32-bytes"

CALLS = 20
ORGANISATIONS = 1_000
APPLICATIONS = 10_000
REVIEWS_PER_FILE = 3
REVIEWERS = 40
GRANTS = 2_000
PAYMENTS_PER_GRANT = 10
PASSWORD = "banc-d-essai-guichet-2026"
OFFICER, REVIEWER, FINANCE = (
    "instruction@bench.guichet.test",
    "evaluation@bench.guichet.test",
    "finances@bench.guichet.test",
)
RUBRIC = [
    {"key": f"c{i}", "title": f"Critère {i}", "guidance": "", "weight": 1 + i % 3, "scale": 5}
    for i in range(8)
]
BATCH = 1_000


async def _bulk(table, rows: list, returning=None) -> list[dict]:
    found = []
    for start in range(0, len(rows), BATCH):
        query = table.insert(*rows[start : start + BATCH])
        if returning is not None:
            found += await query.returning(returning)
        else:
            await query
    return found


async def generate(seed: int = 2026) -> dict:
    """Fill the bound database; returns the ids the load test needs."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    officer = await create_user(
        email=OFFICER, full_name="Instruction Banc", password=PASSWORD, roles=[StaffRole.officer]
    )
    reviewer = await create_user(
        email=REVIEWER, full_name="Évaluation Banc", password=PASSWORD, roles=[StaffRole.reviewer]
    )
    await create_user(
        email=FINANCE, full_name="Finances Banc", password=PASSWORD, roles=[StaffRole.finance]
    )
    others = await _bulk(
        User,
        [
            User(email=f"relecture{n}@bench.guichet.test", full_name=f"Relecture {n}")
            for n in range(REVIEWERS - 1)
        ],
        User.id,
    )
    reviewers = [reviewer, *(r["id"] for r in others)]
    await _bulk(RoleGrant, [RoleGrant(user=r, role="reviewer") for r in reviewers[1:]])
    owners = await _bulk(
        User,
        [
            User(email=f"porteur{n}@bench.guichet.test", full_name=f"Porteur {n}")
            for n in range(ORGANISATIONS)
        ],
        User.id,
    )
    funders = await _bulk(
        Funder,
        [Funder(name=f"Région Banc {n}", slug=f"banc-{n}", kind="région") for n in range(2)],
        Funder.id,
    )
    calls = await _bulk(
        Call,
        [
            Call(
                funder=funders[n % 2]["id"],
                title=f"Appel à projets du banc d'essai n° {n}",
                reference_prefix=f"B{n:02d}",
                envelope_cents=2_600_000_000,
                min_award_cents=1_000_000,
                max_award_cents=150_000_000,
                opens_at=now - timedelta(days=90),
                closes_at=now - timedelta(days=30),
                status="closed",
                rubric=json.dumps(RUBRIC),
            )
            for n in range(CALLS)
        ],
        Call.id,
    )
    versions = await _bulk(
        FormVersion,
        [
            FormVersion(call=c["id"], number=1, form='{"sections": []}', documents="[]")
            for c in calls
        ],
        FormVersion.id,
    )
    orgs = await _bulk(
        Organisation,
        [
            Organisation(
                name=f"Association du banc n° {n}",
                legal_form="association",
                siret=f"{n:014d}",
                street=f"{n} rue de la République",
                postcode="93200",
                city="Saint-Denis",
                legal_rep_name=f"Présidence {n}",
                legal_rep_title="Présidente",
                contact_email=f"contact{n}@bench.guichet.test",
                phone="",
                iban="",
                bic="",
            )
            for n in range(ORGANISATIONS)
        ],
        Organisation.id,
    )
    await _bulk(
        Membership,
        [
            Membership(organisation=o["id"], user=u["id"], role="owner")
            for o, u in zip(orgs, owners, strict=True)
        ],
    )
    apps_rows = []
    for n in range(APPLICATIONS):
        requested = rng.randrange(20_000, 1_500_000) * 100
        # Half the files in the first call (the largest, for the page and export
        # figures), the rest spread over the others.
        call = 0 if n % 2 == 0 else 1 + (n // 2) % (CALLS - 1)
        apps_rows.append(
            Application(
                call=calls[call]["id"],
                organisation=orgs[n % ORGANISATIONS]["id"],
                form_version=versions[call]["id"],
                status="in_review" if n >= GRANTS else "awarded",
                reference=f"B{call:02d}-{n:05d}",
                title=f"Projet de formation numérique n° {n}",
                requested_cents=requested,
                answers=json.dumps({"summary": "Former au numérique " * 20}),
                budget=json.dumps(
                    {
                        "charges": {"64": requested, "60": requested // 4},
                        "produits": {"74_etat": requested // 4},
                    }
                ),
                submitted_at=now - timedelta(days=40, minutes=n),
                content_sha256="0" * 64,
            )
        )
    apps = await _bulk(Application, apps_rows, Application.id)
    await _bulk(
        Attachment,
        [
            Attachment(
                application=a["id"],
                document_key="statuts",
                storage_id=f"{n:032x}",
                original_name="statuts.pdf",
                size=120_000,
                sha256="0" * 64,
                kind="pdf",
                content_type="application/pdf",
            )
            for n, a in enumerate(apps)
        ],
    )
    assignments = []
    for n, a in enumerate(apps):
        for k in range(REVIEWS_PER_FILE):
            assignments.append(
                Assignment(
                    application=a["id"],
                    reviewer=reviewers[(n * REVIEWS_PER_FILE + k) % REVIEWERS],
                    scores=json.dumps({c["key"]: rng.randint(0, 5) for c in RUBRIC}),
                    opinion="favourable",
                    submitted_at=now - timedelta(days=20),
                )
            )
    await _bulk(Assignment, assignments)
    awarded = apps[:GRANTS]
    await _bulk(
        Decision,
        [
            Decision(
                application=a["id"],
                call=apps_rows[n].call,
                outcome="award",
                amount_cents=apps_rows[n].requested_cents,
                deliberation_reference="CP-BANC",
                deliberation_date=date(2026, 5, 17),
                published_at=now - timedelta(days=10),
            )
            for n, a in enumerate(awarded)
        ],
    )
    grants = await _bulk(
        Grant,
        [
            Grant(
                application=a["id"],
                call=apps_rows[n].call,
                organisation=apps_rows[n].organisation,
                amount_cents=apps_rows[n].requested_cents,
                status="active",
                accepted_at=now - timedelta(days=9),
            )
            for n, a in enumerate(awarded)
        ],
        Grant.id,
    )
    instalments = []
    for n, g in enumerate(grants):
        amount = apps_rows[n].requested_cents
        parts = [amount * 50 // 100, amount * 30 // 100]
        parts.append(amount - sum(parts))
        for position, (part, trigger, status) in enumerate(
            zip(
                parts,
                ("acceptance", "interim_report", "final_report"),
                ("paid", "approved", "scheduled"),
                strict=True,
            ),
            start=1,
        ):
            instalments.append(
                Instalment(
                    grant=g["id"],
                    position=position,
                    amount_cents=part,
                    trigger=trigger,
                    status=status,
                )
            )
    instalment_ids = await _bulk(Instalment, instalments, Instalment.id)
    entries = []
    for n, g in enumerate(grants):
        first = instalments[n * 3].amount_cents
        second = instalments[n * 3 + 1].amount_cents
        # The first instalment paid in 5 parts, 5 parts of the second: 10 entries.
        for k in range(PAYMENTS_PER_GRANT):
            on, total = (n * 3, first) if k < 5 else (n * 3 + 1, second)
            amount = total // 5 if k % 5 < 4 else total - 4 * (total // 5)
            if k >= 5:
                amount = amount // 2  # half of the second instalment
            entries.append(
                LedgerEntry(
                    grant=g["id"],
                    instalment=instalment_ids[on]["id"],
                    kind="payment",
                    amount_cents=amount,
                    value_date=date(2026, 1 + k, 3),
                    reference=f"M-{n:05d}-{k}",
                    idempotency_key=f"bench-{n}-{k}",
                )
            )
    await _bulk(LedgerEntry, entries)
    # What the services keep as they write, for rows loaded past them: each call's
    # marks (the ranking only reads them) and the ledger's sums (the finance dashboard).
    async with db.write_transaction():
        for call in calls:
            await marks.refresh_marks(call["id"])
        await totals.rebuild()
    return {
        "call": calls[0]["id"],
        "application": apps[GRANTS]["id"],
        "applications": len(apps),
        "reviews": len(assignments),
        "grants": len(grants),
        "payments": len(entries),
        "officer": officer,
    }


async def build(url: str) -> tuple[dict, float]:
    if url.startswith("sqlite"):
        db.create_sqlite_file(url)
    audit.use_key(BENCH_AUDIT_KEY)  # what create_app and the CLI do with the settings' key
    engine = db.bind(db.engine_from_url(url))
    await db.start(engine, 4)
    try:
        await db.migrate()
        start = time.perf_counter()
        ids = await generate()
        return ids, time.perf_counter() - start
    finally:
        await db.stop(engine)


if __name__ == "__main__":
    found, seconds = asyncio.run(build(sys.argv[1]))
    print(f"dataset written in {seconds:.1f} s: {found}")
    Path(sys.argv[2]).mkdir(parents=True, exist_ok=True)
