"""Work the application does by itself at intervals (reminders, due dates), in its
own event loop; off in tests, which call the work directly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("guichet.periodic")


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
            while not stop.is_set():
                try:
                    await work()
                except Exception:
                    log.exception("periodic work failed", extra={"work": name})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=every_s)

        task = asyncio.create_task(loop(), name=f"guichet-{name}")
        try:
            yield
        finally:
            stop.set()
            await task

    return lifespan
