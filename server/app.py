"""The composition root: every piece of the server is built and wired here, and only here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from functools import cache
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web
from sqlalchemy import text

from server.auth.principal import authenticate
from server.billing.plans import require_module
from server.config import Settings
from server.context import (
    CHECK_ENGINE,
    ENGINE,
    EVENTS,
    KEYS,
    MAILER,
    RATE_LIMITER,
    RUNTIME,
    SESSIONS,
    SETTINGS,
    TASKS,
)
from server.db.engine import create_engine, create_sessionmaker
from server.engines import cost_sync, discovery, resource_actions
from server.engines.check_writer import ResultWriter
from server.engines.checks import CheckEngine
from server.engines.loop import Engine
from server.engines.metrics import metrics
from server.engines.rollup import RollupEngine
from server.events.bus import EVENT_BUS, MemoryEventBus
from server.http.auth import auth_and_rate_limit
from server.http.docs import add_docs
from server.http.errors import error_middleware
from server.http.middleware import add_request_id_header, request_id_and_access_log
from server.http.openapi import build_openapi
from server.http.ratelimit import RateLimiter
from server.http.routing import AUTHENTICATOR, MODULE_CHECK, add_routes
from server.keys import load_or_create_keys
from server.providers.checks import Checker
from server.providers.email import mailer_for
from server.routes import PAGES, ROUTES
from server.service_context import Context, Runtime, Wake
from server.tasks import BackgroundTasks
from shared.api.common import API_PREFIX

log = logging.getLogger("upmetr.server")


@cache
def server_version() -> str:
    try:
        return version("upmetr")
    except PackageNotFoundError:  # running from a checkout
        return "0.0.0+dev"


async def _check_module(ctx: Context, module: str) -> None:
    await require_module(ctx.db, ctx.auth.org_id, module)


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
    app.on_response_prepare.append(add_request_id_header)
    app.cleanup_ctx.append(_resources)
    app.on_shutdown.append(_end_live_event_streams)
    add_routes(app, ROUTES, API_PREFIX)
    add_routes(app, PAGES, "")
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
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
    app[RUNTIME] = Runtime(
        settings=settings,
        keys=app[KEYS],
        sessions=app[SESSIONS],
        events=bus,
        mailer=app[MAILER],
        tasks=tasks,
        limiter=app[RATE_LIMITER],
    )
    async with _check_engine(app, bus), _cloud_engines(app):
        yield
    bus.close()
    await tasks.drain()
    await engine.dispose()


@contextlib.asynccontextmanager
async def _cloud_engines(app: web.Application) -> AsyncIterator[None]:
    """Discovery and cost sync. Their job runners always run, since a 202 promises the job
    will run; the schedules that queue automatic runs only when engines are on."""
    engines: list[Engine] = [
        discovery.build(app),
        resource_actions.build(app),
        cost_sync.build(app),
    ]
    wakers = app[RUNTIME].wakers
    wakers[Wake.discovery] = app[discovery.DISCOVERY_ENGINE].wake
    wakers[Wake.resource_actions] = app[resource_actions.RESOURCE_ACTIONS].wake
    wakers[Wake.cost_sync] = app[cost_sync.COST_SYNC_ENGINE].wake
    running = [asyncio.create_task(engine.run(), name=engine.name) for engine in engines]
    try:
        yield
    finally:
        for engine in engines:
            await engine.stop()
        await asyncio.gather(*running, return_exceptions=True)


@contextlib.asynccontextmanager
async def _check_engine(app: web.Application, bus: MemoryEventBus) -> AsyncIterator[None]:
    """The writer always runs (check-now needs it); the scheduler and the rollup and
    retention engine when engines are on. Stopping writes every result still held."""
    settings = app[SETTINGS]
    checker = Checker(max_connections=settings.check_concurrency)
    writer = ResultWriter(
        app[SESSIONS],
        bus,
        batch_size=settings.check_batch_size,
        flush_seconds=settings.check_flush_seconds,
    )
    engine = CheckEngine(
        app[SESSIONS],
        writer,
        checker,
        concurrency=settings.check_concurrency,
        canary=settings.check_canary,
        ca_bundle=settings.check_ca_bundle,
    )
    app[CHECK_ENGINE] = engine
    app[RUNTIME].wakers[Wake.checks] = engine.poll_soon
    app[RUNTIME].check_engine = engine
    rollup = RollupEngine(
        app[SESSIONS],
        keep_results=settings.keep_check_results,
        minute_days=settings.rollup_minute_days,
        hour_days=settings.rollup_hour_days,
        day_days=settings.rollup_day_days,
    )
    running = [asyncio.create_task(writer.run(), name="check result writer")]
    if settings.engines:
        running.append(asyncio.create_task(engine.run(), name="check scheduler"))
        running.append(asyncio.create_task(rollup.run(), name="rollups and retention"))
    try:
        yield
    finally:
        await rollup.stop()
        await engine.stop()
        writer.stop()
        await asyncio.wait(running[:1], timeout=30)
        for task in running:
            task.cancel()
        # Wait for them to end, so none still holds a database connection when the
        # engine is disposed (a quick start and stop left them to the garbage collector).
        await asyncio.gather(*running, return_exceptions=True)
        await checker.aclose()
