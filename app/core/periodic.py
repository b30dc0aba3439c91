"""Work the application does by itself at intervals (reminders, due dates), in its
own event loop; off in tests, which call the work directly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
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


def periodic_lifespan(
    settings: Any, name: str, work: Callable[[], Awaitable[Any]], *, every_s: float = 3600
):
    """For ``Litestar(lifespan=[...])``: run ``work`` now and then every ``every_s``
    seconds; a failure is logged and tried again next time. At shutdown the round
    under way finishes. The work must be safe with several workers (claims)."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any = None):
        if settings.env == "test":
            yield
            return
        stop = asyncio.Event()

        async def loop() -> None:
            rounds = Rounds(log, f"periodic work {name}", work=name)
            while not stop.is_set():
                try:
                    await work()
                    rounds.succeeded()
                except Exception as exc:
                    rounds.failed(exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=every_s)

        task = asyncio.create_task(loop(), name=f"guichet-{name}")
        try:
            yield
        finally:
            stop.set()
            await task

    return lifespan
