"""Moving-window rate limits on the `limits` library (memory storage; Redis when scaled out)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # epoch seconds when a request is free again


@lru_cache(maxsize=64)
def _item(limit: str) -> RateLimitItem:
    return parse(limit)


class RateLimiter:
    def __init__(self, storage: Storage | None = None):
        self._limiter = MovingWindowRateLimiter(storage or MemoryStorage())

    async def hit(self, limit: str, key: str) -> Decision:
        item = _item(limit)
        allowed = await self._limiter.hit(item, key)
        stats = await self._limiter.get_window_stats(item, key)
        return Decision(
            allowed=allowed,
            limit=item.amount,
            remaining=max(0, stats.remaining),
            reset_at=int(stats.reset_time),
        )

    async def test(self, limit: str, key: str) -> bool:
        """Whether a hit would be allowed, without counting one."""
        return await self._limiter.test(_item(limit), key)

    async def seconds_until_free(self, limit: str, key: str) -> int:
        """When the moving window next frees a slot for this key."""
        stats = await self._limiter.get_window_stats(_item(limit), key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def clear(self, limit: str, key: str) -> None:
        await self._limiter.clear(_item(limit), key)

    # Counting events in a moving window, beyond any limit (a limit stops recording at its
    # amount): the window is a limit's period, such as "15minutes".

    async def record(self, window: str, key: str) -> None:
        await self._limiter.hit(_item(f"{_UNBOUNDED}/{window}"), key)

    async def count(self, window: str, key: str) -> int:
        stats = await self._limiter.get_window_stats(_item(f"{_UNBOUNDED}/{window}"), key)
        return _UNBOUNDED - stats.remaining

    async def forget(self, window: str, key: str) -> None:
        await self._limiter.clear(_item(f"{_UNBOUNDED}/{window}"), key)


_UNBOUNDED = 1_000_000
