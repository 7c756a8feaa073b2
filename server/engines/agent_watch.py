"""The agents engine: offline agents, metric rollups, their sealing and pruning, a step at a
time."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from server.agents import presence
from server.db.base import utcnow
from server.engines.loop import Loop
from server.metrics import blocks, rollups
from server.metrics.models import HOUR
from server.service_context import Runtime, system_transaction


class AgentEngine(Loop):
    """Steps while there is work, else sleeps `interval_seconds` (what an agent's silence
    past three intervals waits at most before it is called offline)."""

    name = "agents"
    busy_pause_seconds = 0.15  # rollups of thousands of agents, 100 a step (Loop)

    def __init__(
        self, runtime: Runtime, *, interval_seconds: float = 5.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:  # fmt: skip
        super().__init__()
        self.retry_seconds = interval_seconds
        self._runtime = runtime
        self._interval_seconds = interval_seconds
        self._clock = clock
        # Where the pruning walk over agents goes on, and when it last went round.
        self._prune_after = 0
        self._walk_started_at = 0.0
        # Where the sealing walk goes on, and the hour it seals up to (a walk an hour).
        self._seal_after = 0
        self._sealed_hour = 0

    async def run_once(self) -> bool:
        """One bounded step; True if there may be more to do right away.

        1. Agents silent past three intervals go offline (presence.go_offline_due), with
           their incidents and notifications, in one transaction.
        2. Metric rollups of up to 100 agents are brought up to date (rollups.roll_up).
        3. The sealing walk packs the next 10 agents' periods past change
           (blocks.seal); a walk starts when another hour is due.
        4. The pruning walk deletes past-retention rows of the next 50 agents; a walk
           starts at most once a minute.
        """
        now = self._clock()
        async with system_transaction(self._runtime) as ctx:
            offline = await presence.go_offline_due(ctx, now)
        sessions = self._runtime.sessions
        async with sessions() as db, db.begin():
            rolled = await rollups.roll_up(db, int(now.timestamp()))
        await self._seal(int(now.timestamp()))
        walking = self._prune_after > 0 or time.monotonic() - self._walk_started_at > 60
        if walking:
            if self._prune_after == 0:
                self._walk_started_at = time.monotonic()
            async with sessions() as db, db.begin():
                _, self._prune_after = await rollups.prune(
                    db, int(now.timestamp()), self._prune_after
                )
        more = rolled > 0 or self._seal_after > 0 or self._prune_after > 0
        return offline >= presence.BATCH or more

    async def _seal(self, now: int) -> None:
        due = now - blocks.SEAL_LAG
        hour = due - due % HOUR
        if self._seal_after == 0 and hour <= self._sealed_hour:
            return
        async with self._runtime.sessions() as db, db.begin():
            _, self._seal_after = await blocks.seal(db, now, self._seal_after)
        if self._seal_after == 0:
            self._sealed_hour = hour

    def idle_seconds(self) -> float:
        return self._interval_seconds
