"""Writing the letters of a publication, off the request path.

A publication queues a ``LetterJob``; a worker claims it (a conditional update of its
heartbeat, so several app workers never run one job twice), renders the letters in
chunks on worker processes (reportlab is CPU-bound: two cores, two processes), then
stores each chunk in one transaction: the letter rows, the e-mails to the
organisation's members and the progress. A letter is written for a decision only if
its batch has none yet, so a worker that died mid-way is resumed (after
``STALE_AFTER``, or ``LETTER_STALE_AFTER_S``) without duplicates.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import anyio
import anyio.to_process

from app.core import audit
from app.core.audit import Actor
from app.core.db import for_update, write_transaction
from app.core.i18n import gettext_noop as N_
from app.core.outbox import enqueue_email
from app.core.periodic import Job
from app.core.storage import FileStorage
from app.core.time import now
from app.decisions import settings as committee
from app.decisions.errors import DecisionError
from app.decisions.letters import (
    LetterContent,
    LetterFacts,
    compose,
    letter_facts,
    render_letter,
    render_many,
)
from app.decisions.models import decision_of
from app.decisions.states import IN_PROGRESS, LETTER_BATCH
from app.decisions.tables import Decision, Letter, LetterJob
from app.funders.models import funder_context
from app.organisations.tables import Membership

log = logging.getLogger("guichet.letters")
CHUNK = 25
PROCESSES = 2
STALE_AFTER = timedelta(seconds=60)
RETRY_AFTER = timedelta(minutes=5)


# --- Storing letters --------------------------------------------------------------------------


async def _store(
    job_id: int | None,
    items: list[tuple[LetterFacts, LetterContent, bytes]],
    *,
    storage: FileStorage,
    base_url: str,
    actor: Actor,
    worker: str = "",
) -> int:
    """Store rendered letters and record them, one transaction for the lot: a letter
    row per file (next version), the e-mails to the organisation's members, the batch's
    progress. Only the worker holding the batch's claim writes (the row is locked and
    checked); a file that already has its letter in this batch is skipped."""
    stored = []
    for row, content, data in items:
        name = f"{'notification-subvention' if content.kind == 'award' else 'reponse-demande'}-{content.reference}.pdf"
        stored.append(
            (
                row,
                content,
                await anyio.to_thread.run_sync(
                    lambda data=data, name=name: storage.store_bytes(
                        data, filename=name, kinds={"pdf"}
                    )
                ),
            )
        )
    written = 0
    try:
        async with write_transaction():
            if job_id is not None:
                holder = await for_update(
                    LetterJob.select(LetterJob.worker).where(LetterJob.id == job_id)
                )
                if not holder or holder[0]["worker"] != worker:
                    raise LostClaim()
            app_ids = [row.id for row, _c, _s in stored]
            done = set()
            if job_id is not None:
                done = {
                    r["application"]
                    for r in await Letter.select(Letter.application).where(
                        (Letter.job == job_id) & Letter.application.is_in(app_ids)
                    )
                }
            versions: dict[int, int] = {}
            for letter in await Letter.select(Letter.application, Letter.version).where(
                Letter.application.is_in(app_ids)
            ):
                versions[letter["application"]] = max(
                    versions.get(letter["application"], 0), letter["version"]
                )
            members: dict[int, list[dict]] = {}
            for member in await Membership.select(
                Membership.organisation,
                Membership.user.email.as_alias("email"),
                Membership.user.language.as_alias("language"),
            ).where(Membership.organisation.is_in([row.organisation_id for row, _c, _s in stored])):
                members.setdefault(member["organisation"], []).append(member)
            keep = []
            for row, content, file in stored:
                if row.id in done:
                    continue
                keep.append(file.storage_id)
                version = versions.get(row.id, 0) + 1
                await Letter.insert(
                    Letter(
                        application=row.id,
                        job=job_id,
                        kind=content.kind,
                        version=version,
                        storage_id=file.storage_id,
                        filename=file.filename,
                        size=file.size,
                        sha256=file.sha256,
                        created_by=actor.user_id,
                    )
                )
                await audit.record_by(
                    actor,
                    "decisions.letter_written",
                    "application",
                    row.id,
                    kind=content.kind,
                    version=version,
                    sha256=file.sha256,
                )
                for member in members.get(row.organisation_id, []):
                    await enqueue_email(
                        to=member["email"],
                        template="decision_letter",
                        language=member["language"],
                        context={
                            "reference": row.reference,
                            "call": row.call_title,
                            "title": row.title,
                            "award": content.kind == "award",
                            "version": version,
                            "url": f"{base_url}/dossiers/{row.id}",
                            **funder_context(row.funder),
                        },
                    )
                written += 1
            if job_id is not None:
                await LetterJob.update(
                    {LetterJob.done: LetterJob.done + written, LetterJob.heartbeat_at: now()}
                ).where(LetterJob.id == job_id)
    except BaseException:
        for _row, _content, file in stored:
            storage.delete(file.storage_id)
        raise
    for _row, _content, file in stored:
        if file.storage_id not in keep:
            storage.delete(file.storage_id)
    return written


CLAIM = LETTER_BATCH.step("claim", "system")
FINISH = LETTER_BATCH.step("finish", "system")
FAIL = LETTER_BATCH.step("fail", "system")


def _claimable(at: datetime, stale_after: timedelta = STALE_AFTER):
    """What ``CLAIM`` starts from: queued, or running with a silent worker, or failed a
    while ago (tried again)."""
    return (
        (LetterJob.status == "pending")
        | ((LetterJob.status == "running") & (LetterJob.heartbeat_at < at - stale_after))
        | ((LetterJob.status == "failed") & (LetterJob.heartbeat_at < at - RETRY_AFTER))
    )


async def _claim(job_id: int | None = None, stale_after: timedelta = STALE_AFTER) -> dict | None:
    """Take a claimable job; the claim is a random worker id that every later write of
    this worker checks, so a worker that lost its claim stops writing."""
    at = now()
    query = LetterJob.select(LetterJob.id).where(_claimable(at, stale_after))
    if job_id is not None:
        query = query.where(LetterJob.id == job_id)
    for candidate in await query.order_by(LetterJob.id):
        worker = uuid.uuid4().hex
        async with write_transaction():
            claimed = (
                await LetterJob.update(
                    {
                        LetterJob.status: CLAIM.target,
                        LetterJob.heartbeat_at: at,
                        LetterJob.worker: worker,
                    }
                )
                .where((LetterJob.id == candidate["id"]) & _claimable(at, stale_after))
                .returning(LetterJob.id, LetterJob.call, LetterJob.created_by, LetterJob.worker)
            )
        if claimed:
            return claimed[0]
    return None


class LostClaim(Exception):
    """Another worker took this batch over (this one was too slow to beat)."""


async def _beat(job: dict) -> None:
    async with write_transaction():
        alive = (
            await LetterJob.update({LetterJob.heartbeat_at: now()})
            .where((LetterJob.id == job["id"]) & (LetterJob.worker == job["worker"]))
            .returning(LetterJob.id)
        )
    if not alive:
        raise LostClaim()


async def _missing(job_id: int) -> list[int]:
    written = Letter.select(Letter.application).where(Letter.job == job_id)
    rows = (
        await Decision.select(Decision.application)
        .where((Decision.letter_job == job_id) & Decision.application.not_in(written))
        .order_by(Decision.application)
    )
    return [r["application"] for r in rows]


async def run_job(
    job: dict, *, storage: FileStorage, base_url: str, data_dir: Path, processes: int = PROCESSES
) -> None:
    """Write every missing letter of a claimed batch, chunk by chunk, ``processes``
    chunks rendering at a time."""
    settings = await committee.settings_for(job["call"])
    actor = Actor(user_id=job["created_by"], label="letters")
    today = now()
    missing = await _missing(job["id"])
    limiter = anyio.CapacityLimiter(processes)
    chunks = [missing[i : i + CHUNK] for i in range(0, len(missing), CHUNK)]
    lock = anyio.Lock()

    async def one(chunk: list[int]) -> None:
        await _beat(job)
        rows = await letter_facts(chunk)
        contents = [
            compose(r, settings, base_url=base_url, data_dir=data_dir, today=today) for r in rows
        ]
        if processes > 1:
            pdfs = await anyio.to_process.run_sync(render_many, contents, limiter=limiter)
        else:
            pdfs = await anyio.to_thread.run_sync(render_many, contents)
        async with lock:
            await _store(
                job["id"],
                list(zip(rows, contents, pdfs, strict=True)),
                storage=storage,
                base_url=base_url,
                actor=actor,
                worker=job["worker"],
            )

    async def worker() -> None:
        while chunks:
            await one(chunks.pop(0))

    async with anyio.create_task_group() as group:
        for _ in range(max(1, processes)):
            group.start_soon(worker)
    async with write_transaction():
        await LetterJob.update(
            {
                LetterJob.status: FINISH.target,
                LetterJob.finished_at: now(),
                LetterJob.heartbeat_at: now(),
            }
        ).where((LetterJob.id == job["id"]) & (LetterJob.worker == job["worker"]))


async def run_pending(
    *,
    storage: FileStorage,
    base_url: str,
    data_dir: Path,
    processes: int = PROCESSES,
    stale_after: timedelta = STALE_AFTER,
) -> int:
    """Run every claimable batch; the number of batches run."""
    count = 0
    while (job := await _claim(stale_after=stale_after)) is not None:
        try:
            await run_job(
                job, storage=storage, base_url=base_url, data_dir=data_dir, processes=processes
            )
        except LostClaim:
            log.warning("letter batch taken over by another worker", extra={"job": job["id"]})
        except Exception as exc:
            log.exception("letter batch failed", extra={"job": job["id"]})
            async with write_transaction():
                await LetterJob.update(
                    {
                        LetterJob.status: FAIL.target,
                        LetterJob.error: type(exc).__name__,
                        LetterJob.heartbeat_at: now(),
                    }
                ).where((LetterJob.id == job["id"]) & (LetterJob.worker == job["worker"]))
        count += 1
    return count


async def regenerate(
    app_id: int, *, storage: FileStorage, base_url: str, data_dir: Path, actor: Actor
) -> None:
    """Write the letter of one published decision again (after a correction): a new
    version; the earlier ones are kept."""
    decision = await decision_of(app_id)
    if decision is None or not decision.can_rewrite_letter:
        raise DecisionError("no_letter", N_("This file has no published award or rejection."))
    settings = await committee.settings_for(decision.call_id)
    facts = (await letter_facts([app_id]))[0]
    content = compose(facts, settings, base_url=base_url, data_dir=data_dir, today=now())
    data = await anyio.to_thread.run_sync(render_letter, content)
    await _store(None, [(facts, content, data)], storage=storage, base_url=base_url, actor=actor)


# --- What the pages show ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LetterBatch:
    """A call's letter batch and its progress."""

    id: int
    status: str
    total: int
    done: int

    @property
    def in_progress(self) -> bool:
        return self.status in IN_PROGRESS

    @property
    def finished(self) -> bool:
        return self.status == FINISH.target

    @property
    def failed(self) -> bool:
        return self.status == FAIL.target


@dataclass(frozen=True, slots=True)
class LetterFile:
    """A letter as sent (one version)."""

    id: int
    kind: str
    version: int
    storage_id: str
    filename: str
    sha256: str
    created_at: datetime


async def job_of(call_id: int) -> LetterBatch | None:
    """The call's latest letter batch, with its progress."""
    row = await (
        LetterJob.select(LetterJob.id, LetterJob.status, LetterJob.total, LetterJob.done)
        .where(LetterJob.call == call_id)
        .order_by(LetterJob.id, ascending=False)
        .first()
    )
    return LetterBatch(**row) if row else None


async def letters_of(app_id: int) -> list[LetterFile]:
    """A file's letters, the latest version first."""
    rows = await (
        Letter.select(
            Letter.id,
            Letter.kind,
            Letter.version,
            Letter.storage_id,
            Letter.filename,
            Letter.sha256,
            Letter.created_at,
        )
        .where(Letter.application == app_id)
        .order_by(Letter.version, ascending=False)
    )
    return [LetterFile(**r) for r in rows]


async def letter_of(app_id: int, letter_id: int) -> LetterFile | None:
    """One of a file's letters (None: not one of its letters)."""
    return next((x for x in await letters_of(app_id) if x.id == letter_id), None)


def letters_job(settings, *, every_s: float = 2.0) -> Job:
    """Letter batches, for the background runner: every ``every_s`` seconds, and at once
    after a publication (``job.wake()``)."""
    storage = FileStorage.from_settings(settings)

    async def work() -> None:
        await run_pending(
            storage=storage,
            base_url=settings.base_url,
            data_dir=settings.data_dir,
            stale_after=timedelta(seconds=settings.letter_stale_after_s),
        )

    return Job("letters", work, every_s=every_s)
