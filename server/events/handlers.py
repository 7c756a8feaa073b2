"""HTTP handler of /events: the organization's live events as a Server-Sent Events stream."""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import web

from server.events.bus import EVENT_BUS, Subscription
from server.http import sse
from server.http.errors import BadRequest
from server.http.routing import Call
from shared.api.events import MAX_EVENT_ID, EventsQuery

# How often an idle stream looks whether its client has gone (aiohttp does not tell it).
LIVENESS_CHECK_SECONDS = 1.0
INBOX_EVENT = "notification.created"


async def stream(call: Call) -> web.StreamResponse:
    """GET /events

    1. The resume point is the `Last-Event-ID` header (what EventSource sends on a
       reconnect), else `?last_event_id=`; a header that is not an event id is a 400.
    2. Subscribe before the headers go out, so nothing published meanwhile is missed.
    3. Without a resume point, send the current position (an `id:` without data), so a
       client that reconnects before any event arrives still resumes from the right place.
    4. Send events as they come. After `sse_heartbeat_seconds` without one, send a `: ping`
       comment: proxies keep the connection open and the client sees the link is alive.
    5. End when the subscription ends (server shutdown, or this stream fell behind and was
       dropped: its client resumes from the buffer), when the client has gone, or after
       `sse_max_seconds` when set (the client resumes). Always unsubscribe.
    6. A line of someone else's inbox (`notification.created` for another member) is not
       sent: the stream is the organization's, the inbox is each member's.
    """
    after = _resume_point(call)
    await call.db.commit()  # what authenticated the stream ends here: it holds no connection
    subscription = call.request.app[EVENT_BUS].subscribe(call.auth.org_id, after=after)
    try:
        response = await sse.open_stream(call.request)
        # A client that left mid-write: nothing to tell it, and the subscription is closed below.
        with contextlib.suppress(ConnectionError):
            if after is None:
                await response.write(sse.position_frame(subscription.position))
            limit = call.settings.sse_max_seconds
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(limit or None):
                    await _send(
                        call.request,
                        response,
                        subscription,
                        call.settings.sse_heartbeat_seconds,
                        call.auth.user_id,
                    )
            await response.write_eof()
    finally:
        subscription.close()
    return response


async def _send(
    request: web.Request,
    response: web.StreamResponse,
    subscription: Subscription,
    heartbeat: float,
    user_id: int,
) -> None:
    loop = asyncio.get_running_loop()
    ping_at = loop.time() + heartbeat
    while True:
        try:
            async with asyncio.timeout(min(ping_at - loop.time(), LIVENESS_CHECK_SECONDS)):
                event = await subscription.next()
        except TimeoutError:
            if sse.client_gone(request):
                return
            if loop.time() >= ping_at:
                await response.write(sse.HEARTBEAT)
                ping_at = loop.time() + heartbeat
            continue
        if event is None:
            return
        if event.type == INBOX_EVENT and json.loads(event.data_json)["user_id"] != user_id:
            continue
        await response.write(sse.event_frame(event.id, event.type, event.data_json))
        ping_at = loop.time() + heartbeat


def _resume_point(call: Call) -> int | None:
    header = call.request.headers.get("Last-Event-ID")
    if header is None or not header.strip():
        query: EventsQuery = call.query
        return query.last_event_id
    value = header.strip()
    if not value.isdigit() or int(value) > MAX_EVENT_ID:
        raise BadRequest("Last-Event-ID must be an event id (a non-negative integer)")
    return int(value)
