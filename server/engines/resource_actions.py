"""The resource action engine: every unfinished start, stop or reboot is carried out.

Always running (a 202 promises the action happens, engines on or off). A request wakes it
after its commit; otherwise it looks for unfinished rows every `interval_seconds`, which is
also how actions left running by a stopped process are followed again after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web

from server.context import EVENTS, KEYS, SESSIONS, SETTINGS
from server.db.engine import SessionMaker
from server.resources import actions
from server.resources.actions import ActionRunner

log = logging.getLogger("upmetr.engines.resource_actions")


class ResourceActionEngine:
    name = "resource actions"

    def __init__(
        self, sessions: SessionMaker, runner: ActionRunner, *, interval_seconds: float = 30.0
    ) -> None:
        self._sessions = sessions
        self._runner = runner
        self._interval_seconds = interval_seconds
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._working: dict[int, asyncio.Task[None]] = {}

    def wake(self) -> None:
        """Look for new actions now (a request queued one)."""
        self._wake.set()

    async def run_once(self) -> bool:
        """1. Read the ids of unfinished actions (pending or running), oldest first.
        2. Start a task carrying out each one not already under way in this process.
        3. True when new tasks were started."""
        async with self._sessions() as db:
            ids = await actions.unfinished(db)
        started = False
        for action_id in ids:
            if action_id in self._working:
                continue
            task = asyncio.create_task(
                self._carry_out(action_id), name=f"resource action {action_id}"
            )
            self._working[action_id] = task
            started = True
        return started

    async def _carry_out(self, action_id: int) -> None:
        try:
            await self._runner.carry_out(action_id)
        except Exception:
            log.exception("resource action %s failed; retried on the next look", action_id)
        finally:
            self._working.pop(action_id, None)

    async def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:
                log.exception("looking for resource actions failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval_seconds):
                    await _first(self._wake, self._stopping)

    async def stop(self) -> None:
        """End run() and the actions under way; those still unfinished are picked up again
        by the next start (their rows stay pending or running)."""
        self._stopping.set()
        tasks = list(self._working.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


RESOURCE_ACTIONS: web.AppKey[ResourceActionEngine] = web.AppKey("resource_actions")


def build(app: web.Application) -> ResourceActionEngine:
    """The engine for the app, kept on it so requests can wake it."""
    runner = ActionRunner(app[SESSIONS], app[EVENTS], keys=app[KEYS], settings=app[SETTINGS])
    engine = ResourceActionEngine(app[SESSIONS], runner)
    app[RESOURCE_ACTIONS] = engine
    return engine
