"""The background runner: a job runs at once, again at each interval (at once when it
says more is waiting, or when woken), survives a failure, and lets the round under
way finish at shutdown; off in tests."""

import asyncio
from types import SimpleNamespace

from app.core.periodic import Job, background


def test_runs_repeatedly_survives_failures_and_stops():
    calls = []

    async def work():
        calls.append(len(calls))
        if len(calls) == 2:
            raise RuntimeError("a bad round")

    async def main():
        lifespan = background(SimpleNamespace(env="development"), [Job("test", work, every_s=0.01)])
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
        async with background(SimpleNamespace(env="test"), [Job("t", work, every_s=0.01)])():
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
        lifespan = background(SimpleNamespace(env="development"), [Job("test", work, every_s=0)])
        async with lifespan():
            await asyncio.sleep(0.1)

    with caplog.at_level("INFO", logger="guichet.periodic"):
        asyncio.run(main())
    lines = [
        (r.levelname, r.getMessage(), r.exc_info is not None)
        for r in caplog.records
        if r.getMessage() != "background jobs started"
    ]
    waits = ("WARNING", "background job test waits: database unavailable (ConnectionRefusedError)")
    back = ("INFO", "background job test resumes: database back", False)
    bug = ("ERROR", "background job test failed", True)
    assert lines == [(*waits, False), back, bug, bug, (*waits, False), back]


def test_a_full_batch_runs_again_at_once_and_a_wake_starts_a_round_now():
    rounds = []

    async def batches():
        rounds.append("batch")
        return len(rounds) < 3  # True: more waiting; then nothing left

    woken = []
    letters = Job("letters", lambda: asyncio.sleep(0, woken.append(1)), every_s=3600)

    async def main():
        jobs = [Job("outbox", batches, every_s=3600), letters]
        async with background(SimpleNamespace(env="development"), jobs)():
            await asyncio.sleep(0.05)
            before = len(woken)
            letters.wake()
            await asyncio.sleep(0.05)
            return before, len(woken)

    before, after = asyncio.run(main())
    assert rounds == ["batch"] * 3  # the two full batches ran on at once, then it waited
    assert (before, after) == (1, 2)  # the first round at start-up, the second on wake()


def test_a_round_that_returns_a_count_is_not_taken_for_more():
    rounds = []

    async def reminders():
        rounds.append(1)
        return 12  # e-mails sent: not « more is waiting »

    async def main():
        async with background(SimpleNamespace(env="development"), [Job("r", reminders, 3600)])():
            await asyncio.sleep(0.05)

    asyncio.run(main())
    assert rounds == [1]
