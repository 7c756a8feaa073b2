"""Server-Sent Events on an aiohttp stream: framing, heartbeats, noticing a gone client.

Format: WHATWG HTML, "Server-sent events" (section 9.2): `id:`, `event:` and `data:` lines,
a blank line ends an event; a line starting with `:` is a comment that clients ignore.
"""

from __future__ import annotations

from aiohttp import web

from server.http.auth import RATE_LIMIT_HEADERS

HEARTBEAT = b": ping\n\n"
# Browsers' EventSource waits this long before reconnecting (the `retry:` field).
RECONNECT_MS = 3000


def event_frame(id: int, type: str, data_json: str) -> bytes:
    """One event; `data_json` is compact JSON, so it never holds a line break."""
    return f"id: {id}\nevent: {type}\ndata: {data_json}\n\n".encode()


def position_frame(id: int) -> bytes:
    """Sets the client's last event id without dispatching an event (no `data:` line)."""
    return f"retry: {RECONNECT_MS}\nid: {id}\n\n".encode()


async def open_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Cache-Control": "no-store",
            # Reverse proxies (nginx) must pass events on at once, not buffer them.
            "X-Accel-Buffering": "no",
            # Headers are sent before the auth middleware sees the response; it cannot add these.
            **request.get(RATE_LIMIT_HEADERS, {}),
        }
    )
    response.content_type = "text/event-stream"
    response.charset = "utf-8"
    await response.prepare(request)
    return response


def client_gone(request: web.Request) -> bool:
    """aiohttp does not cancel a handler whose client left (since 3.9); its transport tells."""
    transport = request.transport
    return transport is None or transport.is_closing()
