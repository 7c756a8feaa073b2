"""The resource action engine: every unfinished start, stop or reboot is carried out.

Always running (a 202 promises the action happens, engines on or off). A request wakes it
after its commit; otherwise it looks for unfinished rows every `interval_seconds`, which is
also how actions left running by a stopped process are followed again after a restart.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from server.context import EVENTS, KEYS, SESSIONS, SETTINGS
from server.db.engine import SessionMaker
from server.engines.loop import Loop, Wakeable
from server.resources import actions
from server.resources.actions import ActionRunner

log = logging.getLogger("upmetr.engines.resource_actions")


class ResourceActionEngine(Loop):
    """Looks for unfinished actions when woken (a request queued one) and every 30 s."""

    name = "resource actions"

    def __init__(
        self, sessions: SessionMaker, runner: ActionRunner, *, interval_seconds: float = 30.0
    ) -> None:
        super().__init__()
        self.retry_seconds = interval_seconds
        self._sessions = sessions
        self._runner = runner
        self._interval_seconds = interval_seconds
        self._working: dict[int, asyncio.Task[None]] = {}

    def idle_seconds(self) -> float:
        return self._interval_seconds

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

    async def stop(self) -> None:
        """End run() and the actions under way; those still unfinished are picked up again
        by the next start (their rows stay pending or running)."""
        self._ask_to_stop()
        tasks = list(self._working.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._join()


RESOURCE_ACTIONS: web.AppKey[Wakeable] = web.AppKey("resource_actions")


def build(app: web.Application) -> ResourceActionEngine:
    """The engine for the app, kept on it so requests can wake it."""
    runner = ActionRunner(app[SESSIONS], app[EVENTS], keys=app[KEYS], settings=app[SETTINGS])
    engine = ResourceActionEngine(app[SESSIONS], runner)
    app[RESOURCE_ACTIONS] = engine
    return engine
