"""Redis, when several server processes share state (UPMETR_REDIS_URL).

Rate limits count in Redis through `limits`' own storage (moving windows kept as sorted
lists by a Lua script there), on redis-py's asyncio client, so a caller's requests count the
same whichever API process answers them.
"""

from __future__ import annotations

from limits.aio.storage import RedisStorage, Storage


def rate_limit_storage(redis_url: str | None) -> Storage | None:
    """The storage the rate limits of `redis_url` count in; None to count in this process."""
    if redis_url is None:
        return None
    # `limits` names its asyncio storages async+<scheme>.
    return RedisStorage(f"async+{redis_url}", implementation="redispy", key_prefix="upmetr")
