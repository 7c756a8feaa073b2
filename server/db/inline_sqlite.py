"""SQLite under SQLAlchemy's aiosqlite dialect without a thread hop per statement.

aiosqlite sends every call (cursor, execute, fetchall, close, commit) to its own thread
and back: about 1.2 ms per statement on a loaded event loop, measured here, for statements
SQLite itself answers in microseconds. This module gives the dialect a connection with
aiosqlite's async surface (`async_creator`) that runs statements on the loop thread, and
moves off it only what can wait:

1. A write starts with BEGIN IMMEDIATE, so the write lock is taken before any statement of
   the transaction runs (never a read transaction upgraded later, which fails at once with
   SQLITE_BUSY_SNAPSHOT whatever the timeout). Writes are the statements that made the
   sqlite3 module's legacy mode begin a transaction (INSERT, UPDATE, DELETE, REPLACE), and
   a SAVEPOINT outside a transaction; reads outside a transaction run in autocommit, as
   they did under aiosqlite.
2. Statements run on the loop with the connection's busy timeout at 0. When one meets a
   lock (SQLITE_BUSY or SQLITE_LOCKED) it runs again in a thread with the busy timeout the
   application set (`PRAGMA busy_timeout=N` is kept, not applied inline): waiting for the
   database never blocks the loop, and gives up after N ms as before. A statement that
   fails has no effect, so running it again is safe.
3. `executemany` of a long batch runs in a thread; a short one (up to `SHORT_BATCH` rows,
   such as the one or two rows an ORM insert of a list sends) runs on the loop like a
   single statement: its thread hop cost more than the insert, with the write lock held.
4. Writers of one process queue for the write lock on an asyncio lock before BEGIN
   IMMEDIATE, and each hands it on at its commit or rollback. Without it they met the lock
   in SQLite, whose busy handler sleeps in steps of up to 100 ms: a write burst answered in
   seconds at p99. The busy timeout still covers other processes (the worker).

The pool hands a connection to one task at a time, so the thread and the loop never use
it at once; a task cancelled while its statement runs in the thread waits for the thread
before the cancellation goes on, for the same reason.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial
from typing import Any, TypeVar

T = TypeVar("T")

_FIRST_WORD = re.compile(r"\s*(\w+)")
_BUSY_TIMEOUT = re.compile(r"\s*PRAGMA\s+busy_timeout\s*=\s*(\d+)\s*;?\s*$", re.IGNORECASE)
_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE"})
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6
DEFAULT_BUSY_TIMEOUT_MS = 5000
SHORT_BATCH = 16


@lru_cache(maxsize=1024)
def _starts_write(sql: str) -> bool:
    """Whether `sql` needs the write lock (SQLAlchemy repeats the same texts, hence the cache)."""
    match = _FIRST_WORD.match(sql)
    if match is None:
        return False
    word = match.group(1).upper()
    if word == "WITH":  # a CTE in front of a write
        return any(re.search(rf"\b{w}\b", sql, re.IGNORECASE) for w in _WRITES)
    return word in _WRITES or word == "SAVEPOINT"


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:  # pragma: no cover - sqlite3 before Python 3.11
        return "locked" in str(error) or "busy" in str(error)
    return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)


class InlineCursor:
    """aiosqlite.Cursor's surface over a sqlite3 cursor."""

    def __init__(self, owner: InlineConnection):
        self._owner = owner
        self._cursor = owner.sqlite.cursor()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        await self._owner.run(sql, partial(self._cursor.execute, sql, parameters))
        return self

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> InlineCursor:
        inline = len(rows) <= SHORT_BATCH
        await self._owner.run(sql, partial(self._cursor.executemany, sql, rows), inline=inline)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _ImmediateQueue:
    """SQLAlchemy sets the isolation level through aiosqlite's queue (`_tx`); here the
    function runs at once, on the loop, like every other call."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:
            future.set_exception(error)


class InlineConnection:
    """aiosqlite.Connection's surface (what SQLAlchemy's aiosqlite dialect calls)."""

    def __init__(
        self, sqlite: sqlite3.Connection, waits: ThreadPoolExecutor, writers: asyncio.Lock
    ):
        sqlite.execute("PRAGMA busy_timeout=0")
        self.sqlite = sqlite
        self.busy_timeout_ms = DEFAULT_BUSY_TIMEOUT_MS
        self._waits = waits
        self._writers = writers  # shared by the connections of one database (step 4)
        self._writing = False
        # The names SQLAlchemy's adapter reads: `_connection` (is it open), `_conn` and
        # `_tx` (setting the isolation level).
        self._connection: sqlite3.Connection | None = sqlite
        self._conn = sqlite
        self._tx = _ImmediateQueue()

    @property
    def isolation_level(self) -> str | None:
        return self.sqlite.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self)

    async def run(self, sql: str, call: Callable[[], T], *, inline: bool = True) -> T | None:
        """Step 1 (the write lock first), then `call` on the loop or, when it must wait, off it."""
        kept = _BUSY_TIMEOUT.match(sql)
        if kept is not None:
            self.busy_timeout_ms = int(kept.group(1))
            return None
        if not self.sqlite.in_transaction and _starts_write(sql):
            await self._begin_write()
        if not inline:
            return await self._waiting(call)
        return await self._locked(call)

    async def _locked(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
        return await self._waiting(call)

    async def _waiting(self, call: Callable[[], T]) -> T:
        """`call` in a thread, waiting for locks up to the busy timeout (step 2)."""
        future = asyncio.get_running_loop().run_in_executor(
            self._waits, _with_busy_timeout, self.sqlite, self.busy_timeout_ms, call
        )
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # The thread still uses the connection; hand it back only once it is done.
            await asyncio.wait([future])
            raise

    async def _begin_write(self) -> None:
        """Step 4, then step 1: this process's turn to write, then SQLite's write lock."""
        if not self._writing:
            try:
                async with asyncio.timeout(self.busy_timeout_ms / 1000):
                    await self._writers.acquire()
            except TimeoutError:
                # As SQLite says it when its own busy timeout runs out.
                raise sqlite3.OperationalError("database is locked") from None
            self._writing = True
        try:
            await self._locked(partial(self.sqlite.execute, "BEGIN IMMEDIATE"))
        except BaseException:
            self._hand_on()
            raise

    def _hand_on(self) -> None:
        if self._writing:
            self._writing = False
            self._writers.release()

    async def commit(self) -> None:
        try:
            if self.sqlite.in_transaction:
                await self._locked(self.sqlite.commit)
        finally:
            if not self.sqlite.in_transaction:
                self._hand_on()

    async def rollback(self) -> None:
        if self.sqlite.in_transaction:
            self.sqlite.rollback()
        self._hand_on()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self.sqlite.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Force close (SQLAlchemy's terminate); an open write transaction ends with it."""
        if self._connection is not None:
            self._connection = None
            self.sqlite.close()
        self._hand_on()


def _with_busy_timeout(sqlite: sqlite3.Connection, timeout_ms: int, call: Callable[[], T]) -> T:
    sqlite.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")
    try:
        return call()
    finally:
        sqlite.execute("PRAGMA busy_timeout=0")


def connector(path: str, *, uri: bool, waits: ThreadPoolExecutor) -> Callable[[], Any]:
    """The engine's `async_creator`: a new InlineConnection to `path`."""
    writers = asyncio.Lock()

    async def connect() -> InlineConnection:
        # isolation_level=None: no implicit BEGIN from the sqlite3 module; step 1 begins.
        sqlite = sqlite3.connect(path, uri=uri, isolation_level=None, check_same_thread=False)
        return InlineConnection(sqlite, waits, writers)

    return connect
