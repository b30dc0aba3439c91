"""Rate limits: a failure of ours inside an attempt does not count against the person;
a refused guess does. In the process and in Redis (shared by workers)."""

import asyncio
import uuid

import pytest
from litestar.exceptions import TooManyRequestsException

from app.core.ratelimit import Limit, RateLimiter

REDIS_URL = "redis://127.0.0.1:6379/10"


@pytest.fixture(params=["process", "redis"])
def limiter_url(request):
    return None if request.param == "process" else REDIS_URL


def run_with(url, scenario):
    async def main():
        limiter = RateLimiter(url)
        try:
            return await scenario(limiter, Limit(f"test-{uuid.uuid4().hex}", 3, 60))
        finally:
            await limiter.close()

    return asyncio.run(main())


async def attempts(limiter, limit, outcomes):
    """Run one attempt per outcome ("ok", "wrong", "outage"); return what each gave."""
    seen = []
    for outcome in outcomes:
        try:
            async with limiter.attempt(limit, "person@example.fr"):
                if outcome == "outage":
                    raise ConnectionRefusedError("database away")
            seen.append(outcome)
        except ConnectionRefusedError:
            seen.append("503")
        except TooManyRequestsException as refused:
            assert int(refused.headers["Retry-After"]) >= 1
            seen.append("429")
    return seen


def test_attempts_that_meet_an_outage_are_not_counted(limiter_url):
    outcomes = ["outage"] * 10 + ["wrong", "wrong", "wrong", "wrong"]

    async def scenario(limiter, limit):
        return await attempts(limiter, limit, outcomes)

    assert run_with(limiter_url, scenario) == ["503"] * 10 + ["wrong"] * 3 + ["429"]


def test_refused_attempts_stay_counted_and_a_reset_clears_them(limiter_url):
    async def scenario(limiter, limit):
        first = await attempts(limiter, limit, ["wrong"] * 4)
        await limiter.reset(limit, "person@example.fr")
        return first, await attempts(limiter, limit, ["wrong"])

    assert run_with(limiter_url, scenario) == (["wrong"] * 3 + ["429"], ["wrong"])


def test_an_exclusive_slot_is_held_by_one_request_at_a_time(limiter_url):
    async def scenario(limiter, _limit):
        key = uuid.uuid4().hex
        async with limiter.exclusive("autosave", key) as first:
            async with limiter.exclusive("autosave", key) as second:
                during = (first, second)
            async with limiter.exclusive("autosave", "another file") as elsewhere:
                pass
        async with limiter.exclusive("autosave", key) as after:
            pass
        with pytest.raises(RuntimeError):
            async with limiter.exclusive("autosave", key):
                raise RuntimeError("the handler failed")
        async with limiter.exclusive("autosave", key) as after_failure:
            pass
        return during, elsewhere, after, after_failure

    assert run_with(limiter_url, scenario) == ((True, False), True, True, True)
