"""A submission sent before the deadline is on time, however long it then waits.

Against a real server (`guichet serve`): while another account floods autosaves and
the database's write lock is held past the deadline (by a writer outside the server:
SQLite's file lock, PostgreSQL's lock on the call's row), a file sent 2 s before the
deadline is accepted, with the time it arrived on its record and its receipt. The
flood meets the autosave limit (429 « not saved yet ») instead of queueing."""

from __future__ import annotations

import asyncio
import contextlib
import io
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from pypdf import PdfReader

from app.core.time import paris_datetime_text
from tests.factories import DECLARATION, make_call, make_user
from tests.integration.test_resilience import (  # the live server of the resilience tests
    _ready_to_submit,
    _version_of,
    factories,
    servers,  # noqa: F401  (fixture)
    sql,
)

HOLD_S = 4.0


def _words(text: str) -> str:
    return " ".join(
        text.replace("\u00a0", " ").replace("\u202f", " ").split()
    )  # the write lock is held this long; the deadline falls inside


@contextlib.contextmanager
def write_lock_held(database_url: str, call_id: int):
    """Another writer holds what a submission must wait for, until the block ends."""
    if database_url.startswith("sqlite:"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=30)
        conn.isolation_level = None
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    import asyncpg

    held, release = threading.Event(), threading.Event()

    async def hold():
        conn = await asyncpg.connect(database_url)
        try:
            async with conn.transaction():
                await conn.execute('SELECT id FROM "call" WHERE id = $1 FOR UPDATE', call_id)
                held.set()
                while not release.is_set():
                    await asyncio.sleep(0.02)
        finally:
            await conn.close()

    thread = threading.Thread(target=asyncio.run, args=(hold(),))
    thread.start()
    held.wait(30)
    try:
        yield
    finally:
        release.set()
        thread.join(30)


def test_a_file_sent_before_the_deadline_is_on_time_after_waiting(databases, tmp_path, servers):  # noqa: F811
    url = databases.fresh_url()
    server = servers(tmp_path, url)
    with factories(url, server.data_dir) as client:
        officer = make_user(client, roles=["officer"])
        call = make_call(client, officer, publish=True)
        submitter = _ready_to_submit(client, call)
        flooder = _ready_to_submit(client, call)
        flood_version = _version_of(client, flooder["app"])
    server.start()
    mine = server.signed_in(submitter["email"])
    theirs = server.signed_in(flooder["email"])
    stop = threading.Event()
    answers: list[int] = []

    def flood():
        n = 0
        while not stop.is_set():
            n += 1
            answers.append(
                theirs.post(
                    f"/dossiers/{flooder['app']}/enregistrer",
                    data={
                        "_csrf_token": theirs.cookies["guichet_csrf"],
                        "title": f"Projet {n}",
                        "version": str(flood_version),
                    },
                    headers={"HX-Request": "true"},
                ).status_code
            )

    closes_at = datetime.now(UTC) + timedelta(seconds=HOLD_S / 2 + 1)
    sql(url, 'UPDATE "call" SET closes_at = $1 WHERE id = $2', closes_at, call)
    with ThreadPoolExecutor(4) as pool:
        floods = [pool.submit(flood) for _ in range(3)]
        time.sleep(0.3)
        with write_lock_held(url, call):
            sent_at = datetime.now(UTC)
            submission = pool.submit(
                mine.post,
                f"/dossiers/{submitter['app']}/deposer",
                data={**DECLARATION, "_csrf_token": mine.cookies["guichet_csrf"]},
            )
            time.sleep(HOLD_S)
            assert datetime.now(UTC) > closes_at  # the deadline passed while it waited
        answer = submission.result(60)
        stop.set()
        for f in floods:
            f.result(60)
    assert answer.status_code == 303, answer.text[:500]
    row = sql(url, "SELECT status, submitted_at FROM application WHERE id = $1", submitter["app"])
    submitted_at = row[0]["submitted_at"]
    if isinstance(submitted_at, str):  # SQLite
        submitted_at = datetime.fromisoformat(submitted_at)
    submitted_at = submitted_at.astimezone(UTC)
    assert row[0]["status"] == "submitted"
    assert sent_at - timedelta(seconds=1) <= submitted_at <= sent_at + timedelta(seconds=1)
    assert submitted_at < closes_at
    receipt = mine.get(f"/dossiers/{submitter['app']}/accuse-de-reception.pdf")
    assert receipt.status_code == 200
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(receipt.content)).pages)
    assert _words(paris_datetime_text(submitted_at)) in _words(text)
    # The flood was cut short: most of it refused at once, not queued behind the lock.
    assert 429 in answers, answers[:20]
    assert answers.count(429) > answers.count(200)
    assert server.errors_logged() == []
