"""Live events (`GET /events`, Server-Sent Events) as an iterator that survives reconnects.

    async for event in api.events.stream():      # AsyncClient
        if isinstance(event.data, MonitorStatusChanged):
            print(event.id, event.data.monitor_id, event.data.status)
    for event in api.events.stream():            # Client (blocks between events)
        ...

The stream of one call never ends by itself: it reconnects after a server restart or a
dropped connection and resumes after the last event it yielded, so no event is lost or
repeated while the server still buffers it. When it no longer does, an event of type
`stream.reset` says that events were missed and the caller should re-read its state.

Each event's `data` is its model in `shared.api.events` (`MonitorChecked`, ...), or
`OtherEvent` for a type this client does not know.
"""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, SSEError, aconnect_sse, connect_sse

from shared.api.events import Event, parse_event
from shared.client.call import Call, no_content
from shared.client.core import AsyncCore, SyncCore, _CoreBase, _error, retry_after_seconds
from shared.client.errors import ApiConnectionError, ApiError, ServerError

_STREAM_CALL: Call[None] = Call("GET", "/events", no_content)

# Told True when a stream is established, False when it is lost and a reconnect is due
# (a console shows "live" or "reconnecting").
ConnectionCallback = Callable[[bool], None]


class _Reconnect(Exception):
    """This connection is over; wait `delay` seconds (None: the back-off) and connect again."""

    def __init__(self, error: Exception, delay: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.delay = delay


class _Stream:
    """The decisions of one `stream()` call; the sync and async loops only do the I/O.

    1. Connect with the client's bearer token and, once an event id is known, `Last-Event-ID`.
    2. A 200 event stream resets the back-off. Each message with an id moves the resume
       point (an id-only message just sets it); each message with data is yielded.
       Comments (the server's `: ping` heartbeats) are skipped by the SSE decoder.
    3. 401: refresh the tokens through the client (as any call does) and reconnect at once;
       a 401 right after a refresh, or with an API key, is raised as `Unauthorized`.
    4. Any other 4xx but 429 is raised: retrying cannot change the answer.
    5. 429: wait `Retry-After` (at most `max_delay`), then reconnect.
    6. The stream ending (server shutdown, or the server dropped a reader that fell behind),
       a 5xx, a connection error, or no byte for `read_timeout` (heartbeats stopped): wait
       the back-off, then reconnect. Back-off: min(max_delay, initial_delay * 2**n) with full
       jitter in its upper half, n counting the failures since the last good connection
       (AWS Architecture Blog, "Exponential Backoff And Jitter").
    7. With `max_reconnects`, that many failures in a row raise the last error.
    8. `on_connection(True)` on each good connection, `on_connection(False)` on each loss.
    """

    def __init__(
        self,
        core: _CoreBase,
        *,
        last_event_id: int | None,
        max_reconnects: int | None,
        read_timeout: float,
        initial_delay: float,
        max_delay: float,
        on_connection: ConnectionCallback | None = None,
    ) -> None:
        self.core = core
        self.on_connection = on_connection
        self.last_event_id = last_event_id
        self.max_reconnects = max_reconnects
        self.timeout = httpx.Timeout(read_timeout, connect=10.0)
        self.initial_delay = initial_delay
        self.max_delay = max_delay
        self.failures = 0
        self.refreshed = False

    def headers(self) -> dict[str, str]:
        headers = {}
        token = self.core._bearer()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = str(self.last_event_id)
        return headers

    def should_refresh(self, response: httpx.Response, sent_with: str | None) -> bool:
        """After a 401: True to refresh and reconnect; raises when that cannot help."""
        if not self.refreshed and self.core._can_refresh(_STREAM_CALL, sent_with):
            self.refreshed = True
            return True
        raise _error(response)

    def check(self, response: httpx.Response) -> None:
        """Raise a permanent error, or `_Reconnect` for a transient one; pass a good stream."""
        if response.status_code == 200:
            self.core.rate_limited_until = None  # answered: the server takes requests again
            return
        error = _error(response)
        if response.status_code == 429:
            hinted = retry_after_seconds(response)
            self.core.rate_limited(hinted if hinted is not None else self.initial_delay)
            raise _Reconnect(error, None if hinted is None else min(hinted, self.max_delay))
        if isinstance(error, ServerError):
            raise _Reconnect(error)
        raise error

    def connected(self) -> None:
        self.failures = 0
        self.refreshed = False
        if self.on_connection is not None:
            self.on_connection(True)

    def received(self, message: ServerSentEvent) -> Event | None:
        if message.id:
            with contextlib.suppress(ValueError):
                self.last_event_id = int(message.id)
        if not message.data:  # not an event (WHATWG HTML 9.2.6: empty data is not dispatched)
            return None
        data: Any = json.loads(message.data)
        if not isinstance(data, dict):  # not an event of this API: keep it whole
            data = {"value": data}
        return Event.of(self.last_event_id or 0, parse_event(message.event, data))

    def ended(self) -> ApiConnectionError:
        url = self.core.base_url
        return ApiConnectionError(f"the server at {url} ended the event stream", url=url)

    def transport_error(self, exc: Exception) -> _Reconnect:
        if isinstance(exc, httpx.TransportError):
            return _Reconnect(self.core._connection_error(exc))
        return _Reconnect(ApiError(f"not an event stream: {exc}", status=200))

    def delay(self, reconnect: _Reconnect) -> float:
        """Seconds to wait before the next attempt; raises once the attempts are spent."""
        if self.on_connection is not None:
            self.on_connection(False)
        self.failures += 1
        if self.max_reconnects is not None and self.failures > self.max_reconnects:
            raise reconnect.error
        if reconnect.delay is not None:
            return reconnect.delay
        ceiling = min(self.max_delay, self.initial_delay * 2 ** (self.failures - 1))
        return random.uniform(ceiling / 2, ceiling)


_STREAM_ERRORS = (httpx.TransportError, SSEError)


class AsyncEvents:
    """`api.events` of `AsyncClient`."""

    def __init__(self, core: AsyncCore) -> None:
        self._core = core

    async def stream(
        self,
        *,
        last_event_id: int | None = None,
        max_reconnects: int | None = None,
        read_timeout: float = 60.0,
        initial_delay: float = 0.5,
        max_delay: float = 30.0,
        on_connection: ConnectionCallback | None = None,
    ) -> AsyncGenerator[Event, None]:
        """Live events of the organization, resuming after `last_event_id` when given."""
        state = _Stream(
            self._core,
            last_event_id=last_event_id,
            max_reconnects=max_reconnects,
            read_timeout=read_timeout,
            initial_delay=initial_delay,
            max_delay=max_delay,
            on_connection=on_connection,
        )
        http = self._core.http
        while True:
            try:
                sent_with = self._core._bearer()
                async with aconnect_sse(
                    http, "GET", "events", headers=state.headers(), timeout=state.timeout
                ) as source:
                    response = source.response
                    if response.status_code == 401:
                        await response.aread()
                        if state.should_refresh(response, sent_with):
                            await self._refresh(sent_with)
                            continue
                    if response.status_code != 200:
                        await response.aread()
                    state.check(response)
                    state.connected()
                    async for message in source.aiter_sse():
                        event = state.received(message)
                        if event is not None:
                            yield event
                raise _Reconnect(state.ended())
            except _STREAM_ERRORS as exc:
                reconnect = state.transport_error(exc)
            except _Reconnect as exc:
                reconnect = exc
            await self._core.sleep(state.delay(reconnect))

    async def _refresh(self, sent_with: str | None) -> None:
        # The same lock as the client's calls: a refresh token is spent only once.
        async with self._core._refresh_lock:
            if self._core._bearer() == sent_with:
                await self._core.execute(self._core._refresh_call())


class SyncEvents:
    """`api.events` of `Client`: the same stream, blocking between events."""

    def __init__(self, core: SyncCore) -> None:
        self._core = core

    def stream(
        self,
        *,
        last_event_id: int | None = None,
        max_reconnects: int | None = None,
        read_timeout: float = 60.0,
        initial_delay: float = 0.5,
        max_delay: float = 30.0,
        on_connection: ConnectionCallback | None = None,
    ) -> Generator[Event, None, None]:
        """Live events of the organization, resuming after `last_event_id` when given."""
        state = _Stream(
            self._core,
            last_event_id=last_event_id,
            max_reconnects=max_reconnects,
            read_timeout=read_timeout,
            initial_delay=initial_delay,
            max_delay=max_delay,
            on_connection=on_connection,
        )
        http = self._core.http
        while True:
            try:
                sent_with = self._core._bearer()
                with connect_sse(
                    http, "GET", "events", headers=state.headers(), timeout=state.timeout
                ) as source:
                    response = source.response
                    if response.status_code == 401:
                        response.read()
                        if state.should_refresh(response, sent_with):
                            if self._core._bearer() == sent_with:
                                self._core.execute(self._core._refresh_call())
                            continue
                    if response.status_code != 200:
                        response.read()
                    state.check(response)
                    state.connected()
                    for message in source.iter_sse():
                        event = state.received(message)
                        if event is not None:
                            yield event
                raise _Reconnect(state.ended())
            except _STREAM_ERRORS as exc:
                reconnect = state.transport_error(exc)
            except _Reconnect as exc:
                reconnect = exc
            self._core.sleep(state.delay(reconnect))
