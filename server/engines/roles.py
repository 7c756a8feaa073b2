"""Which engines a process runs, by role, and how the API process reaches the worker's.

Roles (`upmetr serve --role`):

- `single`: the API and every engine in one process, with the in-memory event bus. What
  build_app gives by default: tests, and a server embedded in another program.
- `api`: the HTTP API; no scheduler. Its events go to the database's event log and its
  streams are fed from it (server/events/log.py). A change that concerns an engine sends
  the worker a wake-up (server/engines/wakeups.py). Check-now runs the check here, as a
  person waits for its result, writes it through this process's result writer, and tells
  the worker to take the monitor's new state from its row.
- `worker`: every engine, no HTTP: the check scheduler, its result writer, rollups and
  retention (those three and the job schedules only with `Settings.engines`), and the job
  runners of discovery, cost sync and resource actions, which claim jobs from the database
  with compare-and-set, so any process may run them.
- `all` (the default of `serve` and `up`): an `api` process that starts a `worker` process
  and supervises it (server/worker.py).
"""

from __future__ import annotations

from typing import Literal

from server.db.engine import SessionMaker
from server.engines.check_writer import ResultWriter
from server.engines.checks import CheckEngine
from server.engines.wakeups import WakeupChannel
from server.monitors.models import Monitor
from server.monitors.recording import JudgedCheck
from server.providers.checks import Checker

Role = Literal["single", "api", "worker", "all"]
WORKER: Role = "worker"
API: Role = "api"


class ApiCheckEngine(CheckEngine):
    """The check engine of the API process: it schedules nothing (its loop never starts);
    it runs check-now and passes monitor changes on to the worker."""

    def __init__(
        self,
        sessions: SessionMaker,
        writer: ResultWriter,
        checker: Checker,
        wakeups: WakeupChannel,
        *,
        ca_bundle: str | None = None,
    ) -> None:
        super().__init__(sessions, writer, checker, ca_bundle=ca_bundle)
        self._wakeups = wakeups

    def poll_soon(self) -> None:
        self._wakeups.send(WORKER, "checks")

    async def check_now(self, monitor: Monitor) -> tuple[int | None, JudgedCheck]:
        """Judged from the state in the monitor's row; once the result (and that state) is
        stored, the worker takes the state from the row before its next check."""
        outcome = await super().check_now(monitor)
        if not monitor.paused:
            self._wakeups.send(WORKER, f"refresh:{monitor.id}")
        return outcome
