"""The deadline surge: 2 000 associations submitting their files within 60 seconds.

For each database, a fresh one with an open call and 2 000 organisations, each with a
complete draft and a member signed in beforehand (each from its own address, as
X-Forwarded-For from the local proxy, so the sign-in limits per address do not apply to
them all at once). Then every one of them posts « Déposer » at a random moment of the
same 60 s (open loop: a slow answer does not delay the next association). Counted
afterwards in the database: files submitted with their reference, receipt and e-mail;
in the server's log: errors and « database is locked ».

SQLite runs one worker (as the README's deployment section says: several workers need
PostgreSQL); PostgreSQL runs two workers with sessions and rate limits in Redis
(database 11, emptied first) when Redis answers, else one.

Writes bench/surge.json, read by ``bench.load`` into results.json and RESULTS.md.
Run from the project root: ``python -m bench.surge [--only SQLite|PostgreSQL]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from app.accounts.services import create_user
from app.accounts.tables import User
from app.applications.tables import Application
from app.calls.tables import Call, FormVersion
from app.core import audit, db
from app.core.outbox import OutboxMessage
from app.funders.tables import Funder
from app.organisations.tables import Membership, Organisation
from bench import dataset, load

ASSOCIATIONS = 2_000
WINDOW_S = 60
PG = "postgresql://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/11"
HERE = Path(__file__).resolve().parent
# Sign-ins before the surge, at most this many at once (argon2 costs CPU, not a goal).
SIGN_IN_CONCURRENCY = 8


async def generate() -> list[tuple[str, int]]:
    """An open call and the associations' complete drafts; (e-mail, file id) pairs."""
    now = datetime.now(UTC)
    template = await create_user(
        email="porteur@surge.guichet.test",
        full_name="Modèle",
        password=dataset.PASSWORD,
    )
    password_hash = (await User.select(User.password_hash).where(User.id == template).first())[
        "password_hash"
    ]
    funder = (
        await Funder.insert(Funder(name="Région Dépôts", slug="depots", kind="région")).returning(
            Funder.id
        )
    )[0]["id"]
    call = (
        await Call.insert(
            Call(
                funder=funder,
                title="Appel à projets à la veille de sa clôture",
                reference_prefix="DEP",
                envelope_cents=2_600_000_000,
                min_award_cents=1_000_000,
                max_award_cents=150_000_000,
                opens_at=now - timedelta(days=60),
                closes_at=now + timedelta(hours=6),
                status="published",
            )
        ).returning(Call.id)
    )[0]["id"]
    version = (
        await FormVersion.insert(
            FormVersion(call=call, number=1, form='{"sections": []}', documents="[]")
        ).returning(FormVersion.id)
    )[0]["id"]
    users = await dataset._bulk(
        User,
        [
            User(
                email=f"depot{n}@surge.guichet.test",
                full_name=f"Dépôt {n}",
                password_hash=password_hash,
                email_verified_at=now,
            )
            for n in range(ASSOCIATIONS)
        ],
        User.id,
    )
    orgs = await dataset._bulk(
        Organisation,
        [
            Organisation(
                name=f"Association à la dernière minute n° {n}",
                legal_form="association",
                siret=f"{n:014d}",
                street=f"{n} avenue Jean Jaurès",
                postcode="37000",
                city="Tours",
                legal_rep_name=f"Présidence {n}",
                legal_rep_title="Président",
                contact_email=f"contact{n}@surge.guichet.test",
                phone="",
                iban="",
                bic="",
            )
            for n in range(ASSOCIATIONS)
        ],
        Organisation.id,
    )
    await dataset._bulk(
        Membership,
        [
            Membership(organisation=o["id"], user=u["id"], role="owner")
            for o, u in zip(orgs, users, strict=True)
        ],
    )
    rng = random.Random(2026)
    drafts = []
    for n, org in enumerate(orgs):
        requested = rng.randrange(20_000, 1_500_000) * 100
        drafts.append(
            Application(
                call=call,
                organisation=org["id"],
                form_version=version,
                status="draft",
                title=f"Former au numérique, projet n° {n}",
                requested_cents=requested,
                answers=json.dumps({"summary": "Former au numérique " * 20}),
                budget=json.dumps(
                    {
                        "charges": {"64": requested, "60": requested // 4},
                        "produits": {"74_etat": requested // 4},
                    }
                ),
                created_by=users[n]["id"],
            )
        )
    apps = await dataset._bulk(Application, drafts, Application.id)
    return [(f"depot{n}@surge.guichet.test", a["id"]) for n, a in enumerate(apps)]


async def counted() -> dict:
    """What the database holds after the surge."""
    submitted = await Application.select(
        Application.reference, Application.receipt_file, Application.content_sha256
    ).where(Application.status == "submitted")
    return {
        "submitted": len(submitted),
        "distinct_references": len({r["reference"] for r in submitted}),
        "with_receipt": sum(1 for r in submitted if r["receipt_file"]),
        "drafts_left": await Application.count().where(Application.status == "draft"),
        "emails": await OutboxMessage.count().where(
            OutboxMessage.template == "application_submitted"
        ),
    }


async def _database(url: str, work):
    engine = db.bind(db.engine_from_url(url))
    audit.use_key(dataset.BENCH_AUDIT_KEY)  # what create_app and the CLI do with the settings' key
    await db.start(engine, 4)
    try:
        return await work()
    finally:
        await db.stop(engine)


async def _prepare(url: str) -> list[tuple[str, int]]:
    if url.startswith("sqlite"):
        db.create_sqlite_file(url)

    async def work():
        await db.migrate()
        return await generate()

    return await _database(url, work)


def _address(n: int) -> str:
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256 + 1}"


async def _sign_in(base: str, n: int, email: str, gate: asyncio.Semaphore) -> httpx.AsyncClient:
    http = httpx.AsyncClient(
        base_url=base,
        headers={"X-Forwarded-For": _address(n)},
        timeout=120,
        limits=httpx.Limits(max_connections=1),
    )
    async with gate:
        await http.get("/connexion")
        response = await http.post(
            "/connexion",
            data={
                "email": email,
                "password": dataset.PASSWORD,
                "_csrf_token": http.cookies["guichet_csrf"],
            },
        )
    if response.status_code != 303:
        raise RuntimeError(f"sign-in {email}: {response.status_code} {response.text[:200]}")
    return http


async def _submit(http: httpx.AsyncClient, app_id: int, at: float, start: float) -> dict:
    await asyncio.sleep(max(0.0, start + at - time.monotonic()))
    sent = time.monotonic()
    try:
        response = await http.post(
            f"/dossiers/{app_id}/deposer",
            data={
                # The sworn statement « Vérifier et déposer » asks for.
                "declarant_name": "Camille Exemple",
                "declarant_capacity": "présidente",
                "certify": "yes",
                "_csrf_token": http.cookies["guichet_csrf"],
            },
        )
        status = response.status_code
    except httpx.HTTPError as exc:
        status = type(exc).__name__
    return {"status": status, "ms": (time.monotonic() - sent) * 1000, "done": time.monotonic()}


async def surge(base: str, drafts: list[tuple[str, int]]) -> dict:
    gate = asyncio.Semaphore(SIGN_IN_CONCURRENCY)
    started = time.monotonic()
    clients = await asyncio.gather(
        *(_sign_in(base, n, email, gate) for n, (email, _) in enumerate(drafts))
    )
    signed_in_s = time.monotonic() - started
    rng = random.Random(60)
    moments = sorted(rng.uniform(0, WINDOW_S) for _ in drafts)
    rng.shuffle(moments)
    start = time.monotonic() + 1
    answers = await asyncio.gather(
        *(
            _submit(http, app_id, at, start)
            for http, (_, app_id), at in zip(clients, drafts, moments, strict=True)
        )
    )
    await asyncio.gather(*(http.aclose() for http in clients))
    latencies = sorted(a["ms"] for a in answers)
    statuses: dict[str, int] = {}
    for a in answers:
        statuses[str(a["status"])] = statuses.get(str(a["status"]), 0) + 1
    return {
        "sign_in_s": round(signed_in_s, 1),
        "requests": len(answers),
        "statuses": statuses,
        "errors": sum(1 for a in answers if a["status"] != 303),
        "last_answer_after_s": round(max(a["done"] for a in answers) - start, 1),
        "p50_ms": round(statistics.median(latencies)),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1]),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1]),
        "max_ms": round(latencies[-1]),
    }


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def run_database(url: str, data_dir: Path) -> dict:
    data_dir.mkdir(parents=True, exist_ok=True)
    drafts = asyncio.run(_prepare(url))
    workers, redis_url = 1, None
    if not url.startswith("sqlite") and _redis_answers():
        import redis

        client = redis.Redis.from_url(REDIS)
        client.flushdb()
        client.close()
        workers, redis_url = 2, REDIS
    with load.serving(url, data_dir, workers=workers, redis_url=redis_url) as (base, _server):
        result = asyncio.run(surge(base, drafts))
    log_path = data_dir / "server.log"
    server_log = log_path.read_text(errors="replace")
    result["workers"] = workers
    result["database"] = asyncio.run(_database(url, counted))
    result["lost"] = ASSOCIATIONS - result["database"]["submitted"]
    result["database_is_locked"] = server_log.count("database is locked")
    result["server_errors_logged"] = server_log.count("Traceback")
    # What the errors were: the last line of each distinct traceback, counted.
    errors: dict[str, int] = {}
    for line in server_log.splitlines():
        with contextlib.suppress(ValueError, IndexError, AttributeError):
            line = json.loads(line).get("exception", "").strip().splitlines()[-1]
        if re.match(r"^[\w.]+(Error|Exception|Timeout\w*)\b", line):
            errors[line[:200]] = errors.get(line[:200], 0) + 1
    result["errors_logged"] = dict(sorted(errors.items(), key=lambda e: -e[1])[:5])
    return result


def main() -> int:
    results = {}
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
    if only:  # one database again, the other's figures kept
        results = json.loads((HERE / "surge.json").read_text())
    if only in ("", "SQLite"):
        with tempfile.TemporaryDirectory() as tmp:
            results["SQLite"] = run_database(
                f"sqlite:///{tmp}/surge.sqlite3", Path(tmp) / "sqlite-data"
            )
            print(json.dumps(results["SQLite"], indent=2), flush=True)
    if (
        only in ("", "PostgreSQL")
        and subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0
    ):
        name = f"bench_surge_{os.getpid()}"
        psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc"]
        subprocess.run([*psql, f'CREATE DATABASE "{name}"'], check=True)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                results["PostgreSQL"] = run_database(f"{PG}/{name}", Path(tmp))
                print(json.dumps(results["PostgreSQL"], indent=2), flush=True)
        finally:
            subprocess.run([*psql, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=False)
    (HERE / "surge.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
