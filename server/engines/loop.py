"""The shape every engine shares (ARCHITECTURE.md: engines schedule, domains decide).

An engine is `name`, `run_once() -> bool`, `start()` and `stop()`. `Loop` is the loop they
share, `while running: if not await run_once(): sleep`: a step that says there is more to
do is followed by the next at once (after yielding to the event loop); otherwise the engine
sleeps until `wake()` or `idle_seconds()` has passed. The composition root (server/app.py)
starts a role's engines in order and stops them in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol


class Engine(Protocol):
    name: str

    async def run_once(self) -> bool:
        """One bounded step; True when there may be more to do at once."""

    async def start(self) -> None:
        """Start the loop as a task of its own; returns at once."""

    async def stop(self) -> None:
        """End the loop (and what it runs), finishing what must not be lost."""


class Wakeable(Protocol):
    """What a request holds of an engine: wake() after its commit (server/engines/roles.py)."""

    def wake(self) -> None: ...


class Loop:
    """The loop behind `start()`: an exception in a step is logged and the loop sleeps
    `retry_seconds` before the next, so a locked database never ends an engine for good."""

    name: str = "engine"
    retry_seconds: float = 1.0
    # The pause between steps while there is more to do. An engine that writes in many
    # steps gives the API's writers a turn: SQLite's busy handler polls (every 100 ms once
    # it has waited a while), so a writer that steps at once can take the lock every time.
    busy_pause_seconds: float = 0.0

    def __init__(self) -> None:
        self._wake_event = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> bool:
        raise NotImplementedError

    def idle_seconds(self) -> float:
        """How long to sleep after a step with nothing more to do (unless woken)."""
        return self.retry_seconds

    def wake(self) -> None:
        """Step now rather than after the sleep (a change the engine should see)."""
        self._wake_event.set()

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=self.name)

    async def run(self) -> None:
        while not self._stopping:
            self._wake_event.clear()  # before the step, so a wake during it is kept
            try:
                busy = await self.run_once()
            except Exception:
                # Logged as the engine's module (upmetr.engines.rollup, ...).
                logging.getLogger(type(self).__module__.replace("server.", "upmetr.", 1)).exception(
                    "%s step failed; retrying in %.1f s", self.name, self.retry_seconds
                )
                await self._sleep(self.retry_seconds)
                continue
            if busy:
                await asyncio.sleep(self.busy_pause_seconds)
                continue
            await self._sleep(self.idle_seconds())

    async def _sleep(self, seconds: float) -> None:
        if self._stopping or seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake_event.wait()

    def _ask_to_stop(self) -> None:
        self._stopping = True
        self._wake_event.set()

    async def stop(self) -> None:
        """End the loop after the step under way."""
        self._ask_to_stop()
        await self._join()

    async def _join(self, timeout: float | None = None) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        if timeout is not None:
            await asyncio.wait({task}, timeout=timeout)
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
