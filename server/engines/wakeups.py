"""Wake-ups between the API process and the worker process, over datagram sockets.

Each process of a data directory listens on `<data dir>/run/<role>.sock` (a Unix datagram
socket) and sends to the other's. A message is a name, optionally `name:argument`:

- to the worker: `checks` (a monitor changed: poll now), `refresh:<monitor id>` (a
  check-now in the API process stored a new state), and a job engine's name (a job of
  that kind was queued);
- to the API: `events` (the event log has new rows).

A wake-up only hastens what the receiver does anyway on its own poll (monitors every
second, jobs every few seconds, events twice a second), so one that is lost, sent to a
process not running, or to a socket whose path is too long for Unix sockets costs a delay
and never a result. Sending never blocks and never raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

log = logging.getLogger("upmetr.engines.wakeups")

MAX_PATH = 100  # sun_path holds 108 bytes on Linux and 104 on macOS


class WakeupChannel:
    """Wake-ups whatever carries them: `send(role, message)` to the processes of a role,
    and what a message does on arrival (`on(name, handler)`)."""

    def __init__(self) -> None:
        self._handlers: dict[str, Callable[[str], object]] = {}
        self._tasks: set[asyncio.Task[object]] = set()

    def on(self, name: str, handler: Callable[[str], object]) -> None:
        """Call `handler(argument)` for each `name[:argument]` received; a coroutine it
        returns is run as a task."""
        self._handlers[name] = handler

    async def run_once(self) -> bool:
        return False

    def send(self, role: str, message: str) -> None:
        raise NotImplementedError

    def received(self, message: str) -> None:
        """Run the handler of a `name[:argument]` message."""
        name, _, argument = message.partition(":")
        handler = self._handlers.get(name)
        if handler is None:
            return
        try:
            outcome = handler(argument)
        except Exception:
            log.exception("wake-up %r failed", name)
            return
        if asyncio.iscoroutine(outcome):
            self._run(outcome)

    def _run(self, coroutine: Coroutine[Any, Any, object]) -> None:
        task: asyncio.Task[object] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("wake-up failed", exc_info=task.exception())

    async def _cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class Wakeups(WakeupChannel, asyncio.DatagramProtocol):
    """An engine (server/engines/loop.py) without a loop: the socket wakes it."""

    name = "wake-ups"

    def __init__(self, directory: Path, role: str) -> None:
        super().__init__()
        self._directory = directory
        self._path = directory / f"{role}.sock"
        self._transport: asyncio.DatagramTransport | None = None
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)

    async def start(self) -> None:
        if len(str(self._path)) > MAX_PATH:
            log.warning("wake-ups off (%s is too long a socket path): polls only", self._path)
            return
        self._directory.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()  # left by a process that ended without stopping
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=str(self._path), family=socket.AF_UNIX
        )

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()
        await self._cancel_tasks()
        self._sender.close()

    def send(self, role: str, message: str) -> None:
        path = self._directory / f"{role}.sock"
        if len(str(path)) > MAX_PATH:
            return
        # Not running (no socket), its buffer full, or gone: its poll finds the change.
        with contextlib.suppress(OSError):
            self._sender.sendto(message.encode(), str(path))

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.received(data.decode(errors="replace"))
