"""Request ids and the access log."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from aiohttp import web

access_log = logging.getLogger("upmetr.access")
REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID = web.RequestKey("request_id", str)


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
