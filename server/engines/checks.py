"""The check scheduler: one loop for every monitor, never a task sleeping per monitor.

Monitors live in memory with their due times in one heap; the loop sleeps until the
earliest is due, starts it within the concurrency bound, and measures how late it started
(drift). A check runs, is judged in memory (monitors.checking) and handed to the batched
writer, so it never waits on the database. Changes made through the API reach the engine
by a poll for recently updated monitors, run every second and at once when a request that
changed one commits (poll_soon); a new or resumed monitor is due at once. When several
workers share the monitors (`claims`), each due check is claimed in the database first.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Table, or_, select, update

from server.db.engine import SessionMaker
from server.engines.check_writer import ResultWriter
from server.engines.loop import Loop
from server.monitors import checking, maintenance, windows
from server.monitors.checking import Action, Rules, State
from server.monitors.models import MaintenanceWindow, Monitor
from server.monitors.recording import JudgedCheck
from server.orgs.models import Organization
from server.providers.checks import (
    Checker,
    CheckOutcome,
    CheckSpec,
    evaluate_heartbeat,
    heartbeat_deadline,
    network_ok,
)

log = logging.getLogger("upmetr.engines.checks")

GOLDEN = 0.6180339887498949  # spreads monitor ids evenly over [0, 1)
STARTUP_SPREAD_SECONDS = 300  # overdue monitors at start are spread over at most this
POLL_SECONDS = 1.0  # how often API changes are looked for
RESYNC_SECONDS = 30.0  # how often deleted monitors are looked for
POLL_OVERLAP = timedelta(seconds=5)  # API transactions commit a moment after updated_at
RECENT_CHANGE_SECONDS = 60.0  # changed this recently at load: due when it asked, not spread
CANARY_TTL_SECONDS = 10.0
DRIFT_SAMPLES = 10_000
CLAIM_MS_PER_SECOND = 500  # a claim holds a check for half its interval
CLAIM_SPREAD_SECONDS = 0.25


ACTIVE_ORG = "active"


def _of_active_org() -> ColumnElement[bool]:
    """Monitors of a suspended organization are not checked until it is reactivated
    (server/admin/service.py touches them on either change, so the poll sees it at once)."""
    active = select(Organization.id).where(Organization.status == ACTIVE_ORG)
    return Monitor.org_id.in_(active)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(eq=False)
class Scheduled:
    """What the engine keeps of one monitor between checks."""

    monitor: Monitor  # a detached snapshot of the row
    spec: CheckSpec | None  # None for heartbeats, which are evaluated, not run
    rules: Rules
    state: State
    windows: list[MaintenanceWindow]
    due: float = 0.0  # epoch seconds
    started_at: float = 0.0  # epoch seconds the last scheduled check started; 0: never
    generation: int = 0  # bumped on reschedule; older heap entries are skipped
    running: bool = False
    ssl_expiring: bool | None = None  # as last told to the incidents service; None: unknown


@dataclass
class EngineStats:
    started: int = 0
    finished: int = 0
    drift: deque[float] = field(default_factory=lambda: deque(maxlen=DRIFT_SAMPLES))
    finished_at: deque[float] = field(default_factory=lambda: deque(maxlen=DRIFT_SAMPLES))

    def drift_quantile(self, q: float) -> float | None:
        if not self.drift:
            return None
        ordered = sorted(self.drift)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def checks_per_second(self, window: float = 60.0) -> float:
        """Checks finished per second over the last `window` seconds."""
        cutoff = time.time() - window
        return sum(1 for moment in self.finished_at if moment >= cutoff) / window


class CheckEngine(Loop):
    name = "check scheduler"

    def __init__(
        self,
        sessions: SessionMaker,
        writer: ResultWriter,
        checker: Checker,
        *,
        concurrency: int = 500,
        canary: str | None = None,
        ca_bundle: str | None = None,
        claims: bool = False,
    ):
        super().__init__()
        self._claims = claims
        self._claim_seed = secrets.randbits(32)
        self._ca_bundle = ca_bundle
        self._sessions = sessions
        self._writer = writer
        self._checker = checker
        self._slots = asyncio.Semaphore(concurrency)
        self._canary = canary
        self._canary_verdict: tuple[float, bool] | None = None
        self._canary_running: asyncio.Task[bool] | None = None
        self._monitors: dict[int, Scheduled] = {}
        self._heap: list[tuple[float, int, int]] = []  # (due, generation, monitor id)
        self._poll_now = False
        self._polled = self._resynced = 0.0  # monotonic
        self._tasks: set[asyncio.Task[None]] = set()
        self._polled_at: datetime | None = None
        self.stats = EngineStats()

    @property
    def writer(self) -> ResultWriter:
        return self._writer

    @property
    def scheduled(self) -> int:
        return len(self._monitors)

    # Loading and following API changes

    async def load(self) -> None:
        """Load every monitor; overdue and never-scheduled ones are spread over
        min(interval, 5 min) by id, so a restart after downtime (or a bulk import) does not
        fire thousands of checks at once and they stay spread on later intervals. A monitor
        changed through the API in the last minute (created or resumed while the worker was
        starting) is due at once, as the poll would have made it."""
        self._polled_at = _now()
        async with self._sessions() as db:
            rows = list(await db.scalars(select(Monitor).where(_of_active_org())))
            by_monitor = await windows.windows_of(db, [row.id for row in rows])
        now = time.time()
        recent = now - RECENT_CHANGE_SECONDS
        for row in rows:
            entry = self._adopt(row, by_monitor.get(row.id, []))
            if entry is None:
                continue
            due = row.next_check_at.timestamp() if row.next_check_at else 0.0
            if due and row.updated_at.timestamp() >= recent:
                due = max(due, now - 1.0)  # at once, and its drift measured from now
            elif due <= now:  # overdue, or never scheduled
                spread = min(row.interval_seconds, STARTUP_SPREAD_SECONDS)
                due = now + (row.id * GOLDEN % 1.0) * spread
            self._schedule(entry, due)
        log.info("check engine: %d monitors loaded", len(self._monitors))

    def _adopt(self, row: Monitor, found: list[MaintenanceWindow]) -> Scheduled | None:
        """Keep a monitor in memory (or forget it when paused); None if it is not run.

        A known monitor is updated in place: a check of it may be running, and that check
        reschedules and judges on this same object when it finishes.
        """
        if row.paused:
            self._forget(row.id)
            return None
        try:
            spec = self._spec(row)
        except ValueError as exc:  # the API validates; an old row may still be wrong
            log.warning("monitor %d cannot be checked: %s", row.id, exc)
            self._forget(row.id)
            return None
        known = self._monitors.get(row.id)
        if known is None:
            entry = Scheduled(row, spec, Rules.of(row), State.of(row), found)
            self._monitors[row.id] = entry
            return entry
        known.monitor, known.spec, known.rules, known.windows = row, spec, Rules.of(row), found
        if row.status == checking.PENDING:  # reset through the API (resumed); otherwise the
            known.state = State.of(row)  # engine's memory is newer than what was stored
        return known

    def _spec(self, monitor: Monitor) -> CheckSpec | None:
        if monitor.type == "heartbeat":
            return None
        return checking.spec_for(monitor, ca_bundle=self._ca_bundle)

    def _forget(self, monitor_id: int) -> None:
        self._monitors.pop(monitor_id, None)  # its heap entries are skipped when popped

    async def poll(self) -> int:
        """Pick up monitors changed through the API since the last poll; returns how many.

        A changed row updates the engine's copy; it is due at its next_check_at when that
        is sooner (created or resumed: now), and a heartbeat with a new ping is judged at once.

        The overlap reads a row again for a few seconds after it changed. Such a row is
        skipped when its updated_at is the one the engine adopted (the result writer keeps
        updated_at), and a next_check_at no later than the last check's start is that
        check's request, fulfilled, which the writer has not replaced yet: honouring either
        checked a new monitor twice at creation, once per read.
        """
        since = (self._polled_at or _now()) - POLL_OVERLAP
        self._polled_at = _now()
        async with self._sessions() as db:
            found = (
                await db.execute(
                    select(Monitor, Organization.status)
                    .join(Organization, Organization.id == Monitor.org_id)
                    .where(Monitor.updated_at >= since)
                )
            ).all()
            rows = [row for row, _ in found]
            suspended = {row.id for row, status in found if status != ACTIVE_ORG}
            by_monitor = await windows.windows_of(db, [row.id for row in rows])
        now = time.time()
        changed = 0
        for row in rows:
            known = self._monitors.get(row.id)
            if known is not None and known.monitor.updated_at == row.updated_at:
                continue
            changed += 1
            if row.id in suspended:  # its organization was suspended: as if paused
                self._forget(row.id)
                continue
            pinged = known is not None and known.monitor.last_ping_at != row.last_ping_at
            entry = self._adopt(row, by_monitor.get(row.id, []))
            if entry is None:
                continue
            due = entry.due if known is not None else now
            due = min(due, now + row.interval_seconds)
            asked = row.next_check_at.timestamp() if row.next_check_at is not None else None
            if asked is not None and asked > entry.started_at:
                due = min(due, asked)
            if pinged:
                due = now
            if known is None or due != entry.due:
                self._schedule(entry, due)
        return changed

    def poll_soon(self) -> None:
        """Look for API changes now rather than at the next poll (called once they commit)."""
        self._poll_now = True
        self.wake()

    async def resync(self) -> None:
        """Forget monitors deleted through the API, or of organizations suspended since."""
        async with self._sessions() as db:
            alive = set(await db.scalars(select(Monitor.id).where(_of_active_org())))
        for monitor_id in set(self._monitors) - alive:
            self._forget(monitor_id)

    # Scheduling

    def _schedule(self, entry: Scheduled, due: float) -> None:
        entry.due = due
        entry.generation += 1
        heapq.heappush(self._heap, (due + self._lag(entry), entry.generation, entry.monitor.id))
        self.wake()

    def _lag(self, entry: Scheduled) -> float:
        """With claims, each worker looks for a monitor's due check a little later than its
        due time, by an amount of its own for that monitor (under CLAIM_SPREAD_SECONDS): the
        worker with the least for a monitor claims it, so the monitors spread over the
        workers, and a worker alone claims them all, that much later at most."""
        if not self._claims:
            return 0.0
        return hash((self._claim_seed, entry.monitor.id)) % 1000 / 1000 * CLAIM_SPREAD_SECONDS

    def _next_ready(self, now: float) -> Scheduled | None:
        """The earliest due monitor if it is due by `now`; stale heap entries are dropped."""
        while self._heap and self._heap[0][0] <= now:
            _, generation, monitor_id = heapq.heappop(self._heap)
            entry = self._monitors.get(monitor_id)
            if entry is None or entry.generation != generation or entry.running:
                continue
            return entry
        return None

    async def run(self) -> None:
        """Load all monitors (spread when overdue), then loop (server/engines/loop.py)."""
        await self.load()
        self._polled = self._resynced = time.monotonic()
        await super().run()

    async def run_once(self) -> bool:
        """1. Start every due monitor, each as soon as a concurrency slot is free; the time
           from its due time to its start is its drift.
        2. Poll API changes every second (at once after poll_soon), look for deleted
           monitors every 30 s.
        3. False: the loop sleeps until the next is due, a change wakes it, or it is time
           to poll (idle_seconds).
        """
        now = time.time()
        if self._claims:
            for taken in await self._claim(self._all_ready(now)):
                if not await self._start_when_free(taken):
                    return False
        while (entry := self._next_ready(now)) is not None:
            if not await self._start_when_free(entry):
                return False
            now = time.time()
        if self._poll_now or time.monotonic() - self._polled >= POLL_SECONDS:
            self._poll_now, self._polled = False, time.monotonic()
            await self.poll()
        if time.monotonic() - self._resynced >= RESYNC_SECONDS:
            self._resynced = time.monotonic()
            await self.resync()
        return self._poll_now

    async def _start_when_free(self, entry: Scheduled) -> bool:
        """Start `entry` once a concurrency slot is free; False when stopping instead."""
        await self._slots.acquire()
        if self.stopping:
            self._slots.release()
            return False
        self._start(entry)
        return True

    def _all_ready(self, now: float) -> list[Scheduled]:
        ready = []
        while (entry := self._next_ready(now)) is not None:
            entry.running = True  # held out of the heap and the polls while it is claimed
            ready.append(entry)
        return ready

    async def _claim(self, ready: list[Scheduled]) -> list[Scheduled]:
        """The due checks this worker takes, when several workers share the monitors: each
        is claimed in the database for half its interval, so no other worker runs it; the
        judgement state comes with the claim, from the row, since the last check may have
        been another worker's. A check another worker took is scheduled for its next
        interval here; a worker that dies leaves its claims to expire, and its monitors are
        claimed by the others when next due."""
        if not ready:
            return []
        now_ms = int(time.time() * 1000)
        table: Table = Monitor.__table__  # type: ignore[assignment]
        claim = (
            update(table)
            .where(
                table.c.id.in_([entry.monitor.id for entry in ready]),
                or_(
                    table.c.check_claimed_until_ms.is_(None),
                    table.c.check_claimed_until_ms <= now_ms,
                ),
            )
            .values(
                check_claimed_until_ms=now_ms + table.c.interval_seconds * CLAIM_MS_PER_SECOND,
                updated_at=table.c.updated_at,  # not an API change: the polls skip it
            )
            .returning(
                table.c.id,
                table.c.status,
                table.c.consecutive_failures,
                table.c.consecutive_successes,
                table.c.degraded_streak,
            )
        )
        retry: float | None = None
        winners_due: dict[int, datetime | None] = {}
        try:
            async with self._sessions() as db, db.begin():
                rows = {row.id: row for row in (await db.execute(claim)).all()}
                lost = [entry.monitor.id for entry in ready if entry.monitor.id not in rows]
                if lost:
                    found = await db.execute(
                        select(table.c.id, table.c.next_check_at).where(table.c.id.in_(lost))
                    )
                    winners_due = {row.id: row.next_check_at for row in found}
        except Exception:
            log.exception("claiming %d due checks failed; trying again in a second", len(ready))
            rows, retry = {}, time.time() + 1.0
        taken = []
        for entry in ready:
            entry.running = False
            row = rows.get(entry.monitor.id)
            if row is None:
                # Another worker took it: look next on that worker's schedule (the row's due:
                # its next when written already, else this one, which the next follows), so
                # a worker that started later, on times of its own, gets its share.
                if (winners := winners_due.get(entry.monitor.id)) is not None:
                    entry.due = winners.timestamp()
                ahead = entry.due > time.time()
                self._schedule(entry, retry or (entry.due if ahead else self._next_due(entry)))
                continue
            entry.state = State(
                row.status, row.consecutive_failures, row.consecutive_successes, row.degraded_streak
            )
            taken.append(entry)
        return taken

    def idle_seconds(self) -> float:
        timeout = POLL_SECONDS
        if self._heap:
            timeout = max(0.0, min(timeout, self._heap[0][0] - time.time()))
        return timeout

    def _start(self, entry: Scheduled) -> None:
        entry.running = True
        started = time.time()
        entry.started_at = started
        self.stats.started += 1
        self.stats.drift.append(max(0.0, started - entry.due))
        task = asyncio.create_task(self._check(entry), name=f"check monitor {entry.monitor.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _check(self, entry: Scheduled) -> None:
        """One scheduled check: run, judge, hand to the writer, schedule the next."""
        try:
            judged = await self._run_and_judge(entry)
            self._writer.put(judged)
        except Exception:
            log.exception("check of monitor %d failed", entry.monitor.id)
        finally:
            self._slots.release()
            entry.running = False
            self.stats.finished += 1
            self.stats.finished_at.append(time.time())
            if self._monitors.get(entry.monitor.id) is entry:
                self._schedule(entry, self._next_due(entry))

    def _next_due(self, entry: Scheduled) -> float:
        now = _now()
        previous = datetime.fromtimestamp(entry.due, UTC)
        due = checking.next_due(previous, entry.monitor.interval_seconds, now).timestamp()
        monitor = entry.monitor
        if entry.spec is None:  # heartbeat: also judge right after its deadline passes
            deadline = heartbeat_deadline(
                last_ping_at=monitor.last_ping_at,
                period_seconds=monitor.interval_seconds,
                grace_seconds=monitor.heartbeat_grace_seconds,
                created_at=monitor.created_at,
            )
            if deadline is not None and deadline > now:
                due = min(due, deadline.timestamp() + 1.0)
        return due

    # Running and judging one check

    async def _outcome(self, entry: Scheduled) -> CheckOutcome:
        monitor = entry.monitor
        if entry.spec is None:
            return evaluate_heartbeat(
                last_ping_at=monitor.last_ping_at,
                period_seconds=monitor.interval_seconds,
                grace_seconds=monitor.heartbeat_grace_seconds,
                now=_now(),
                failed_ping=monitor.last_ping_failed,
                created_at=monitor.created_at,
            )
        spec = entry.spec
        # The per-attempt timeout bounds each try; this bounds the whole check too.
        limit = spec.attempts * (spec.timeout_seconds + spec.retry_delay_seconds) + 5
        async with asyncio.timeout(limit):
            return await self._checker.run(spec)

    async def _network_ok(self) -> bool:
        """The canary's verdict, shared by concurrent checks and cached for 10 s."""
        if self._canary is None:
            return True
        if self._canary_verdict and time.monotonic() - self._canary_verdict[0] < CANARY_TTL_SECONDS:
            return self._canary_verdict[1]
        if self._canary_running is None or self._canary_running.done():
            self._canary_running = asyncio.create_task(network_ok(self._checker, self._canary))
        verdict = await asyncio.shield(self._canary_running)
        self._canary_verdict = (time.monotonic(), verdict)
        if not verdict:
            log.warning(
                "network canary %s failed: failing checks are recorded as unknown", self._canary
            )
        return verdict

    async def _run_and_judge(self, entry: Scheduled, *, update_state: bool = True) -> JudgedCheck:
        monitor = entry.monitor
        outcome = await self._outcome(entry)
        healthy = outcome.status != "down" or await self._network_ok()
        active = maintenance.active_window(entry.windows, outcome.checked_at) is not None
        verdict = checking.judge(
            entry.state, outcome, entry.rules, network_ok=healthy, in_maintenance=active
        )
        expiring = checking.ssl_expiring(outcome, entry.rules)
        if expiring is not None and expiring != entry.ssl_expiring and not active:
            action = Action.open_ssl if expiring else Action.resolve_ssl
            verdict = checking.Verdict(
                verdict.state, verdict.recorded_status, (*verdict.actions, action)
            )
            entry.ssl_expiring = expiring
        previous = entry.state.status
        if update_state:
            entry.state = verdict.state
        else:  # a paused monitor: the result is kept, it changes nothing
            verdict = checking.Verdict(verdict.state, verdict.recorded_status, ())
        next_at = datetime.fromtimestamp(self._next_due(entry), UTC) if update_state else None
        return JudgedCheck(
            monitor_id=monitor.id,
            org_id=monitor.org_id,
            name=monitor.name,
            outcome=outcome,
            verdict=verdict,
            previous_status=previous,
            next_check_at=next_at,
            update_state=update_state,
        )

    async def check_now(self, monitor: Monitor) -> tuple[int | None, JudgedCheck]:
        """Run one check of `monitor` at once, outside the schedule, and wait until its
        result is written. A paused monitor's result is recorded, its state left alone."""
        entry = self._monitors.get(monitor.id)
        if entry is None or monitor.paused:
            spec = self._spec(monitor)
            async with self._sessions() as db:
                found = (await windows.windows_of(db, [monitor.id])).get(monitor.id, [])
            entry = Scheduled(monitor, spec, Rules.of(monitor), State.of(monitor), found)
        judged = await self._run_and_judge(entry, update_state=not monitor.paused)
        result_id = await self._writer.put_and_wait(judged)
        return result_id, judged

    async def refresh(self, monitor_id: int) -> None:
        """Take a monitor's state from its row: a check-now run by the API process judged
        and stored it (the row is then newer than this engine's memory). A monitor whose
        scheduled check is running keeps its state: that check's verdict comes later."""
        entry = self._monitors.get(monitor_id)
        if entry is None or entry.running:
            return
        async with self._sessions() as db:
            row = await db.get(Monitor, monitor_id)
        if row is not None and not entry.running and self._monitors.get(monitor_id) is entry:
            entry.state = State.of(row)

    async def stop(self) -> None:
        """Stop scheduling and let running checks finish (they are bounded by timeouts)."""
        self._ask_to_stop()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=10)
        for task in self._tasks:
            task.cancel()
        await self._join(timeout=5)
