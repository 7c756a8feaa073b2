"""Engine and session factory: SQLite gets the pragmas that keep it fast and safe,
PostgreSQL (asyncpg) a pool that replaces connections the server closed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic_core import from_json
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from server.db import inline_sqlite, wide_integers  # noqa: F401 - registers PostgreSQL's types

SessionMaker = async_sessionmaker[AsyncSession]
# SQLAlchemy's default pool: 5 kept open, 10 more while writers wait for the lock.
_POOL_SIZE, _POOL_OVERFLOW = 5, 10
# JSON columns read by pydantic-core's parser: about 0.12 us for a short list where
# json.loads took 0.8 us, which counted on pages that read a few JSON columns a row.
_JSON = {"json_deserializer": from_json}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; NORMAL is durable in WAL mode except on power
    # loss of the last transactions (https://www.sqlite.org/pragma.html#pragma_synchronous).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # How long a write waits for the lock; inline_sqlite waits off the event loop.
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if _inline(parsed):
        # Statements on the loop, waits for locks in threads (server/db/inline_sqlite.py).
        # One thread per connection at most, each waiting for the write lock.
        waits = ThreadPoolExecutor(_POOL_SIZE + _POOL_OVERFLOW, thread_name_prefix="sqlite-wait")
        uri = str(parsed.query.get("uri", "")).lower() in ("true", "1")
        creator = inline_sqlite.connector(parsed.database or "", uri=uri, waits=waits)
        engine = create_async_engine(
            url,
            async_creator=creator,
            pool_size=_POOL_SIZE,
            max_overflow=_POOL_OVERFLOW,
            **_JSON,
        )
    elif parsed.get_backend_name() == "postgresql":
        engine = create_async_engine(
            url,
            pool_size=_POOL_SIZE,
            max_overflow=_POOL_OVERFLOW,
            # A database server may close a connection (a restart, a failover, a proxy's
            # idle timeout): a checkout tests it first and replaces a dead one rather than
            # failing the request with it; and none is kept past half an hour.
            pool_pre_ping=True,
            pool_recycle=1800,
            **_JSON,
        )
    else:
        engine = create_async_engine(url, pool_pre_ping=not url.startswith("sqlite"), **_JSON)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _inline(url: URL) -> bool:
    """Whether statements to `url` run on the loop (an SQLite file through aiosqlite)."""
    database = url.database or ""
    in_memory = database in ("", ":memory:") or "mode=memory" in database
    return url.drivername == "sqlite+aiosqlite" and not in_memory


class InlineSession(AsyncSession):
    """Closes in the calling task. AsyncSession closes in a task of its own, so that no
    cancellation stops a close halfway, which costs a loop iteration during which the
    connection stays out of the pool; under load the pool ran dry and opened a connection
    every other request. With statements on the loop a close never suspends (its rollback
    runs inline), so nothing can cancel it halfway."""

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        await self.close()


def create_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    session = InlineSession if _inline(engine.url) else AsyncSession
    return async_sessionmaker(engine, class_=session, expire_on_commit=False)
