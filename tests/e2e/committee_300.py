"""A call of 300 files ready for the committee, written in an empty database before the
live server of tests/e2e/test_committee_300.py starts, instead of the demo (a separate
process: the funder and the two people through the services, the files by bulk inserts
through the real tables as bench/dataset.py does; about 2 s with the migrations).

Each file has one submitted review on a one-criterion rubric out of 20, so its mark is
that review's score: 15 files at each mark from 20 down to 1 (file n: 20 - n // 15).
The amounts requested turn 10 000, 15 000, 20 000 € (225 000 € per mark). The 120
files marked 13 or more ask for 1 800 000 €, within the envelope of 2 000 000 €; all
300 ask for 4 500 000 €.

``python -m tests.e2e.committee_300`` with the server's settings (DATABASE_URL…) set.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

FILES = 300
TITLE = "Appel des 300 dossiers du comité"
PREFIX = "C300"
ENVELOPE_CENTS = 200_000_000
TOP_MARK = 13  # the files marked 13 or more fit in the envelope
TOP_FILES = 120
TOP_CENTS = 180_000_000
ALL_CENTS = 450_000_000
OFFICER = "instruction@comite300.guichet.test"
REVIEWER = "evaluation@comite300.guichet.test"
PASSWORD = "comite-300-guichet-2026"  # nosec B105  # a test's account


def requested_cents(n: int) -> int:
    return (10_000 + (n % 3) * 5_000) * 100


def mark(n: int) -> int:
    return 20 - n // 15


async def fill() -> int:
    from app.accounts.services import create_user
    from app.accounts.tables import StaffRole
    from app.applications.tables import Application
    from app.calls.tables import Call, FormVersion
    from app.core import db
    from app.funders.services import ensure_funder
    from app.organisations.tables import Organisation
    from app.reviews import marks
    from app.reviews.tables import Assignment

    now = datetime.now(UTC)
    funder = await ensure_funder(
        name="Région Centre-Val de Loire",
        slug="region-centre-val-de-loire",
        kind="région",
        address="9 rue Saint-Pierre-Lentin\n45000 Orléans",
        website="https://www.centre-valdeloire.fr",
    )
    await create_user(
        email=OFFICER, full_name="Instruction Comité", password=PASSWORD, roles=[StaffRole.officer]
    )
    reviewer = await create_user(
        email=REVIEWER, full_name="Évaluation Comité", password=PASSWORD, roles=[StaffRole.reviewer]
    )
    call = (
        await Call.insert(
            Call(
                funder=funder,
                title=TITLE,
                reference_prefix=PREFIX,
                envelope_cents=ENVELOPE_CENTS,
                min_award_cents=500_000,
                max_award_cents=5_000_000,
                opens_at=now - timedelta(days=90),
                closes_at=now - timedelta(days=30),
                status="closed",
                rubric=json.dumps(
                    [{"key": "q", "title": "Qualité", "guidance": "", "weight": 1, "scale": 20}]
                ),
                rubric_locked_at=now - timedelta(days=20),
            )
        ).returning(Call.id)
    )[0]["id"]
    version = (
        await FormVersion.insert(
            FormVersion(call=call, number=1, form='{"sections": []}', documents="[]")
        ).returning(FormVersion.id)
    )[0]["id"]
    orgs = await Organisation.insert(
        *(
            Organisation(
                name=f"Association des 300 n° {k}",
                legal_form="association",
                siret=f"300{k:011d}",
                street=f"{k} rue du Comité",
                postcode="45000",
                city="Orléans",
                legal_rep_name=f"Présidence {k}",
                legal_rep_title="Présidente",
                contact_email=f"asso300-{k}@demo.guichet.test",
                phone="",
                iban="",
                bic="",
            )
            for k in range(30)
        )
    ).returning(Organisation.id)
    apps = await Application.insert(
        *(
            Application(
                call=call,
                organisation=orgs[n % len(orgs)]["id"],
                form_version=version,
                status="reviewed",
                reference=f"{PREFIX}-{n:04d}",
                title=f"Projet du comité n° {n}",
                requested_cents=requested_cents(n),
                submitted_at=now - timedelta(days=40, minutes=n),
                content_sha256="0" * 64,
            )
            for n in range(FILES)
        )
    ).returning(Application.id)
    await Assignment.insert(
        *(
            Assignment(
                application=a["id"],
                reviewer=reviewer,
                scores=json.dumps({"q": mark(n)}),
                opinion="favourable",
                submitted_at=now - timedelta(days=20),
            )
            for n, a in enumerate(apps)
        )
    )
    # What the services keep as they write: the files' marks (the sheet only reads them).
    async with db.write_transaction():
        await marks.refresh_marks(call)
    return call


async def main() -> None:
    from app.core import audit, db
    from app.settings import load_settings

    settings = load_settings()
    if settings.is_sqlite:
        db.create_sqlite_file(settings.database_url)
    audit.use_key(settings.audit_key)  # what the CLI does: people created are audited
    engine = db.bind(db.engine_from_url(settings.database_url))
    await db.start(engine, 2)
    try:
        await db.migrate()
        await fill()
    finally:
        await db.stop(engine)


if __name__ == "__main__":
    asyncio.run(main())
