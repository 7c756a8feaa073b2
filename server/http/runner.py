"""The API's runner: aiohttp's AppRunner, with the answers aiohttp writes itself in JSON.

A request aiohttp cannot parse (a request line or header over its 8 KiB limits, a bad
method, a malformed header) or a handler error past every middleware never reaches the
app's middlewares: aiohttp's protocol answers it with a text/plain body. Every client
of the API reads `{"detail": ...}`, so the protocol's answers are rewritten in that shape
here, keeping aiohttp's status and its message, which names the limit that was passed.

aiohttp has no public hook for this: `Server.__call__` builds its `RequestHandler` by name.
`ApiRunner` gives the server it makes a subclass that builds `JsonErrorsHandler` instead;
tests/e2e/test_protocol_errors.py fails if a release of aiohttp changes that path.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import signal
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

log = logging.getLogger("upmetr.http")

# After a body refused unread (413), aiohttp reads and drops the rest before closing, so
# the client gets the answer rather than a reset. Its 10 s default held `serve`'s stop that
# long when a client kept the connection open; 2 s is plenty for a client on its way out.
LINGERING_SECONDS = 2.0


class JsonErrorsHandler(RequestHandler):
    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500:
            # aiohttp's own handling logs the error and refuses to answer a response already
            # begun (raising ConnectionError); only the body it would send is replaced.
            super().handle_error(request, status, exc, message)
        else:
            # A request the parser refused is the client's error, not the server's: logged
            # as a warning in a line, where aiohttp logs an ERROR with a traceback.
            log.warning(
                "refused a request from %s: %s", request.remote, _detail(status, exc, message)
            )
        response = web.Response(
            status=status,
            text=json.dumps({"detail": _detail(status, exc, message)}),
            content_type="application/json",
        )
        response.force_close()
        return response


def _detail(status: int, exc: BaseException | None, message: str | None) -> str:
    phrase = HTTPStatus(status).phrase
    if status >= 500 or not message:  # a server error's text is for the log alone
        return phrase
    if isinstance(exc, LineTooLong):  # its message repeats 100 bytes of the line
        return f"{phrase}: the request line or a header is longer than {exc.args[1]} bytes"
    # The parser's message, without the copy of the line and the caret under it.
    return f"{phrase}: {message.splitlines()[0].rstrip(':')}"


class _JsonErrorsServer(web.Server):
    def __call__(self) -> RequestHandler:
        return JsonErrorsHandler(self, loop=self._loop, **self._kwargs)


class ApiRunner(web.AppRunner):
    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        kwargs.setdefault("lingering_time", LINGERING_SECONDS)
        super().__init__(app, **kwargs)

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _JsonErrorsServer  # same state, one method more
        return server


async def serve_until_stopped(
    app: web.Application,
    host: str,
    port: int,
    on_listening: Callable[[], None],
    *,
    reuse_port: bool = False,
    until: Awaitable[None] | None = None,
) -> None:
    """What `web.run_app` does, with ApiRunner: serve until SIGINT or SIGTERM (or `until`
    is done), then run the app's cleanup in reverse order while the rest of the loop still
    runs (the engines stop one by one, as cleanup_ctx asks, rather than all cancelled at
    once). With `reuse_port`, processes listening on the same port share its connections
    (SO_REUSEPORT: the kernel spreads them)."""
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopped.set)
    watch = None
    if until is not None:
        watch = asyncio.ensure_future(until)
        watch.add_done_callback(lambda _: stopped.set())
    runner = ApiRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_port=reuse_port or None).start()
        on_listening()
        # What start-up made lives as long as the process (modules, models, compiled
        # statements): frozen out of the collector's generations, it is no longer walked by
        # the collections a request's garbage sets off (about 4 % of a request's CPU).
        gc.freeze()
        await stopped.wait()
    finally:
        if watch is not None:
            watch.cancel()
        await runner.cleanup()
