"""Award letters at the size of a large publication.

1 000 published awards on a 50/30/20 schedule, each with its organisation; the letter
batch a publication queues is run end to end (claim, compose, render on two worker
processes, store the files, record the letters). Goal: under 15 seconds on this
machine's two cores. Baseline, in the same run: the same 1 000 letters rendered one
after another in this process, without the database or files (the bare reportlab
cost of the layout).

Run from the project root: ``python -m bench.letters`` (SQLite in a temporary folder;
``BENCH_DATABASE_URL=postgresql://...`` for an empty PostgreSQL database).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from app.applications.tables import Application
from app.calls.tables import Call, FormVersion
from app.core import audit, db
from app.core.storage import FileStorage
from app.decisions import jobs, letters, services
from app.decisions.letters import render_letter
from app.decisions.tables import Decision, DecisionSettings, Letter, LetterJob
from app.funders.tables import Funder
from app.grants.schedule import PRESETS
from app.grants.services import create_grant
from app.organisations.tables import Organisation
from bench.dataset import BENCH_AUDIT_KEY

HERE = Path(__file__).resolve().parent
LETTERS = 1_000
RUNS = 3
GOAL_SECONDS = 15.0


async def dataset() -> tuple[int, int]:
    """A call with LETTERS published awards and their queued letter batch."""
    now = datetime.now(UTC)
    funder = (
        await Funder.insert(
            Funder(
                name="Région Banc d'essai", slug="banc", kind="région", address="1 rue\n75001 Paris"
            )
        ).returning(Funder.id)
    )[0]["id"]
    call = (
        await Call.insert(
            Call(
                funder=funder,
                title="Appel du banc d'essai",
                reference_prefix="BENCH",
                envelope_cents=10**12,
                opens_at=now,
                closes_at=now,
            )
        ).returning(Call.id)
    )[0]["id"]
    version = (
        await FormVersion.insert(
            FormVersion(call=call, number=1, form="{}", documents="[]")
        ).returning(FormVersion.id)
    )[0]["id"]
    await DecisionSettings.insert(
        DecisionSettings(
            call=call,
            deliberation_reference="CP 2017-123",
            deliberation_date=date(2017, 5, 17),
            signatory_name="Présidence",
            signatory_title="La présidente",
        )
    )
    orgs = await Organisation.insert(
        *[
            Organisation(
                name=f"Association n° {n}",
                legal_form="association",
                siret=f"{n:014d}",
                street=f"{n} rue de la République",
                postcode="93200",
                city="Saint-Denis",
                legal_rep_name=f"Présidence {n}",
                legal_rep_title="Présidente",
                contact_email=f"contact{n}@asso.test",
                phone="",
                iban="",
                bic="",
            )
            for n in range(LETTERS)
        ]
    ).returning(Organisation.id)
    apps = await Application.insert(
        *[
            Application(
                call=call,
                organisation=o["id"],
                form_version=version,
                status="awarded",
                reference=f"BENCH-{n:04d}",
                title=f"Former au numérique, projet {n}",
                requested_cents=20_000_000,
            )
            for n, o in enumerate(orgs)
        ]
    ).returning(Application.id)
    job = (await LetterJob.insert(LetterJob(call=call, total=LETTERS)).returning(LetterJob.id))[0][
        "id"
    ]
    await Decision.insert(
        *[
            Decision(
                application=a["id"],
                call=call,
                outcome="award",
                amount_cents=20_000_000,
                deliberation_reference="CP 2017-123",
                deliberation_date=date(2017, 5, 17),
                published_at=now,
                letter_job=job,
            )
            for a in apps
        ]
    )
    actor = services.Actor(user_id=None)
    async with db.write_transaction():
        for a, o in zip(apps, orgs, strict=True):
            await create_grant(
                application_id=a["id"],
                call_id=call,
                organisation_id=o["id"],
                amount_cents=20_000_000,
                schedule=PRESETS["50-30-20"],
                actor=actor,
            )
    return call, job


async def reset(job: int, storage: FileStorage) -> None:
    for letter in await Letter.select(Letter.storage_id).where(Letter.job == job):
        storage.delete(letter["storage_id"])
    await Letter.delete().where(Letter.job == job)
    await LetterJob.update({LetterJob.status: "pending", LetterJob.done: 0}).where(
        LetterJob.id == job
    )


async def bare(call: int, data_dir: Path) -> float:
    """The same letters, rendered one after another: no database write, no file."""
    settings = await services.settings_for(call)
    ids = [
        d["application"]
        for d in await Decision.select(Decision.application).where(Decision.call == call)
    ]
    rows = await letters.letter_facts(ids)
    today = datetime.now(UTC)
    contents = [
        letters.compose(r, settings, base_url="", data_dir=data_dir, today=today) for r in rows
    ]
    start = time.perf_counter()
    for content in contents:
        render_letter(content)
    return time.perf_counter() - start


async def main_async(url: str, data_dir: Path) -> int:
    if url.startswith("sqlite"):
        db.create_sqlite_file(url)
    audit.use_key(BENCH_AUDIT_KEY)  # what create_app and the CLI do with the settings' key
    engine = db.bind(db.engine_from_url(url))
    await db.start(engine, 4)
    await db.migrate()
    storage = FileStorage(data_dir / "files")
    call, job = await dataset()
    full, baseline = [], []
    for _ in range(RUNS):
        await reset(job, storage)
        start = time.perf_counter()
        await jobs.run_pending(storage=storage, base_url="https://guichet.test", data_dir=data_dir)
        full.append(time.perf_counter() - start)
        assert await Letter.count().where(Letter.job == job) == LETTERS
        baseline.append(await bare(call, data_dir))
    await db.stop(engine)
    median, bare_median = statistics.median(full), statistics.median(baseline)
    print(f"letters: {LETTERS} award letters, {os.cpu_count()} cores, {url.split(':')[0]}")
    print(
        f"  publication batch (2 processes, stored, recorded): median {median:.2f} s "
        f"= {LETTERS / median:.0f} letters/s (goal < {GOAL_SECONDS:.0f} s)"
    )
    print(
        f"  bare reportlab, one process, nothing stored: median {bare_median:.2f} s "
        f"= {LETTERS / bare_median:.0f} letters/s"
    )
    print(f"  ratio batch / bare: {bare_median / median:.2f}× the bare throughput")
    # Kept for bench/RESULTS.md (written by bench.load).
    record = HERE / "letters.json"
    found = json.loads(record.read_text()) if record.exists() else {}
    found["PostgreSQL" if url.startswith("postgres") else "SQLite"] = {
        "batch_s": round(median, 2),
        "batch_per_s": round(LETTERS / median),
        "bare_s": round(bare_median, 2),
        "bare_per_s": round(LETTERS / bare_median),
        "ratio": round(bare_median / median, 2),
    }
    record.write_text(json.dumps(found, indent=2))
    return 0 if median < GOAL_SECONDS else 1


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3"
        return asyncio.run(main_async(url, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
