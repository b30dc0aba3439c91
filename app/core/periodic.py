"""Work the application does by itself: one runner for every background job.

Each domain describes its work as a ``Job`` (the outbox's sender, letter batches,
review and report reminders, dated instalments, audit checkpoints, the session
sweep); ``create_app`` hands them all to one ``background`` lifespan, which runs each
job's rounds in its own task of the application's loop, logs failures the same way,
and at shutdown lets the rounds under way finish. Off in tests, which call the work
directly. Every job must be safe with several workers (claims, idempotent writes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from app.core.db import is_unavailable

log = logging.getLogger("guichet.periodic")


class Rounds:
    """How a background loop reports its rounds: a failure of the code with its
    traceback each time; the database away as one warning when the first round meets
    it and one line when a round succeeds again (not a traceback every few seconds)."""

    def __init__(self, logger: logging.Logger, what: str, **extra: Any):
        self.logger, self.what, self.extra, self.waiting = logger, what, extra, False

    def failed(self, exc: BaseException) -> None:
        if not is_unavailable(exc):
            self.logger.error("%s failed", self.what, exc_info=exc, extra=self.extra)
        elif not self.waiting:
            self.waiting = True
            self.logger.warning(
                "%s waits: database unavailable (%s)",
                self.what,
                type(exc).__name__,
                extra=self.extra,
            )

    def succeeded(self) -> None:
        if self.waiting:
            self.waiting = False
            self.logger.info("%s resumes: database back", self.what, extra=self.extra)


@dataclass
class Job:
    """Background work: ``work`` runs a round now and then every ``every_s`` seconds,
    at once again when it returns ``True`` itself (more is waiting: a full batch; any
    other result, a count or a record, is only the round's), and at once
    when ``wake()`` is called (a publication's letters). ``grace_s``: how long the round
    under way may take to finish at shutdown before it is cancelled."""

    name: str
    work: Callable[[], Awaitable[Any]]
    every_s: float
    grace_s: float = 30
    _wake: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        rounds = Rounds(log, f"background job {self.name}", job=self.name)
        while not stop.is_set():
            more = False
            try:
                more = await self.work() is True
                rounds.succeeded()
            except Exception as exc:
                rounds.failed(exc)
            if more:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.every_s)
            self._wake.clear()


def background(settings: Any, jobs: Iterable[Job], *, enabled: bool | None = None):
    """For ``Litestar(lifespan=[...])``: the one runner of every background job.

    ``enabled`` defaults to off when ``GUICHET_ENV=test``."""
    jobs = list(jobs)
    if enabled is None:
        enabled = settings.env != "test"

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any = None) -> AsyncIterator[None]:
        if not enabled:
            yield
            return
        stop = asyncio.Event()
        tasks = [
            (job, asyncio.create_task(job.run(stop), name=f"guichet-{job.name}")) for job in jobs
        ]
        log.info("background jobs started", extra={"jobs": [job.name for job in jobs]})
        try:
            yield
        finally:
            stop.set()
            for job, task in tasks:
                job.wake()
                try:
                    await asyncio.wait_for(task, timeout=job.grace_s)
                except TimeoutError:
                    log.warning("background job cancelled at shutdown", extra={"job": job.name})

    return lifespan
