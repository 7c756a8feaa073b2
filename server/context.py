"""Typed keys of what the composition root puts on the application."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from server.config import Settings
from server.db.engine import SessionMaker
from server.keys import Keys

if TYPE_CHECKING:
    from server.engines.checks import CheckEngine
    from server.events import EventPublisher
    from server.http.ratelimit import RateLimiter
    from server.providers.email import Mailer
    from server.service_context import Runtime
    from server.tasks import BackgroundTasks

SETTINGS = web.AppKey("settings", Settings)
KEYS = web.AppKey("keys", Keys)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", SessionMaker)
MAILER: web.AppKey[Mailer] = web.AppKey("mailer")
RATE_LIMITER: web.AppKey[RateLimiter] = web.AppKey("rate_limiter")
TASKS: web.AppKey[BackgroundTasks] = web.AppKey("tasks")
EVENTS: web.AppKey[EventPublisher] = web.AppKey("events")
CHECK_ENGINE: web.AppKey[CheckEngine] = web.AppKey("check_engine")
RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime")
