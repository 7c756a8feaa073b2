"""The notification dispatcher: sends the outbox's due deliveries (server/notifications/).

It decides nothing itself: server/notifications/delivery.py says what is due, what a
delivery says and what an outcome changes; the channels (server/providers/channels/) send.
"""

from __future__ import annotations

import asyncio
import logging
import time

from server.db.base import utcnow
from server.engines.loop import Loop
from server.notifications import delivery
from server.notifications.outcomes import Outcome, record_round
from server.providers.channels import Channels
from server.providers.channels.base import DeliveryError
from server.service_context import Runtime, system_transaction

log = logging.getLogger("upmetr.engines.dispatch")


class Dispatcher(Loop):
    """run_once():
    0. Release the digests of quiet hours that ended (one email per member).
    1. Claim up to `batch` due deliveries under a lease (a compare-and-set update; on
       PostgreSQL past the rows another dispatcher holds, SKIP LOCKED), and read what each
       sends, in one short transaction.
    2. Send them all at once, each bounded by its channel's timeout; a channel that raises
       anything but DeliveryError counts as a temporary failure (and is logged).
    3. Record every outcome in one transaction, a few statements for the whole round
       (server/notifications/outcomes.py): the attempt, then delivered, a retry with
       backoff, or failed; a permanent error disables the channel and says so.
    4. Every `prune_seconds`, delete what is past retention, a batch at a time
       (delivery.prune): the settled log after `notification_keep_days`, inbox lines after
       `inbox_keep_days`.
    5. True when the batch was full (there may be more due now); else sleep until woken
       (a change queued deliveries) or `poll_seconds` (retries come due, other processes).
    """

    name = "dispatch"

    def __init__(
        self,
        runtime: Runtime,
        channels: Channels,
        *,
        batch: int = 100,
        poll_seconds: float = 1.0,
        prune_seconds: float = 600.0,
    ) -> None:
        super().__init__()
        self.retry_seconds = poll_seconds
        self._runtime = runtime
        self._channels = channels
        self._batch = batch
        self._poll_seconds = poll_seconds
        self._prune_seconds = prune_seconds
        self._next_prune = 0.0

    def idle_seconds(self) -> float:
        return self._poll_seconds

    async def run_once(self) -> bool:
        runtime = self._runtime
        async with system_transaction(runtime) as ctx:
            await delivery.release_digests(ctx, now=utcnow())
        async with runtime.sessions() as db, db.begin():
            ids = await delivery.claim(db, now=utcnow(), limit=self._batch)
            jobs = (
                await delivery.jobs_of(db, ids, runtime.keys, runtime.settings.resolved_public_url)
                if ids
                else []
            )
        if not jobs:
            return await self._prune()
        outcomes = await asyncio.gather(*(self._send(job) for job in jobs))
        async with system_transaction(runtime) as ctx:
            await record_round(ctx, list(outcomes), now=utcnow())
        return len(ids) >= self._batch

    async def _prune(self) -> bool:
        """Past retention, a batch at a time; True while batches come back full."""
        if time.monotonic() < self._next_prune:
            return False
        settings = self._runtime.settings
        async with self._runtime.sessions() as db, db.begin():
            deleted = await delivery.prune(
                db, now=utcnow(), keep_days=settings.notification_keep_days,
                inbox_days=settings.inbox_keep_days,
            )  # fmt: skip
        if not deleted:
            self._next_prune = time.monotonic() + self._prune_seconds
        return deleted > 0

    async def _send(self, job: delivery.Job) -> Outcome:
        if job.skip is not None or job.config is None:
            return Outcome(job)
        started = time.perf_counter()
        try:
            sent = await self._channels.send(job.channel_type, job.notice, job.config)
        except DeliveryError as exc:
            return Outcome(job, error=exc, duration_ms=_since(started))
        except Exception as exc:  # a channel's bug must not stop the others' outcomes
            log.exception("%s delivery %s failed unexpectedly", job.channel_type, job.delivery_id)
            error = DeliveryError(f"unexpected error: {exc}", permanent=False)
            return Outcome(job, error=error, duration_ms=_since(started))
        return Outcome(job, sent=sent, duration_ms=_since(started))

    async def stop(self) -> None:
        await super().stop()
        await self._channels.aclose()


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
