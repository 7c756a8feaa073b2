"""The composition root: every piece of the server is built and wired here, and only here."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from functools import cache
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web
from sqlalchemy import text

from server.audit import service as audit
from server.auth.principal import authenticate
from server.billing.plans import require_module
from server.config import Settings
from server.context import ENGINE, EVENTS, KEYS, MAILER, RATE_LIMITER, SESSIONS, SETTINGS, TASKS
from server.db.engine import create_engine, create_sessionmaker
from server.events.bus import EVENT_BUS, MemoryEventBus
from server.http.auth import auth_and_rate_limit
from server.http.docs import add_docs
from server.http.errors import error_middleware
from server.http.middleware import add_request_id_header, request_id_and_access_log
from server.http.openapi import build_openapi
from server.http.ratelimit import RateLimiter
from server.http.routing import AUDIT_WRITER, AUTHENTICATOR, MODULE_CHECK, Call, add_routes
from server.keys import load_or_create_keys
from server.providers.email import mailer_for
from server.routes import API_PREFIX, ROUTES
from server.tasks import BackgroundTasks

log = logging.getLogger("upmetr.server")


@cache
def server_version() -> str:
    try:
        return version("upmetr")
    except PackageNotFoundError:  # running from a checkout
        return "0.0.0+dev"


async def _check_module(call: Call, module: str) -> None:
    await require_module(call.db, call.auth.org_id, module)


async def health(request: web.Request) -> web.Response:
    try:
        async with request.app[ENGINE].connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        log.exception("health check: database unreachable")
        return web.json_response({"status": "error", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok", "database": "ok", "version": server_version()})


def build_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[request_id_and_access_log, auth_and_rate_limit, error_middleware],
        # Multipart uploads (avatars, logos) may exceed the JSON limit; routes check their own.
        client_max_size=max(settings.max_body_bytes, settings.max_upload_bytes) + 64 * 1024,
    )
    app[SETTINGS] = settings
    app[AUTHENTICATOR] = authenticate
    app[MODULE_CHECK] = _check_module
    app[AUDIT_WRITER] = audit.write
    app.on_response_prepare.append(add_request_id_header)
    app.cleanup_ctx.append(_resources)
    app.on_shutdown.append(_end_live_event_streams)
    add_routes(app, ROUTES, API_PREFIX)
    app.router.add_get("/health", health)
    add_docs(app, build_openapi(ROUTES, prefix=API_PREFIX, version=server_version()))
    return app


async def _end_live_event_streams(app: web.Application) -> None:
    """End the live event streams as shutdown begins.

    aiohttp runs on_shutdown, then waits for running handlers (up to its shutdown timeout),
    and only then cleanup_ctx; an event stream never returns by itself, so it ends here.
    """
    if EVENT_BUS in app:
        app[EVENT_BUS].close()


async def _resources(app: web.Application) -> AsyncIterator[None]:
    """Start everything in order on startup; stop in reverse order on shutdown."""
    settings = app[SETTINGS]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app[KEYS] = load_or_create_keys(settings.data_dir)
    engine = create_engine(settings.resolved_database_url)
    app[ENGINE] = engine
    app[SESSIONS] = create_sessionmaker(engine)
    app[RATE_LIMITER] = RateLimiter()
    app[MAILER] = mailer_for(settings)
    bus = MemoryEventBus()
    app[EVENT_BUS] = bus
    app[EVENTS] = bus
    tasks = BackgroundTasks()
    app[TASKS] = tasks
    yield
    bus.close()
    await tasks.drain()
    await engine.dispose()
