"""Moving-window rate limits: in this process by default, or on a `limits` storage (Redis
when several server processes share the limits).

The in-process windows are kept here rather than in `limits`' MemoryStorage: that one
copies a key's whole list of hits and hops to a thread to expire them on most hits, under
a lock the next hit of that key waits on, which cost more than the rest of a cached read.
A deque of hit times per key does the same moving window in O(1) per hit.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # epoch seconds when a request is free again
    # Whole seconds until then, rounded up from the exact time, so a client that waits them
    # (Retry-After) is not refused again for being a fraction of a second early.
    retry_after: int


def _decision(item: RateLimitItem, allowed: bool, remaining: int, reset_time: float) -> Decision:
    return Decision(
        allowed=allowed,
        limit=item.amount,
        remaining=remaining,
        reset_at=int(reset_time),
        retry_after=max(1, math.ceil(reset_time - time.time())),
    )


@lru_cache(maxsize=64)
def _item(limit: str) -> RateLimitItem:
    return parse(limit)


class _Windows:
    """Hit times per (limit, key) within the last window, oldest first."""

    # Keys whose window has emptied are dropped every this many hits, so idle callers
    # (one-off IPs) do not stay in memory.
    SWEEP_EVERY = 10_000

    def __init__(self) -> None:
        self._hits: dict[tuple[RateLimitItem, str], deque[float]] = {}
        self._until_sweep = self.SWEEP_EVERY

    def current(self, item: RateLimitItem, key: str, now: float) -> deque[float]:
        """The hits of `key` still inside the window that ends now."""
        hits = self._hits.setdefault((item, key), deque())
        since = now - item.get_expiry()
        while hits and hits[0] <= since:
            hits.popleft()
        return hits

    def hit(self, item: RateLimitItem, key: str) -> Decision:
        now = time.time()
        hits = self.current(item, key, now)
        allowed = len(hits) < item.amount
        if allowed:
            hits.append(now)
        self._sweep(now)
        return _decision(item, allowed, item.amount - len(hits), self._reset_at(item, hits, now))

    def reset_at(self, item: RateLimitItem, key: str) -> float:
        now = time.time()
        return self._reset_at(item, self.current(item, key, now), now)

    @staticmethod
    def _reset_at(item: RateLimitItem, hits: deque[float], now: float) -> float:
        """When the oldest hit leaves the window (as `limits` reports it)."""
        return (hits[0] if hits else now) + item.get_expiry()

    def clear(self, item: RateLimitItem, key: str) -> None:
        self._hits.pop((item, key), None)

    def _sweep(self, now: float) -> None:
        self._until_sweep -= 1
        if self._until_sweep > 0:
            return
        self._until_sweep = self.SWEEP_EVERY
        for (item, key), hits in list(self._hits.items()):
            if not hits or hits[-1] <= now - item.get_expiry():
                del self._hits[(item, key)]


class RateLimiter:
    def __init__(self, storage: Storage | None = None):
        self._limiter = MovingWindowRateLimiter(storage) if storage is not None else None
        self._windows = _Windows()

    async def hit(self, limit: str, key: str) -> Decision:
        item = _item(limit)
        if self._limiter is None:
            return self._windows.hit(item, key)
        allowed = await self._limiter.hit(item, key)
        stats = await self._limiter.get_window_stats(item, key)
        return _decision(item, allowed, max(0, stats.remaining), stats.reset_time)

    async def test(self, limit: str, key: str) -> bool:
        """Whether a hit would be allowed, without counting one."""
        item = _item(limit)
        if self._limiter is None:
            return len(self._windows.current(item, key, time.time())) < item.amount
        return await self._limiter.test(item, key)

    async def seconds_until_free(self, limit: str, key: str) -> int:
        """When the moving window next frees a slot for this key."""
        item = _item(limit)
        if self._limiter is None:
            reset_time = self._windows.reset_at(item, key)
        else:
            reset_time = (await self._limiter.get_window_stats(item, key)).reset_time
        return max(1, math.ceil(reset_time - time.time()))

    async def clear(self, limit: str, key: str) -> None:
        item = _item(limit)
        if self._limiter is None:
            self._windows.clear(item, key)
        else:
            await self._limiter.clear(item, key)

    # Counting events in a moving window, beyond any limit (a limit stops recording at its
    # amount): the window is a limit's period, such as "15minutes".

    async def record(self, window: str, key: str) -> None:
        await self.hit(f"{_UNBOUNDED}/{window}", key)

    async def count(self, window: str, key: str) -> int:
        item = _item(f"{_UNBOUNDED}/{window}")
        if self._limiter is None:
            return len(self._windows.current(item, key, time.time()))
        stats = await self._limiter.get_window_stats(item, key)
        return _UNBOUNDED - stats.remaining

    async def forget(self, window: str, key: str) -> None:
        await self.clear(f"{_UNBOUNDED}/{window}", key)


_UNBOUNDED = 1_000_000
