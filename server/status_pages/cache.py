"""Rendered public pages (HTML, feeds, badges), kept until a change makes them stale.

A visitor's request is answered from here without touching the database: the page is
rendered once per (what, page, token) and kept for `ttl` seconds at most. Sooner than
that, an event of the organization that changes what its pages show (a monitor's status,
an incident, a page or announcement edited: `STALE_ON`) drops every entry of the
organization. Events reach every API process through the event log, so an edit made in
one process, or a check in the worker, reaches all of them. The TTL bounds what no event
tells (today's uptime moving with each check, a plan losing its module). Visitors who ask
for an entry while it is being rendered wait for that one render (`through`), so an
expiry under load costs one render, not one per connection.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

STALE_ON = frozenset(
    {
        "monitor.status", "monitor.deleted", "incident.opened", "incident.acknowledged",
        "incident.resolved", "incident.deleted", "status_page.changed",
    }
)  # fmt: skip
Key = tuple[object, ...]


@dataclass(frozen=True)
class Rendered:
    org_id: int
    body: bytes
    gzipped: bytes
    content_type: str
    etag: str
    expires: float  # monotonic seconds


def rendered(org_id: int, body: bytes, content_type: str, ttl: float) -> Rendered:
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    return Rendered(org_id, body, gzip.compress(body, compresslevel=6), content_type, etag,
                    time.monotonic() + ttl)  # fmt: skip


class PageCache:
    def __init__(self, *, ttl: float = 60.0, max_entries: int = 2048) -> None:
        self.ttl = ttl
        self._max = max_entries
        self._entries: OrderedDict[Key, Rendered] = OrderedDict()
        self._rendering: dict[Key, asyncio.Future[Rendered]] = {}

    async def through(self, key: Key, render: Callable[[], Awaitable[Rendered]]) -> Rendered:
        """The entry of `key`: kept, being rendered (wait for it), or rendered now. An error
        of the render reaches every request that waited for it, and nothing is kept."""
        found = self.get(key)
        if found is not None:
            return found
        pending = self._rendering.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Rendered] = asyncio.get_running_loop().create_future()
        self._rendering[key] = future
        try:
            entry = self.put(key, await render())
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: nobody may be waiting
            raise
        finally:
            del self._rendering[key]
        future.set_result(entry)
        return entry

    def get(self, key: Key) -> Rendered | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if found.expires <= time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return found

    def put(self, key: Key, entry: Rendered) -> Rendered:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)  # the least recently read
        return entry

    def forget_org(self, org_id: int) -> None:
        for key in [key for key, entry in self._entries.items() if entry.org_id == org_id]:
            del self._entries[key]

    def on_event(self, org_id: int, event_type: str) -> None:
        """The event bus's listener."""
        if event_type in STALE_ON:
            self.forget_org(org_id)

    def __len__(self) -> int:
        return len(self._entries)
