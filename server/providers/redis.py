"""Redis, when several server processes share state (UPMETR_REDIS_URL).

Rate limits count in Redis through `limits`' own storage (moving windows kept as sorted
lists by a Lua script there), on redis-py's asyncio client, so a caller's requests count the
same whichever API process answers them. Live events (server/events/redis_stream.py) and
wake-ups (server/engines/redis_wakeups.py) go through the client `connect` makes.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from limits.aio.storage import RedisStorage, Storage


def connect(redis_url: str) -> aioredis.Redis:
    """A client (a pool of connections) that answers text."""
    return aioredis.Redis.from_url(redis_url, decode_responses=True, health_check_interval=30)


def rate_limit_storage(redis_url: str | None) -> Storage | None:
    """The storage the rate limits of `redis_url` count in; None to count in this process."""
    if redis_url is None:
        return None
    # `limits` names its asyncio storages async+<scheme>.
    return RedisStorage(f"async+{redis_url}", implementation="redispy", key_prefix="upmetr")
