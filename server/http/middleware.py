"""The client's address behind a reverse proxy, request ids and the access log."""

from __future__ import annotations

import ipaddress
import logging
import time
import uuid
from collections.abc import Sequence
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from aiohttp import web

access_log = logging.getLogger("upmetr.access")
REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID = web.RequestKey("request_id", str)


def forwarded_client(trusted: Sequence[IPv4Network | IPv6Network]) -> Any:
    """A middleware that gives a request from a trusted proxy the client's address.

    X-Forwarded-For lists the addresses a request passed, each proxy appending the one it
    heard from; only the proxies' own entries can be believed, so the client is the last
    address, read from the right, that is not a trusted proxy (as nginx's realip module
    with `real_ip_recursive on` does). A request from any other peer keeps its address: a
    client cannot choose its own by sending the header.
    """

    # Remembered per address: the same few peers ask again and again, and parsing an
    # address per request was about 2 % of a short request.
    @lru_cache(maxsize=4096)
    def is_trusted(address: str | None) -> bool:
        if not trusted:
            return False
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in network for network in trusted)

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if not is_trusted(request.remote):
            return await handler(request)
        hops = [
            hop.strip()
            for header in request.headers.getall("X-Forwarded-For", [])
            for hop in header.split(",")
        ]
        client = request.remote or ""
        for hop in reversed(hops):
            client = hop
            if not is_trusted(hop):
                break
        try:
            ipaddress.ip_address(client)
        except ValueError:  # a proxy passed garbage on: keep the peer's address
            return await handler(request)
        return await handler(request.clone(remote=client))

    return middleware


@web.middleware
async def request_id_and_access_log(request: web.Request, handler: Any) -> web.StreamResponse:
    # A caller-supplied id is kept (bounded) so a trace can follow one request across services.
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = (
        incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
    )
    request[REQUEST_ID] = request_id
    started = time.perf_counter()
    status = 500
    try:
        response: web.StreamResponse = await handler(request)
        status = response.status
        return response
    finally:
        access_log.info(
            '%s "%s %s" %d %.1fms id=%s',
            request.remote,
            request.method,
            request.path_qs,
            status,
            (time.perf_counter() - started) * 1000,
            request_id,
        )


async def add_request_id_header(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare signal: also reaches streamed responses and error pages."""
    request_id = request.get(REQUEST_ID)
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
