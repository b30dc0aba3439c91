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


def test_an_outage_is_one_warning_and_one_line_when_back_a_bug_a_traceback_each_time(caplog):
    script = iter(
        [ConnectionRefusedError("database away")] * 5
        + [None, None]
        + [ValueError("a bug"), ValueError("a bug")]
        + [ConnectionRefusedError("away again")]
    )

    async def work():
        failure = next(script, None)  # then every round succeeds
        if failure is not None:
            raise failure

    async def main():
        lifespan = periodic_lifespan(SimpleNamespace(env="development"), "test", work, every_s=0)
        async with lifespan():
            await asyncio.sleep(0.1)

    with caplog.at_level("INFO", logger="guichet.periodic"):
        asyncio.run(main())
    lines = [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    waits = ("WARNING", "periodic work test waits: database unavailable (ConnectionRefusedError)")
    back = ("INFO", "periodic work test resumes: database back", False)
    bug = ("ERROR", "periodic work test failed", True)
    assert lines == [(*waits, False), back, bug, bug, (*waits, False), back]
