"""The worker process: the engines of a data directory, in a process of their own.

`python -m server.worker` runs the worker role (server/engines/roles.py) until SIGINT or
SIGTERM, then stops its engines (the result writer and the event log write what they hold)
and exits 0. Its settings are the environment's (`UPMETR_*`), or, when started by
`WorkerProcess`, exactly the API process's, passed as JSON in UPMETR_WORKER_SETTINGS.

`WorkerProcess` is how the API process of role `all` (`upmetr serve`, `upmetr up`) runs
the worker: an engine (server/engines/loop.py) whose start() starts the process and
whose stop() sends it SIGTERM and waits (then SIGKILL). A worker that ends on its own is
logged and started again after a back-off (1 s doubling to 60 s; back to 1 s once one has
run for a minute), so a crash loop never spins.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
import time
from logging.handlers import RotatingFileHandler
from pathlib import Path

from aiohttp import web

from server import logs
from server.config import Settings

log = logging.getLogger("upmetr.worker")

SETTINGS_ENV = "UPMETR_WORKER_SETTINGS"
LOG_ENV = "UPMETR_WORKER_LOG"
PARENT_ENV = "UPMETR_WORKER_PARENT"  # the pid of the API process that started the worker
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 60.0
STEADY_SECONDS = 60.0  # a worker that ran this long resets the back-off
STOP_SECONDS = 30.0  # SIGTERM, then SIGKILL after this


class ChildProcess:
    """A process of this server's, started and supervised by this one: the worker, or an
    extra API process (server/api_process.py)."""

    name = "child process"
    module = ""  # what `python -m` runs in the child

    def __init__(self, settings: Settings, *, log_file: Path | None = None) -> None:
        self._settings = settings
        self._log_file = log_file
        self._process: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def run_once(self) -> bool:
        return False

    async def start(self) -> None:
        await self._spawn()
        self._watch = asyncio.create_task(self._supervise(), name=self.name)

    async def _spawn(self) -> None:
        env = {
            **os.environ,
            SETTINGS_ENV: self._settings.model_dump_json(),
            PARENT_ENV: str(os.getpid()),
        }
        if self._log_file is not None:
            env[LOG_ENV] = str(self._log_file)
        # A session of its own: Ctrl-C in a terminal reaches the API process alone, which
        # then stops the worker, so the worker is never seen ending before it was asked to.
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            self.module,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        log.info("%s %d started", self.name, self._process.pid)

    async def _supervise(self) -> None:
        backoff = FIRST_BACKOFF
        while not self._stopping:
            process = self._process
            assert process is not None
            began = time.monotonic()
            code = await process.wait()
            if self._stopping:
                return
            if time.monotonic() - began >= STEADY_SECONDS:
                backoff = FIRST_BACKOFF
            log.error(
                "%s %d ended with status %s; starting another in %.0f s",
                self.name,
                process.pid,
                code,
                backoff,
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
            if self._stopping:
                return
            try:
                await self._spawn()
            except OSError:
                log.exception("starting the %s failed", self.name)
                continue
            self.restarts += 1

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_SECONDS; returns once it has ended."""
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            log.error("%s %d did not stop in %.0f s: killed", self.name, process.pid, STOP_SECONDS)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


class WorkerProcess(ChildProcess):
    name = "worker process"
    module = "server.worker"


def settings_from_environment() -> Settings:
    given = os.environ.get(SETTINGS_ENV)
    return Settings.model_validate_json(given) if given else Settings()


async def until_orphaned(parent: int) -> None:
    """Return once the API process that started this one has gone (killed without a chance
    to stop it): a worker is never left running alone."""
    while os.getppid() == parent:  # noqa: ASYNC110 - no event tells a parent has gone
        await asyncio.sleep(1.0)
    log.error("the API process %d has gone: stopping", parent)


async def serve_worker(
    settings: Settings, *, parent: int | None = None, processes: int = 1
) -> None:
    """Run the worker role until SIGINT or SIGTERM, or, started by another process
    (`parent`), until that process has gone; with `processes` above 1, with that many less
    one workers more beside it."""
    from server.app import build_worker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(build_worker(settings, processes=processes))
    await runner.setup()
    gc.freeze()  # start-up's objects out of the collector's walks, as the API's runner does
    log.info("worker running (pid %d): %s", os.getpid(), settings.data_dir)
    orphaned = None
    if parent is not None:
        # The pid the parent gave, not os.getppid() now: a parent killed while this process
        # was starting is already gone, and getppid() would name its adopter instead.
        orphaned = asyncio.create_task(until_orphaned(parent), name="parent watch")
        orphaned.add_done_callback(lambda _: stop.set())
    try:
        await stop.wait()
    finally:
        if orphaned is not None:
            orphaned.cancel()
        log.info("worker stopping")
        await runner.cleanup()
        log.info("worker stopped")


def configure_logging() -> None:
    """Log to the file the parent named (rotated), else to stderr."""
    log_file = os.environ.get(LOG_ENV)
    handler = (
        RotatingFileHandler(log_file, maxBytes=10 * 1024 * 1024, backupCount=3, encoding="utf-8")
        if log_file
        else None
    )
    logs.configure(handler)


def parent_pid() -> int | None:
    given = os.environ.get(PARENT_ENV)
    return int(given) if given else None


def main() -> None:
    configure_logging()
    asyncio.run(serve_worker(settings_from_environment(), parent=parent_pid()))


if __name__ == "__main__":
    main()


WORKER_PROCESS: web.AppKey[WorkerProcess] = web.AppKey("worker_process")
