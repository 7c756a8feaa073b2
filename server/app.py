"""The composition root: every piece of the server is built and wired here, and only here."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from functools import cache, partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import text

from server.api_process import ApiProcess
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
from server.data_dir import make_private_dir
from server.db.engine import create_engine, create_sessionmaker
from server.engines import cost_sync, discovery, resource_actions
from server.engines.agent_watch import AgentEngine
from server.engines.check_writer import ResultWriter
from server.engines.checks import CheckEngine
from server.engines.dispatch import Dispatcher
from server.engines.loop import Engine, Wakeable
from server.engines.metrics import metrics
from server.engines.redis_wakeups import RedisWakeups
from server.engines.roles import API, WORKER, ApiCheckEngine, Role
from server.engines.rollup import RollupEngine
from server.engines.wakeups import WakeupChannel, Wakeups
from server.events import EventPublisher
from server.events.bus import EVENT_BUS, MemoryEventBus
from server.events.log import EventFeed, EventLog
from server.events.redis_stream import EventRelay, RedisEventFeed
from server.http.auth import auth_and_rate_limit
from server.http.docs import add_docs
from server.http.errors import error_middleware
from server.http.middleware import (
    add_request_id_header,
    forwarded_client,
    request_id_and_access_log,
)
from server.http.openapi import build_openapi
from server.http.ratelimit import RateLimiter
from server.http.routing import AUTHENTICATOR, MODULE_CHECK, add_routes
from server.keys import load_or_create_keys
from server.providers.channels import Channels
from server.providers.checks import Checker, TargetPolicy
from server.providers.email import mailer_for
from server.providers.redis import connect as connect_redis
from server.providers.redis import rate_limit_storage
from server.providers.stripe import payments_for
from server.routes import PAGES, ROUTES
from server.service_context import Context, Runtime, Wake
from server.tasks import BackgroundTasks
from server.worker import WORKER_PROCESS, WorkerProcess
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


@cache
def _openapi_json() -> bytes:
    """The document, built on the first ask and kept for the process: every app built from
    ROUTES serves the same, and its schema work (some tenths of a second) is no price for
    each start to pay."""
    return json.dumps(build_openapi(ROUTES, prefix=API_PREFIX, version=server_version())).encode()


def build_app(
    settings: Settings,
    role: Role = "single",
    *,
    worker_log: Path | None = None,
    processes: int = 1,
) -> web.Application:
    """The API (roles in server/engines/roles.py): `single` runs the engines here too; `api`
    runs none; `all` is `api` plus a worker process it starts and supervises (logging to
    `worker_log`, else to this process's stderr). With `processes` above 1, an `api` or
    `all` process also starts and supervises that many less one API processes more, which
    listen on its port beside it (server/api_process.py)."""
    app = web.Application(
        middlewares=[
            forwarded_client(settings.trusted_proxies),
            request_id_and_access_log,
            auth_and_rate_limit,
            error_middleware,
        ],
        # Multipart uploads (avatars, logos) may exceed the JSON limit; routes check their own.
        client_max_size=max(settings.max_body_bytes, settings.max_upload_bytes) + 64 * 1024,
    )
    app[SETTINGS] = settings
    app[AUTHENTICATOR] = authenticate
    app[MODULE_CHECK] = _check_module
    app.on_response_prepare.append(add_request_id_header)
    app.cleanup_ctx.append(lambda app: _resources(app, role, worker_log, processes))
    app.on_shutdown.append(_end_live_event_streams)
    add_routes(app, ROUTES, API_PREFIX)
    add_routes(app, PAGES, "")
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    add_docs(app, _openapi_json)
    return app


def build_worker(settings: Settings, *, processes: int = 1) -> web.Application:
    """The worker role: the engines and no routes; `web.AppRunner(app).setup()` starts them
    and `cleanup()` stops them (server/worker.py). With `processes` above 1 it also starts
    and supervises that many less one workers more, which share the checks by claims."""
    app = web.Application()
    app[SETTINGS] = settings
    app.cleanup_ctx.append(lambda app: _resources(app, WORKER, None, processes))
    return app


async def _end_live_event_streams(app: web.Application) -> None:
    """End the live event streams as shutdown begins.

    aiohttp runs on_shutdown, then waits for running handlers (up to its shutdown timeout),
    and only then cleanup_ctx; an event stream never returns by itself, so it ends here.
    """
    if EVENT_BUS in app:
        app[EVENT_BUS].close()


async def _resources(
    app: web.Application, role: Role, worker_log: Path | None, processes: int
) -> AsyncIterator[None]:
    """Start everything in order on startup; stop in reverse order on shutdown.

    Every engine of the role starts in one loop, in order, and stops in reverse order (so
    the check writer's last events reach the event log before the log's last write).
    """
    settings = app[SETTINGS]
    make_private_dir(settings.data_dir)
    app[KEYS] = load_or_create_keys(settings.data_dir)
    engine = create_engine(settings.resolved_database_url)
    app[ENGINE] = engine
    app[SESSIONS] = create_sessionmaker(engine)
    app[RATE_LIMITER] = RateLimiter(rate_limit_storage(settings.redis_url))
    app[MAILER] = mailer_for(settings)
    tasks = BackgroundTasks()
    app[TASKS] = tasks
    checker = Checker(
        max_connections=settings.check_concurrency, policy=TargetPolicy.from_settings(settings)
    )
    channels = Channels.from_settings(settings)  # a member's test message, in this process
    # Several processes, on one machine or several, share live events and wake-ups there.
    redis = connect_redis(settings.redis_url) if settings.redis_url else None
    engines = _engines(app, role, checker, worker_log, redis)
    more = ApiProcess if role in ("api", "all") else WorkerProcess
    engines += [more(settings, log_file=worker_log) for _ in range(processes - 1)]
    app[RUNTIME].channels = channels
    payments = app[RUNTIME].payments = payments_for(settings)
    started: list[Engine] = []
    try:
        for each in engines:
            await each.start()
            started.append(each)
        yield
    finally:
        for each in reversed(started):
            await each.stop()
        if EVENT_BUS in app:
            app[EVENT_BUS].close()
        await tasks.drain()
        await checker.aclose()
        await channels.aclose()
        if payments is not None:
            await payments.aclose()
        if redis is not None:
            await redis.aclose()
        await engine.dispose()


def _engines(
    app: web.Application,
    role: Role,
    checker: Checker,
    worker_log: Path | None,
    redis: Redis | None,
) -> list[Engine]:
    """The role's engines in starting order; what requests reach is kept on the app."""
    settings = app[SETTINGS]
    sessions = app[SESSIONS]
    engines: list[Engine] = []
    events: EventPublisher
    wakeups: WakeupChannel | None = None
    if redis is not None:
        events, wakeups = _through_redis(app, role, redis, engines)
    elif role == "single":
        bus = MemoryEventBus()
        app[EVENT_BUS] = bus
        events = bus
    else:
        wakeups = Wakeups(settings.data_dir / "run", API if role in ("api", "all") else WORKER)
        engines.append(wakeups)
        if role == WORKER:
            log = EventLog(sessions, written=_events_written(wakeups))
            engines.append(log)
        else:
            bus = MemoryEventBus()
            app[EVENT_BUS] = bus
            feed = EventFeed(sessions, bus)
            wakeups.on("events", lambda _: feed.wake())
            log = EventLog(sessions, written=feed.wake)
            engines.extend([log, feed])
        events = log
    app[EVENTS] = events
    runtime = app[RUNTIME] = Runtime(
        settings=settings,
        keys=app[KEYS],
        sessions=sessions,
        events=events,
        mailer=app[MAILER],
        tasks=app[TASKS],
        limiter=app[RATE_LIMITER],
    )
    if EVENT_BUS in app:  # rendered status pages go stale on the events that change them
        app[EVENT_BUS].on_event(runtime.page_cache.on_event)
    writer = ResultWriter(
        sessions,
        events,
        batch_size=settings.check_batch_size,
        flush_seconds=settings.check_flush_seconds,
    )
    engines.append(writer)
    if role in ("api", "all"):
        assert wakeups is not None
        api_checks = ApiCheckEngine(
            sessions, writer, checker, wakeups, ca_bundle=settings.check_ca_bundle
        )
        app[CHECK_ENGINE] = runtime.check_engine = api_checks
        # The worker's engines, woken over its socket (the names are Wake's values).
        for wake in Wake:
            runtime.wakers[wake] = partial(wakeups.send, WORKER, wake.value)
        if role == "all":
            worker = WorkerProcess(settings, log_file=worker_log)
            app[WORKER_PROCESS] = worker
            engines.append(worker)
        return engines
    checks = CheckEngine(
        sessions,
        writer,
        checker,
        concurrency=settings.check_concurrency,
        canary=settings.check_canary,
        ca_bundle=settings.check_ca_bundle,
        # With Redis, workers may be several (here and on other machines): each claims
        # the checks it runs.
        claims=settings.redis_url is not None,
    )
    app[CHECK_ENGINE] = checks
    runtime.check_engine = checks
    runtime.wakers[Wake.checks] = checks.poll_soon
    if settings.engines:
        engines.append(checks)
        engines.append(
            RollupEngine(
                sessions,
                keep_results=settings.keep_check_results,
                minute_days=settings.rollup_minute_days,
                hour_days=settings.rollup_hour_days,
                day_days=settings.rollup_day_days,
            )
        )
        engines.append(AgentEngine(runtime))
    # The job runners always run, since a 202 promises the job will run; their schedules
    # queue automatic runs only when engines are on.
    jobs = {
        Wake.discovery: discovery.build(app),
        Wake.resource_actions: resource_actions.build(app),
        Wake.cost_sync: cost_sync.build(app),
    }
    engines.extend(jobs.values())
    # The outbox is a promise too: its dispatcher always runs where the engines do.
    dispatcher = Dispatcher(runtime, Channels.from_settings(settings))
    engines.append(dispatcher)
    woken: dict[Wake, Wakeable] = {**jobs, Wake.dispatch: dispatcher}
    for wake, each in woken.items():
        runtime.wakers[wake] = each.wake
    if wakeups is not None:
        wakeups.on(Wake.checks.value, lambda _: checks.poll_soon())
        wakeups.on("refresh", lambda argument: checks.refresh(int(argument)))
        for wake, each in woken.items():
            wakeups.on(wake.value, _waker(each))
    return engines


def _through_redis(
    app: web.Application, role: Role, redis: Redis, engines: list[Engine]
) -> tuple[EventPublisher, WakeupChannel | None]:
    """Live events through the database's log, relayed to a Redis stream that every API
    process follows, and wake-ups by Redis pub/sub (a `single` process runs its engines
    itself and needs none)."""
    wakeups = None
    if role != "single":
        wakeups = RedisWakeups(redis, API if role in ("api", "all") else WORKER)
        engines.append(wakeups)
    relay = EventRelay(app[SESSIONS], redis)
    log = EventLog(app[SESSIONS], written=relay.wake, relayed=False)
    engines.extend([log, relay])
    if role != WORKER:
        bus = app[EVENT_BUS] = MemoryEventBus()
        engines.append(RedisEventFeed(redis, bus))
    return log, wakeups


def _waker(engine: Wakeable) -> Callable[[str], None]:
    return lambda _: engine.wake()


def _events_written(wakeups: Wakeups) -> Callable[[], None]:
    def written() -> None:
        wakeups.send(API, "events")

    return written
