"""Crashes and outages against a real server (`python -m app.cli serve`).

The server is killed with SIGKILL (its whole process group: the letters' render
processes too) in the middle of an upload, submissions, payments, a letter batch and
the outbox's sending, then started again on the same database and data dir: every
record is whole or absent, no file is left that no record names, each e-mail is
written once, the batch finishes. The database is cut for a few seconds: pages answer
the French 503 page, then 200 again without a restart. A burst of sign-ins from one
address meets 429 while another address signs in normally.

Runs on SQLite and on PostgreSQL (TEST_DATABASE_URL). Kill delays are random: the seed
is printed and can be fixed with RESILIENCE_SEED.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from litestar.testing import TestClient

from tests.conftest import PG_URL, make_settings, redis_answers
from tests.factories import (
    DECLARATION,
    MINIMAL_PDF,
    PASSWORD,
    attach_pdf,
    csrf_token,
    make_application,
    make_call,
    make_decidable,
    make_grant,
    make_organisation,
    make_user,
    post_form,
    run,
    sign_in,
    write_letters,
)

SECRET_KEY = "resilience-secret-key-" + "x" * 32
SEED = int(os.environ.get("RESILIENCE_SEED", random.randrange(10**6)))
REDIS_URL = "redis://127.0.0.1:6379/12"  # this file's own database, emptied first


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout_s: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(interval)


# --- The database, read from the test ---------------------------------------------------


def sql(url: str, statement: str, *args) -> list[dict]:
    """Run one statement on the server's database (``$1`` placeholders); rows as dicts."""
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        conn.row_factory = sqlite3.Row
        try:
            with conn:
                rows = conn.execute(re.sub(r"\$\d+", "?", statement), args).fetchall()
            return [dict(row) for row in rows]
        finally:
            conn.close()

    import asyncpg

    async def go():
        conn = await asyncpg.connect(url)
        try:
            return [dict(row) for row in await conn.fetch(statement, *args)]
        finally:
            await conn.close()

    return asyncio.run(go())


def value(url: str, statement: str, *args):
    return next(iter(sql(url, statement, *args)[0].values()))


# --- The server ---------------------------------------------------------------------------


class Server:
    """`guichet serve` in its own process group, started again on the same port, database
    and data dir after each kill."""

    def __init__(self, base: Path, database_url: str, **env: str):
        self.port = _free_port()
        self.database_url = database_url
        self.data_dir = base / "data"
        self.log_path = base / "server.log"
        inherited = {
            k: v
            for k, v in os.environ.items()
            if k not in ("REDIS_URL", "SMTP_URL", "GUICHET_BASE_URL", "EMAIL_FROM", "WORKERS")
        }
        self.env = {
            **inherited,
            "DATABASE_URL": database_url,
            "GUICHET_DATA_DIR": str(self.data_dir),
            "GUICHET_ENV": "development",
            "SECRET_KEY": SECRET_KEY,
            "PORT": str(self.port),
            # A dead sender's claims and a dead batch are taken over after 1 s, not
            # 10 min and 60 s: the restarted server is the only one.
            "OUTBOX_LEASE_S": "1",
            "LETTER_STALE_AFTER_S": "1",
            **env,
        }
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.clients: list[httpx.Client] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> None:
        assert self.process is None or self.process.poll() is not None
        with self.log_path.open("a") as log:
            log.write(f"--- start {self.starts + 1}\n")
            log.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a group of its own: killed whole
            )
        self.starts += 1

    def wait_ready(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail("server did not start:\n" + self.log()[-3000:])
            time.sleep(0.05)

    def start(self) -> Server:
        self.launch()
        self.wait_ready()
        return self

    def kill(self) -> None:
        """SIGKILL to the server and every process it started (no cleanup of any kind)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        for http in self.clients:
            http.close()
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def errors_logged(self) -> list[str]:
        """Messages logged at level error (the background loops' failures included)."""
        found = []
        for line in self.log().splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("level") in ("error", "critical"):
                    found.append(f"{entry.get('logger')}: {entry.get('message')}")
        return found

    def client(self, **kwargs) -> httpx.Client:
        http = httpx.Client(base_url=self.url, follow_redirects=False, timeout=30, **kwargs)
        self.clients.append(http)
        return http

    def signed_in(self, email: str, password: str = PASSWORD, **kwargs) -> httpx.Client:
        http = self.client(**kwargs)
        http.get("/connexion")
        signed = http.post(
            "/connexion",
            data={
                "email": email,
                "password": password,
                "_csrf_token": http.cookies["guichet_csrf"],
            },
        )
        assert signed.status_code == 303, signed.text[:500]
        return http

    # What lies on disk, outside the database.

    def stored_files(self) -> set[str]:
        root = self.data_dir / "files"
        return {p.name for p in root.glob("??/??/*") if p.is_file()}

    def temporary_files(self) -> list[Path]:
        return [
            *(self.data_dir / "files" / "tmp").glob("*"),
            *(self.data_dir / "outbox").glob(".*"),
            *(self.data_dir / "sessions").glob("*.tmp*"),
        ]

    def emls(self) -> Counter:
        """Message-ID -> number of .eml files carrying it."""
        found = Counter()
        for path in (self.data_dir / "outbox").glob("*.eml"):
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            found[message["Message-ID"]] += 1
        return found


@pytest.fixture
def servers():
    """Servers made by a test, all stopped at its end (killed if they will not stop)."""
    made: list[Server] = []

    def make(base: Path, database_url: str, **env: str) -> Server:
        server = Server(base, database_url, **env)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


@contextlib.contextmanager
def factories(database_url: str, data_dir: Path):
    """The app in a test client (no background work) on the server's database and data
    dir, to make rows through the services before the server starts."""
    from app.main import create_app

    settings = make_settings(database_url, data_dir, SECRET_KEY=SECRET_KEY)
    with TestClient(app=create_app(settings)) as client:
        yield client


def file_references(url: str) -> set[str]:
    """Every storage id a record names (the columns app.recovery keeps)."""
    from app.recovery import file_columns

    ids: set[str] = set()
    for column in file_columns():
        table = column._meta.table._meta.tablename
        name = column._meta.db_column_name
        ids |= {
            r["id"]
            for r in sql(url, f'SELECT "{name}" AS id FROM "{table}" WHERE "{name}" IS NOT NULL')
        }
    return ids


def assert_no_stray_file(server: Server) -> None:
    """Nothing half-written, and no stored file that no record names."""
    assert server.temporary_files() == []
    stray = server.stored_files() - file_references(server.database_url)
    assert stray == set(), f"files no record names: {sorted(stray)}"
    missing = file_references(server.database_url) - server.stored_files()
    assert missing == set(), f"records naming a missing file: {sorted(missing)}"


def assert_outbox_sent_once(server: Server, timeout_s: float = 30) -> None:
    """Every message of the outbox goes out, each as exactly one .eml file."""
    url = server.database_url
    wait_until(
        lambda: value(url, "SELECT COUNT(*) AS n FROM outbox_message WHERE status <> 'sent'") == 0,
        timeout_s,
        "the outbox to send everything",
        interval=0.3,
    )
    ids = [r["message_id"] for r in sql(url, "SELECT message_id FROM outbox_message")]
    emls = server.emls()
    assert sorted(emls) == sorted(ids)
    assert set(emls.values()) <= {1}, [m for m, n in emls.items() if n > 1]


def raw_request(
    server: Server, method: str, path: str, http: httpx.Client, form: dict[str, str]
) -> socket.socket:
    """Send a whole form request on a raw socket, without waiting for the answer."""
    body = urlencode(form).encode()
    cookies = "; ".join(f"{name}={content}" for name, content in http.cookies.items())
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Cookie: {cookies}\r\nx-csrftoken: {http.cookies['guichet_csrf']}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(head.encode() + body)
    return sock


# --- Guards -------------------------------------------------------------------------------


def test_every_column_naming_a_stored_file_is_known_to_the_recovery():
    """The recovery removes stored files no record names: a column it does not know of
    would lose its files at the next start."""
    from app.core.db import registered_tables
    from app.recovery import file_columns

    known = {(c._meta.table._meta.tablename, c._meta.name) for c in file_columns()}
    naming_files = {
        (table._meta.tablename, column._meta.name)
        for table in registered_tables()
        for column in table._meta.columns
        if column._meta.name == "storage_id" or column._meta.name.endswith("_file")
    }
    assert naming_files == known


def test_the_crash_delays_are_settings_with_safe_defaults(tmp_path):
    from app.settings import ConfigError

    defaults = make_settings("sqlite:///x.sqlite3", tmp_path)
    assert (defaults.outbox_lease_s, defaults.letter_stale_after_s) == (600, 60)
    for name in ("OUTBOX_LEASE_S", "LETTER_STALE_AFTER_S"):
        for wrong in ("0", "-1", "1.5", "soon"):
            with pytest.raises(ConfigError, match=name):
                make_settings("sqlite:///x.sqlite3", tmp_path, **{name: wrong})


def test_the_recovery_removes_only_unnamed_files_of_the_last_run(databases, tmp_path, caplog):
    """Files no record names are removed only when placed since the previous start, and
    not at all when the database names no file (the wrong database, not a crash)."""
    from app import recovery
    from app.accounts.services import Actor
    from app.core.storage import FileStorage
    from app.funders.services import ensure_funder, set_logo

    data_dir = tmp_path / "data"
    files = FileStorage(data_dir / "files")
    with factories(databases.fresh_url(), data_dir) as client:
        settings = client.app.state.settings
        older = files.store_bytes(MINIMAL_PDF, filename="avant.pdf")
        os.utime(files.path_of(older.storage_id), (time.time() - 60, time.time() - 60))
        run(client, recovery.recover, settings, previous_start=time.time() - 30)
        assert files.exists(older.storage_id)  # no record names any file: left alone
        assert "the database names none" in caplog.text

        logo = files.store_bytes(MINIMAL_PDF, filename="logo.pdf")
        funder = run(
            client,
            ensure_funder,
            name="Région",
            slug="region",
            kind="région",
            address="",
            website="",
        )
        run(client, set_logo, funder, logo.storage_id, actor=Actor(user_id=None))
        newer = files.store_bytes(MINIMAL_PDF, filename="apres.pdf")
        found = run(client, recovery.recover, settings, previous_start=time.time() - 30)
    assert found.unreferenced_files == 1
    assert not files.exists(newer.storage_id)  # placed by the last run, named by nothing
    assert files.exists(older.storage_id)  # before it: not this crash's
    assert files.exists(logo.storage_id)


# --- 1. An upload cut by SIGKILL ----------------------------------------------------------


def test_sigkill_during_a_streamed_upload_leaves_no_row_and_no_file(databases, tmp_path, servers):
    url = databases.fresh_url()
    server = servers(tmp_path, url)
    with factories(url, server.data_dir) as client:
        officer, owner = make_user(client, roles=["officer"]), make_user(client)
        call = make_call(client, officer, publish=True)
        app_id = make_application(client, owner, make_organisation(client, owner), call)
        document = run(client, _call_documents, call)[0]["key"]
        # Someone else's file, stored and named: kept through the crash.
        neighbour = make_user(client)
        elsewhere = make_application(client, neighbour, make_organisation(client, neighbour), call)
        attach_pdf(client, neighbour, elsewhere, document)
    server.start()
    before = server.stored_files()
    assert len(before) == 1
    http = server.signed_in(owner["email"])

    boundary = "resilience-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="_csrf_token"\r\n\r\n'
        f"{http.cookies['guichet_csrf']}\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        'filename="statuts.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()
    content = MINIMAL_PDF + os.urandom(900_000)  # under the document's 1 MB
    tail = f"\r\n--{boundary}--\r\n".encode()
    cookies = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    request = (
        f"POST /dossiers/{app_id}/pieces/{document} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\nCookie: {cookies}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(head) + len(content) + len(tail)}\r\n\r\n"
    ).encode()
    partial_dir = server.data_dir / "files" / "tmp"
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(request + head)
        sent = 0
        for start in range(0, len(content) // 2, 16_384):  # half the file, slowly
            sock.sendall(content[start : start + 16_384])
            sent = start + 16_384
            time.sleep(0.005)
        # The server is writing the file: its partial copy is on disk.
        wait_until(
            lambda: any(p.stat().st_size > 0 for p in partial_dir.glob("*.part")),
            10,
            "the partial upload on disk",
            interval=0.02,
        )
        server.kill()
    assert 0 < sent < len(content)
    assert list(partial_dir.glob("*.part"))  # what the crash left
    # What a kill between placing a file and committing its row leaves (too short a
    # moment to hit on purpose): a stored file that no record names.
    from app.core.storage import FileStorage

    unnamed = FileStorage(server.data_dir / "files").store_bytes(MINIMAL_PDF, filename="x.pdf")
    assert unnamed.storage_id in server.stored_files()

    server.start()
    assert value(url, "SELECT COUNT(*) AS n FROM attachment WHERE application = $1", app_id) == 0
    assert list(partial_dir.glob("*")) == []
    assert server.stored_files() == before
    assert '"partial_files": 1, "unreferenced_files": 1' in server.log()
    assert_no_stray_file(server)
    # And the same upload, whole, works after the restart.
    done = http.post(
        f"/dossiers/{app_id}/pieces/{document}",
        files=[
            ("_csrf_token", (None, http.cookies["guichet_csrf"])),
            ("file", ("statuts.pdf", content, "application/pdf")),
        ],
    )
    assert done.status_code == 303, done.text[:300]
    assert value(url, "SELECT COUNT(*) AS n FROM attachment WHERE application = $1", app_id) == 1
    assert_no_stray_file(server)


async def _call_documents(call_id: int) -> list[dict]:
    from app.calls import services

    return (await services.get_call(call_id))["documents"]


# --- 2. Submissions and payments cut by SIGKILL -------------------------------------------

ATTEMPTS = 5
BALANCED = {
    "title": "École du web",
    "requested": "200 000",
    "budget_charges_64": "180 000",
    "budget_charges_60": "70 000",
    "budget_produits_74_etat": "50 000",
}


def _ready_to_submit(client, call_id: int) -> dict:
    """A new applicant with a complete draft (answers, budget, the required document)."""
    from app.calls import services

    owner = make_user(client)
    app_id = make_application(client, owner, make_organisation(client, owner), call_id)
    form = run(client, services.get_call, call_id)
    key = form["form"]["sections"][0]["fields"][0]["key"]
    document = form["documents"][0]["key"]
    client.cookies.clear()
    sign_in(client, owner)
    version = _version_of(client, app_id)
    saved = post_form(
        client,
        f"/dossiers/{app_id}",
        {**BALANCED, key: "Former des développeurs web.", "version": str(version)},
    )
    assert saved.status_code == 303, saved.text[:300]
    uploaded = client.post(
        f"/dossiers/{app_id}/pieces/{document}",
        files=[
            ("_csrf_token", (None, csrf_token(client))),
            ("file", ("statuts.pdf", MINIMAL_PDF, "application/pdf")),
        ],
        follow_redirects=False,
    )
    assert uploaded.status_code == 303, uploaded.text[:300]
    return {**owner, "app": app_id}


def _version_of(client, app_id: int) -> int:
    from app.applications.tables import Application

    return run(
        client,
        lambda: (
            Application.select(Application.version).where(Application.id == app_id).first().run()
        ),
    )["version"]


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(max(high, low * 2))))


def _payment_form(grant: dict, key: str, cashier: httpx.Client) -> dict[str, str]:
    """One euro against the approved instalment, under the idempotency key ``key``."""
    return {
        "instalment": str(grant["instalment"]),
        "amount": "1",
        "value_date": "2017-07-03",
        "reference": f"M-{key}",
        "key": key,
        "_csrf_token": cashier.cookies["guichet_csrf"],
    }


def test_sigkill_during_submissions_and_payments_keeps_each_whole_or_absent(
    databases, tmp_path, servers
):
    from app.accounts.services import Actor
    from app.grants import services as grants
    from app.grants.tables import Instalment

    url = databases.fresh_url()
    server = servers(tmp_path, url)
    with factories(url, server.data_dir) as client:
        officer, finance = (
            make_user(client, roles=["officer"]),
            make_user(client, roles=["finance"]),
        )
        call = make_call(client, officer, publish=True, max_award_cents=30_000_000)
        applicants = [_ready_to_submit(client, call) for _ in range(ATTEMPTS + 1)]
        made = make_grant(client, officer, make_user(client), amount=20_000_000)
        first = run(
            client,
            lambda: (
                Instalment.select()
                .where(Instalment.grant == made["grant"])
                .order_by(Instalment.position)
                .first()
                .run()
            ),
        )
        run(
            client,
            grants.transition_instalment,
            made["grant"],
            first["id"],
            "approve",
            role="officer",
            actor=Actor(user_id=officer["id"]),
        )
        # The award's letter now, not in the middle of the kills.
        write_letters(client, base_url=client.app.state.settings.base_url)
    grant = {"id": made["grant"], "instalment": first["id"]}
    pay_path = f"/suivi/subventions/{grant['id']}/versements"
    print(f"RESILIENCE_SEED={SEED}")  # shown with a failure: run it again with the same kills

    server.start()
    sessions = {a["app"]: server.signed_in(a["email"]) for a in applicants}
    cashier = server.signed_in(finance["email"])

    # How long each takes when nothing goes wrong (the first submission on a fresh
    # server included): the kills fall across that time.
    calibration = applicants[0]
    started = time.perf_counter()
    answer = sessions[calibration["app"]].post(
        f"/dossiers/{calibration['app']}/deposer",
        data={**DECLARATION, "_csrf_token": sessions[calibration["app"]].cookies["guichet_csrf"]},
    )
    submit_s = time.perf_counter() - started
    assert answer.status_code == 303, answer.text[:300]
    started = time.perf_counter()
    answer = cashier.post(
        pay_path,
        data=_payment_form(grant, "pay-0", cashier),
    )
    pay_s = time.perf_counter() - started
    assert answer.status_code == 303, answer.text[:300]

    rng = random.Random(SEED)
    keys = ["pay-0"]
    plan = []
    for n, applicant in enumerate(applicants[1:], start=1):
        # Log-uniform: as many kills in the first milliseconds (before the commit) as
        # later (after it, while the receipt is written).
        submit_delay = _log_uniform(rng, 0.001, 1.5 * submit_s)
        pay_delays = sorted((_log_uniform(rng, 0.0005, 2 * pay_s) for _ in range(3)), reverse=True)
        pay_keys = [f"pay-{n}-{j}" for j in range(3)]
        keys += pay_keys
        plan.append((applicant["app"], round(submit_delay * 1000, 1)))
        # Sent so that the kill comes submit_delay after the submission, and each
        # payment's delay after that payment.
        moments = sorted(
            [(submit_delay, "submit", applicant["app"])]
            + [(d, "pay", k) for d, k in zip(pay_delays, pay_keys, strict=True)],
            reverse=True,
        )
        t0 = time.perf_counter()
        longest = moments[0][0]
        sockets = []
        for delay, kind, target in moments:
            while time.perf_counter() - t0 < longest - delay:
                pass
            if kind == "submit":
                http = sessions[target]
                sockets.append(
                    raw_request(server, "POST", f"/dossiers/{target}/deposer", http, DECLARATION)
                )
            else:
                form = _payment_form(grant, target, cashier)
                sockets.append(raw_request(server, "POST", pay_path, cashier, form))
        while time.perf_counter() - t0 < longest:
            pass
        server.kill()
        for sock in sockets:
            sock.close()
        server.start()

    # Each application: a draft with nothing of a submission, or submitted with its
    # reference, receipt and one e-mail.
    outcomes = Counter()
    for applicant in applicants:
        row = sql(url, "SELECT * FROM application WHERE id = $1", applicant["app"])[0]
        messages = value(
            url,
            "SELECT COUNT(*) AS n FROM outbox_message WHERE to_address = $1 "
            "AND template = 'application_submitted'",
            applicant["email"],
        )
        audited = value(
            url,
            "SELECT COUNT(*) AS n FROM audit_entry WHERE action = 'applications.submitted' "
            "AND object_id = $1",
            str(applicant["app"]),
        )
        outcomes[row["status"]] += 1
        if row["status"] == "draft":
            assert (row["reference"], row["receipt_file"], row["submitted_at"]) == (None,) * 3
            assert row["content_sha256"] in (None, "")
            assert (messages, audited) == (0, 0)
        else:
            assert row["status"] == "submitted", row
            assert row["reference"] and row["submitted_at"] and row["content_sha256"]
            assert (messages, audited) == (1, 1)
            # The receipt is written just after the commit; killed in between, it is
            # written when first asked for (applications.services.ensure_receipt).
            if row["receipt_file"] is None:
                outcomes["of which receipt written after the restart"] += 1
            receipt = sessions[applicant["app"]].get(
                f"/dossiers/{applicant['app']}/accuse-de-reception.pdf"
            )
            assert receipt.status_code == 200 and receipt.content.startswith(b"%PDF")
            stored = value(url, "SELECT receipt_file FROM application WHERE id = $1", row["id"])
            assert stored in server.stored_files()
    references = [
        r["reference"]
        for r in sql(url, "SELECT reference FROM application WHERE reference IS NOT NULL")
    ]
    assert len(references) == len(set(references))

    # Each payment: recorded once or not at all; replayed, once in all.
    recorded = {
        r["idempotency_key"]: r["n"]
        for r in sql(
            url,
            'SELECT idempotency_key, COUNT(*) AS n FROM ledger_entry WHERE "grant" = $1 '
            "GROUP BY idempotency_key",
            grant["id"],
        )
    }
    assert set(recorded.values()) <= {1}
    paid_before_replay = len(recorded)
    for key in keys:
        replay = cashier.post(
            pay_path,
            data=_payment_form(grant, key, cashier),
        )
        assert replay.status_code == 303, replay.text[:300]
    entries = sql(
        url,
        'SELECT idempotency_key, kind, amount_cents FROM ledger_entry WHERE "grant" = $1',
        grant["id"],
    )
    assert sorted(e["idempotency_key"] for e in entries) == sorted(keys)
    paid = sum(
        e["amount_cents"] * (1 if e["kind"] == "payment" else -1)
        for e in entries
        if e["kind"] in ("payment", "reversal")
    )
    recovered = sum(e["amount_cents"] for e in entries if e["kind"] == "recovery")
    due = sql(
        url, 'SELECT amount_cents - reduction_cents AS due FROM "grant" WHERE id = $1', grant["id"]
    )
    assert paid - recovered <= due[0]["due"]
    assert paid == 100 * len(keys)

    assert_no_stray_file(server)
    assert_outbox_sent_once(server)
    verified = subprocess.run(
        [sys.executable, "-m", "app.cli", "audit", "verify"],
        env=server.env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert server.errors_logged() == []
    print(
        f"seed {SEED}: submit {submit_s * 1000:.0f} ms, pay {pay_s * 1000:.0f} ms; kills at "
        f"{plan}; applications {dict(outcomes)}; payments recorded before the replay "
        f"{paid_before_replay}/{len(keys)}"
    )


# --- 3. A letter batch cut by SIGKILL -----------------------------------------------------

LETTERS = 30  # two chunks (25 and 5): killed after the first is stored


def test_sigkill_during_a_letter_batch_resumes_it_with_one_letter_each(
    databases, tmp_path, servers
):
    from app.accounts.services import Actor
    from app.decisions import services as decisions

    url = databases.fresh_url()
    server = servers(tmp_path, url)
    with factories(url, server.data_dir) as client:
        officer, owner = make_user(client, roles=["officer"]), make_user(client)
        actor = Actor(user_id=officer["id"], label=officer["email"])
        call = make_call(client, officer, publish=True, envelope_cents=10**12)
        apps = [make_decidable(client, owner, call) for _ in range(LETTERS)]
        run(
            client,
            decisions.save_settings,
            call,
            {
                "deliberation_reference": "CP 2017-123",
                "deliberation_date": "2017-05-17",
                "schedule_preset": "50-30-20",
            },
            actor=actor,
        )
        for app_id in apps:
            run(
                client,
                decisions.decide,
                app_id,
                outcome="reject",
                amount=None,
                reason="Hors du champ de l'appel.",
                actor=actor,
            )
        job = run(
            client, decisions.publish, call, run(client, decisions.pending, call).token, actor=actor
        )
    assert job is not None

    def progress() -> dict:
        return sql(url, "SELECT status, done FROM letter_batch WHERE id = $1", job)[0]

    # Killed once a chunk is recorded and while the next one's files are being placed,
    # before the transaction that records them: the worst moment.
    seen = {"files": 0, "done": 0}

    def mid_chunk() -> bool:
        files = len(server.stored_files())
        if files != seen["files"]:
            seen["files"] = files
            seen["done"] = progress()["done"]
        if seen["done"] >= LETTERS:
            pytest.fail("the batch ended before the kill")
        return 0 < seen["done"] < files

    server.launch()  # the batch starts with the server
    wait_until(mid_chunk, 120, "a chunk's files placed, not yet recorded", interval=0.001)
    server.kill()
    cut = progress()
    on_disk = len(server.stored_files())
    assert cut["status"] == "running" and 0 < cut["done"] < LETTERS, cut
    assert on_disk > cut["done"]  # files no record names yet

    server.start()
    wait_until(lambda: progress()["status"] == "done", 120, "the batch to finish", interval=0.2)
    per_app = {
        r["application"]: r["n"]
        for r in sql(
            url,
            "SELECT application, COUNT(*) AS n FROM letter WHERE job = $1 GROUP BY application",
            job,
        )
    }
    assert per_app == dict.fromkeys(apps, 1)
    assert value(url, "SELECT done FROM letter_batch WHERE id = $1", job) == LETTERS
    told = value(
        url,
        "SELECT COUNT(*) AS n FROM outbox_message WHERE template = 'decision_letter' "
        "AND to_address = $1",
        owner["email"],
    )
    assert told == LETTERS  # one member per organisation, one e-mail per letter
    assert set(server.emls().values()) <= {1}  # (the outbox is test 4's)
    assert_no_stray_file(server)
    assert server.errors_logged() == []
    print(f"letters: killed at {cut['done']}/{LETTERS} recorded, {on_disk} files on disk")


# --- 4. The outbox cut by SIGKILL while sending -------------------------------------------

EMAILS = 60


async def _enqueue(count: int) -> None:
    from app.core.db import write_transaction
    from app.core.outbox import enqueue_email

    async with write_transaction():
        for n in range(count):
            await enqueue_email(
                to=f"destinataire{n}@example.fr",
                template="application_submitted",
                language="fr",
                context={
                    "reference": f"AAP-{n:04d}",
                    "call": "Appel",
                    "title": "Projet",
                    "organisation": "Association",
                    "sha256": "0" * 64,
                    "submitted_at": "2026-01-01T00:00:00+00:00",
                },
            )


def test_sigkill_while_the_outbox_sends_writes_each_email_once(databases, tmp_path, servers):
    url = databases.fresh_url()
    server = servers(tmp_path, url)
    with factories(url, server.data_dir) as client:
        run(client, _enqueue, EMAILS)
    outbox = server.data_dir / "outbox"

    server.launch()  # the sender starts with the server
    wait_until(lambda: len(list(outbox.glob("*.eml"))) >= 3, 60, "the first e-mails", 0.002)
    server.kill()
    states = Counter(r["status"] for r in sql(url, "SELECT status FROM outbox_message"))
    written = len(list(outbox.glob("*.eml")))
    # Killed mid-batch: messages claimed (« sending ») and not all written.
    assert states["sending"] > 0 and written < EMAILS, (states, written)

    server.start()
    assert_outbox_sent_once(server)
    assert len(server.emls()) == EMAILS
    assert server.temporary_files() == []
    assert server.errors_logged() == []
    print(f"outbox: killed with {dict(states)} and {written} files written")


# --- 5. The database unavailable for a few seconds ----------------------------------------


class Proxy:
    """A TCP proxy to PostgreSQL in a thread of its own: ``cut`` drops every connection
    and stops listening (connections are refused), ``restore`` listens again."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.port = _free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: asyncio.base_events.Server | None = None
        self.links: set[asyncio.StreamWriter] = set()
        self._call(self._listen)

    def _call(self, work):
        return asyncio.run_coroutine_threadsafe(work(), self.loop).result(timeout=10)

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port)

    async def _link(self, reader, writer) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.links |= {writer, upstream_writer}

        async def pipe(source, sink) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    async def _cut(self) -> None:
        self.server.close()
        for writer in self.links:
            writer.transport.abort()
        self.links.clear()
        await self.server.wait_closed()

    def cut(self) -> None:
        self._call(self._cut)

    def restore(self) -> None:
        self._call(self._listen)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self._cut)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def assert_the_503_page(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers.get("retry-after", "").isdigit()
    text = response.text
    assert "Service indisponible" in text
    assert "Le service est momentanément indisponible" in text
    for leak in ("Traceback", 'File "', "asyncpg", "sqlite3", "OperationalError", "Error:"):
        assert leak not in text, leak


def test_pages_answer_503_while_the_database_is_away_and_recover_by_themselves(
    databases, tmp_path, servers
):
    url = databases.fresh_url()
    with factories(url, tmp_path / "data") as client:
        person, other = make_user(client), make_user(client)
    proxy = None
    if PG_URL:
        parts = urlsplit(url)
        proxy = Proxy(parts.hostname or "127.0.0.1", parts.port or 5432)
        served_url = parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()
        if parts.password:
            served_url = parts._replace(
                netloc=f"{parts.username}:{parts.password}@127.0.0.1:{proxy.port}"
            ).geturl()
    else:
        served_url = url
    database_file = Path(url.removeprefix("sqlite:///"))
    away = database_file.with_name(database_file.name + ".away")

    def cut() -> None:
        if proxy:
            proxy.cut()  # PostgreSQL unreachable: connections dropped, then refused
        else:
            # SQLite: the database file is gone (a volume unmounted); root ignores file
            # modes and a lock would have to outlast the 15 s busy timeout.
            database_file.rename(away)

    def restore() -> None:
        if proxy:
            proxy.restore()
        else:
            away.rename(database_file)

    server = servers(tmp_path, served_url)
    try:
        server.start()
        http = server.signed_in(person["email"])
        assert http.get("/").status_code == 200
        assert http.get("/compte").status_code == 200

        cut()
        try:
            deadline = time.monotonic() + 6  # the outbox polls every 5 s: it meets it
            rounds = 0
            while time.monotonic() < deadline or rounds < 7:
                assert_the_503_page(http.get("/"))  # public, reads the funders
                assert_the_503_page(http.get("/compte"))  # the session's person is read
                with server.client() as newcomer:
                    newcomer.get("/connexion")
                    # The same person each round, more often than the account's
                    # limit (5): attempts that meet the outage are not held against
                    # them (they sign in below).
                    attempt = newcomer.post(
                        "/connexion",
                        data={
                            "email": other["email"],
                            "password": PASSWORD,
                            "_csrf_token": newcomer.cookies["guichet_csrf"],
                        },
                    )
                    assert_the_503_page(attempt)
                health = httpx.get(server.url + "/healthz", timeout=10)
                assert (health.status_code, health.json()) == (503, {"status": "unavailable"})
                rounds += 1
                time.sleep(0.3)
        finally:
            restore()

        # Back by itself: no restart.
        wait_until(lambda: http.get("/").status_code == 200, 30, "pages to answer again", 0.2)
        assert http.get("/compte").status_code == 200
        assert server.signed_in(other["email"]).get("/compte").status_code == 200
        assert server.starts == 1 and server.process.poll() is None
        # A request that meets the outage is a one-line warning, not an « unhandled error »;
        # the background loops (outbox, letters, reminders) wait without a traceback.
        assert '"message": "unhandled error"' not in server.log()
        assert '"message": "service unavailable"' in server.log()
        assert server.errors_logged() == []
        assert "background job outbox waits: database unavailable" in server.log()
        wait_until(
            lambda: "background job outbox resumes: database back" in server.log(),
            15,
            "the outbox to say it resumes",
            0.2,
        )
    finally:
        if proxy:
            proxy.close()


# --- 6. A burst of sign-ins from one address ----------------------------------------------

BURST = 50


def test_a_sign_in_burst_from_one_address_is_limited_and_others_sign_in(
    databases, tmp_path, servers
):
    """With the counters as deployed: in Redis with PostgreSQL (several workers), in
    the process with SQLite (one worker)."""
    from app.accounts.lockout import SIGN_IN_PER_IP

    env = {}
    if PG_URL and redis_answers():
        import redis

        with contextlib.closing(redis.Redis.from_url(REDIS_URL)) as r:
            r.flushdb()  # database 12 is this test's own
        env["REDIS_URL"] = REDIS_URL
    url = databases.fresh_url()
    with factories(url, tmp_path / "data") as client:
        person = make_user(client)
    server = servers(tmp_path, url, **env).start()

    async def scenario():
        # Two addresses of the loopback: the attacker's and someone else's. No proxy is
        # trusted (TRUSTED_PROXIES is empty), so the attacker's X-Forwarded-For is ignored.
        attacker = httpx.AsyncClient(
            base_url=server.url,
            transport=httpx.AsyncHTTPTransport(local_address="127.0.0.2"),
            timeout=60,
        )
        other = httpx.AsyncClient(
            base_url=server.url,
            transport=httpx.AsyncHTTPTransport(local_address="127.0.0.3"),
            timeout=60,
        )
        async with attacker, other:
            await attacker.get("/connexion")
            token = attacker.cookies["guichet_csrf"]

            async def guess(n: int) -> httpx.Response:
                return await attacker.post(
                    "/connexion",
                    data={
                        "email": f"inconnu{n}@example.fr",
                        "password": "devine",
                        "_csrf_token": token,
                    },
                    headers={"X-Forwarded-For": f"198.51.100.{n}"},
                )

            async def someone_else() -> list[int]:
                await asyncio.sleep(0.05)  # in the middle of the burst
                page = await other.get("/connexion")
                signed = await other.post(
                    "/connexion",
                    data={
                        "email": person["email"],
                        "password": PASSWORD,
                        "_csrf_token": other.cookies["guichet_csrf"],
                    },
                )
                account = await other.get("/compte")
                return [page.status_code, signed.status_code, account.status_code]

            window = int(time.time() // SIGN_IN_PER_IP.window_s)
            *guesses, others = await asyncio.gather(
                *(guess(n) for n in range(BURST)), someone_else()
            )
            same_window = window == int(time.time() // SIGN_IN_PER_IP.window_s)
            # Still refused after the burst, even with the right password.
            after = await attacker.post(
                "/connexion",
                data={"email": person["email"], "password": PASSWORD, "_csrf_token": token},
            )
            return guesses, others, after, same_window

    guesses, others, after, same_window = asyncio.run(scenario())
    statuses = Counter(r.status_code for r in guesses)
    assert set(statuses) <= {422, 429}, statuses
    if same_window:  # (a window boundary in the burst would count twice)
        assert statuses == {422: SIGN_IN_PER_IP.max_hits, 429: BURST - SIGN_IN_PER_IP.max_hits}
    for refused in (r for r in guesses if r.status_code == 429):
        assert int(refused.headers["retry-after"]) > 0
        assert "Trop de tentatives" in refused.text
    assert others == [200, 303, 200]
    assert after.status_code == 429
