"""Fixed-window rate limits, per IP and per account.

In Redis (``REDIS_URL``) the counters are shared by every worker (atomic INCR);
without it they live in the process, which is right for one worker only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
        self._slots: set[str] = set()
        self._lock = asyncio.Lock()

    async def hit(self, limit: Limit, key: str) -> int:
        """Count one hit; return the seconds to wait when over the limit, else 0."""
        now = time.time()
        window = int(now // limit.window_s)
        retry_after = max(1, int((window + 1) * limit.window_s - now))
        count = await self._add(limit, key, window, 1)
        return retry_after if count > limit.max_hits else 0

    async def _add(self, limit: Limit, key: str, window: int, step: int) -> int:
        name = f"guichet:rl:{limit.name}:{key}:{window}"
        if self._redis is not None:
            async with self._redis.pipeline(transaction=True) as pipe:
                count, _ = await pipe.incrby(name, step).expire(name, limit.window_s + 1).execute()
            return count
        async with self._lock:
            self._purge(time.time())
            count = self._counts.get(name, (0, 0.0))[0] + step
            self._counts[name] = (count, (window + 1) * limit.window_s)
        return count

    async def check(self, limit: Limit, key: str) -> None:
        """Count a hit and refuse with 429 (and Retry-After) when over the limit."""
        wait = await self.hit(limit, key)
        if wait:
            raise TooManyRequestsException(headers={"Retry-After": str(wait)})

    @asynccontextmanager
    async def attempt(self, limit: Limit, key: str) -> AsyncIterator[None]:
        """``check`` for what the block does; when the block fails (the database away, a
        bug) the hit is taken back: the client learnt nothing from it, and a person must
        not be locked out by our outage."""
        window = int(time.time() // limit.window_s)
        await self.check(limit, key)
        try:
            yield
        except Exception:
            await self._add(limit, key, window, -1)
            raise

    async def take_back(self, limit: Limit, key: str) -> None:
        """Un-count one hit of this window (one that turned out legitimate)."""
        await self._add(limit, key, int(time.time() // limit.window_s), -1)

    @asynccontextmanager
    async def exclusive(self, name: str, key: str, ttl_s: int = 30) -> AsyncIterator[bool]:
        """One at a time per key (every worker, with Redis): yields False when another
        request holds it. ``ttl_s`` frees a slot whose holder died."""
        slot = f"guichet:slot:{name}:{key}"
        if self._redis is not None:
            acquired = bool(await self._redis.set(slot, 1, nx=True, ex=ttl_s))
        else:
            acquired = slot not in self._slots
            self._slots.add(slot)
        try:
            yield acquired
        finally:
            if acquired:
                if self._redis is not None:
                    await self._redis.delete(slot)
                else:
                    self._slots.discard(slot)

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
