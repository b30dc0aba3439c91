"""Periodic work: runs at once, again at each interval, survives a failure, and lets
the round under way finish at shutdown; off in tests."""

import asyncio
from types import SimpleNamespace

from app.core.periodic import periodic_lifespan


def test_runs_repeatedly_survives_failures_and_stops():
    calls = []

    async def work():
        calls.append(len(calls))
        if len(calls) == 2:
            raise RuntimeError("a bad round")

    async def main():
        lifespan = periodic_lifespan(SimpleNamespace(env="development"), "test", work, every_s=0.01)
        async with lifespan():
            await asyncio.sleep(0.1)
        stopped_at = len(calls)
        await asyncio.sleep(0.05)
        return stopped_at

    stopped_at = asyncio.run(main())
    assert stopped_at >= 3  # the failing second round did not stop the loop
    assert len(calls) == stopped_at  # nothing runs after shutdown


def test_off_in_tests():
    calls = []

    async def work():
        calls.append(1)

    async def main():
        async with periodic_lifespan(SimpleNamespace(env="test"), "t", work, every_s=0.01)():
            await asyncio.sleep(0.05)

    asyncio.run(main())
    assert calls == []
