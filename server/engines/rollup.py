"""The rollup engine: fills in the p95 of settled buckets and prunes old data, a step at a time.

Counts and averages are added by the check engine as it writes results
(monitors.rollups.add_to_rollups); this engine does what has to wait or can wait.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.engines.loop import Loop
from server.monitors import rollups

log = logging.getLogger("upmetr.engines.rollup")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RollupEngine(Loop):
    """Steps while there is work, yielding between steps; else sleeps `interval_seconds`.
    An error is logged and retried after the interval."""

    name = "rollup"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        interval_seconds: float = 60.0,
        keep_results: int = 1000,
        minute_days: float = 2,
        hour_days: float = 90,
        day_days: float = 400,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        super().__init__()
        self.retry_seconds = interval_seconds
        self._sessions = sessions
        self._interval_seconds = interval_seconds
        self._keep_results = keep_results
        self._minute_days = minute_days
        self._hour_days = hour_days
        self._day_days = day_days
        self._clock = clock
        # Where the walk over monitors for pruning resumes.
        self._after_monitor_id = 0

    async def run_once(self) -> bool:
        """One bounded step; True if there may be more to do right away.

        1. Finalize up to 2,000 settled p95s (rollups.finalize_p95), in one transaction.
        2. Prune the next monitors of the walk: rollups past retention, raw results beyond
           the newest keep_results, at most 1,000 rows (rollups.prune), in another.
        3. The walk stays on monitors while they yield rows, moves on when they are clean,
           and starts over from the first monitor once it has passed the last.
        4. True while p95s were finalized, rows deleted, or the walk is under way; False
           once a whole walk found nothing, so the loop sleeps.
        """
        now = self._clock()
        async with self._sessions() as db, db.begin():
            finalized = await rollups.finalize_p95(db, now=now)
        async with self._sessions() as db, db.begin():
            pruned = await rollups.prune(
                db,
                now=now,
                keep_results=self._keep_results,
                minute_days=self._minute_days,
                hour_days=self._hour_days,
                day_days=self._day_days,
                after_monitor_id=self._after_monitor_id,
            )
        self._after_monitor_id = pruned.resume_after or 0
        return finalized > 0 or pruned.deleted > 0 or pruned.resume_after is not None

    def idle_seconds(self) -> float:
        return self._interval_seconds
