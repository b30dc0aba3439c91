"""Fixed-window rate limits, per IP and per account.

In Redis (``REDIS_URL``) the counters are shared by every worker (atomic INCR);
without it they live in the process, which is right for one worker only.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from litestar.exceptions import TooManyRequestsException


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    max_hits: int
    window_s: int


class RateLimiter:
    def __init__(self, redis_url: str | None = None):
        self._redis = None
        if redis_url:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(redis_url)
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = asyncio.Lock()

    async def hit(self, limit: Limit, key: str) -> int:
        """Count one hit; return the seconds to wait when over the limit, else 0."""
        now = time.time()
        window = int(now // limit.window_s)
        name = f"guichet:rl:{limit.name}:{key}:{window}"
        retry_after = max(1, int((window + 1) * limit.window_s - now))
        if self._redis is not None:
            async with self._redis.pipeline(transaction=True) as pipe:
                count, _ = await pipe.incr(name).expire(name, limit.window_s + 1).execute()
        else:
            async with self._lock:
                self._purge(now)
                count = self._counts.get(name, (0, 0.0))[0] + 1
                self._counts[name] = (count, (window + 1) * limit.window_s)
        return retry_after if count > limit.max_hits else 0

    async def check(self, limit: Limit, key: str) -> None:
        """Count a hit and refuse with 429 (and Retry-After) when over the limit."""
        wait = await self.hit(limit, key)
        if wait:
            raise TooManyRequestsException(headers={"Retry-After": str(wait)})

    async def reset(self, limit: Limit, key: str) -> None:
        window = int(time.time() // limit.window_s)
        name = f"guichet:rl:{limit.name}:{key}:{window}"
        if self._redis is not None:
            await self._redis.delete(name)
        else:
            self._counts.pop(name, None)

    def _purge(self, now: float) -> None:
        if len(self._counts) > 10_000:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
