"""Rolling agent metrics up, and pruning them past retention.

`roll_up(db, now)`, one step for up to BATCH agents:
1. Settled buckets are those that ended a minute ago or more (a post in flight lands).
2. For each agent whose 5-minute rollups lag (`rollup_5m_from` before the newest settled
   bucket), the 5-minute buckets from there are computed again from raw samples, host and
   labeled, and written over (an upsert): a late sample that moved `rollup_5m_from` back
   (server/agents/service.py) gets its bucket recomputed. `rollup_1h_from` moves back to
   the first recomputed hour.
3. Likewise hourly buckets from the 5-minute ones (min of mins, max of maxes, average
   weighted by sample count).
Rows are written in one statement per table and step, set-based over the batch's agents.

`prune(db, now, after_agent_id)` deletes one agent batch's rows past retention (raw 24 h,
5-minute 30 d, hourly 400 d) by primary-key ranges, and says where the walk goes on.
"""

# The statements are built from constant column names, never from input.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BindParameter, bindparam, case, delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.agents.models import Agent
from server.metrics import blocks
from server.metrics.models import (
    FIVE_MINUTES,
    HOST_COLUMNS,
    HOUR,
    SERIES_SCALE,
    STATS,
    agent_rollup,
    agent_sample,
    series_rollup,
    series_sample,
)

BATCH = 100  # agents per step: a short hold of the write lock, which the API shares
SETTLE_SECONDS = 60
RAW_SECONDS = 86_400
FIVE_MINUTE_SECONDS = 30 * 86_400
HOURLY_SECONDS = 400 * 86_400
# Seconds kept by resolution (0: raw samples), rows and sealed blocks alike.
RETENTION = {0: RAW_SECONDS, FIVE_MINUTES: FIVE_MINUTE_SECONDS, HOUR: HOURLY_SECONDS}

_HOST = [column for column, _ in HOST_COLUMNS.values()]
_HOST_STATS = [f"{column}_{stat}" for column in _HOST for stat in STATS]


def _from_raw_host() -> str:
    picked = ", ".join(f"min(s.{c}), CAST(ROUND(avg(s.{c})) AS BIGINT), max(s.{c})" for c in _HOST)
    return f"""
        INSERT INTO agent_rollup (agent_id, resolution, bucket, n, {", ".join(_HOST_STATS)})
        SELECT s.agent_id, {FIVE_MINUTES}, s.ts - s.ts % {FIVE_MINUTES}, count(*), {picked}
        FROM agent_sample s JOIN agent a ON a.id = s.agent_id
        WHERE a.id IN :ids AND s.ts >= a.rollup_5m_from AND s.ts < :until
        GROUP BY s.agent_id, s.ts - s.ts % {FIVE_MINUTES}
        ON CONFLICT (agent_id, resolution, bucket) DO UPDATE SET n = excluded.n,
        {", ".join(f"{c} = excluded.{c}" for c in _HOST_STATS)}
    """


def _from_fives_host() -> str:
    picked = ", ".join(
        f"min(r.{c}_min), CAST(ROUND(sum(r.{c}_avg * r.n) * 1.0 / sum(r.n)) AS BIGINT), "
        f"max(r.{c}_max)"
        for c in _HOST
    )
    return f"""
        INSERT INTO agent_rollup (agent_id, resolution, bucket, n, {", ".join(_HOST_STATS)})
        SELECT r.agent_id, {HOUR}, r.bucket - r.bucket % {HOUR}, sum(r.n), {picked}
        FROM agent_rollup r JOIN agent a ON a.id = r.agent_id
        WHERE a.id IN :ids AND r.resolution = {FIVE_MINUTES}
          AND r.bucket >= a.rollup_1h_from AND r.bucket < :until
        GROUP BY r.agent_id, r.bucket - r.bucket % {HOUR}
        ON CONFLICT (agent_id, resolution, bucket) DO UPDATE SET n = excluded.n,
        {", ".join(f"{c} = excluded.{c}" for c in _HOST_STATS)}
    """


_FROM_RAW_SERIES = f"""
    INSERT INTO series_rollup (agent_id, metric, label, resolution, bucket, n, min, avg, max)
    SELECT s.agent_id, s.metric, s.label, {FIVE_MINUTES}, s.ts - s.ts % {FIVE_MINUTES},
           count(*), min(s.value), CAST(ROUND(avg(s.value)) AS BIGINT), max(s.value)
    FROM series_sample s JOIN agent a ON a.id = s.agent_id
    WHERE a.id IN :ids AND s.ts >= a.rollup_5m_from AND s.ts < :until
    GROUP BY s.agent_id, s.metric, s.label, s.ts - s.ts % {FIVE_MINUTES}
    ON CONFLICT (agent_id, metric, resolution, bucket, label) DO UPDATE SET
    n = excluded.n, min = excluded.min, avg = excluded.avg, max = excluded.max
"""

_FROM_FIVES_SERIES = f"""
    INSERT INTO series_rollup (agent_id, metric, label, resolution, bucket, n, min, avg, max)
    SELECT r.agent_id, r.metric, r.label, {HOUR}, r.bucket - r.bucket % {HOUR}, sum(r.n),
           min(r.min), CAST(ROUND(sum(r.avg * r.n) * 1.0 / sum(r.n)) AS BIGINT), max(r.max)
    FROM series_rollup r JOIN agent a ON a.id = r.agent_id
    WHERE a.id IN :ids AND r.resolution = {FIVE_MINUTES}
      AND r.bucket >= a.rollup_1h_from AND r.bucket < :until
    GROUP BY r.agent_id, r.metric, r.label, r.bucket - r.bucket % {HOUR}
    ON CONFLICT (agent_id, metric, resolution, bucket, label) DO UPDATE SET
    n = excluded.n, min = excluded.min, avg = excluded.avg, max = excluded.max
"""


@dataclass(frozen=True)
class _Level:
    cursor: str  # the agent column saying from where this level lags
    size: int  # the bucket length
    statements: tuple[str, ...]
    reads: blocks.Source  # the finer data it is computed from


_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_LEVELS = (
    _Level("rollup_5m_from", FIVE_MINUTES, (_from_raw_host(), _FROM_RAW_SERIES), blocks.HOST_RAW),
    _Level("rollup_1h_from", HOUR, (_from_fives_host(), _FROM_FIVES_SERIES), blocks.HOST_FIVES),
)


async def roll_up(db: AsyncSession, now: int) -> int:
    """The module's first function; how many (agent, resolution) pairs it brought up to date."""
    rolled = 0
    for level in _LEVELS:
        settled = now - SETTLE_SECONDS
        until = settled - settled % level.size
        cursor = getattr(Agent, level.cursor)
        ids = list(
            await db.scalars(
                select(Agent.id).where(cursor.is_not(None), cursor < until).limit(BATCH)
            )
        )
        if not ids:
            continue
        await blocks.unseal(db, ids, level.reads)  # the statements read rows only
        for statement in level.statements:
            await db.execute(text(statement).bindparams(_IDS), {"ids": ids, "until": until})
        if level.size == FIVE_MINUTES:  # the hours these buckets fall in are to roll again
            hour = Agent.rollup_5m_from - Agent.rollup_5m_from % HOUR
            behind = case(
                (Agent.rollup_1h_from.is_(None) | (hour < Agent.rollup_1h_from), hour),
                else_=Agent.rollup_1h_from,
            )
            await db.execute(update(Agent).where(Agent.id.in_(ids)).values(rollup_1h_from=behind))
        await db.execute(update(Agent).where(Agent.id.in_(ids)).values({cursor: until}))
        rolled += len(ids)
    return rolled


async def prune(db: AsyncSession, now: int, after_agent_id: int) -> tuple[int, int]:
    """Delete past-retention rows of the next agents after `after_agent_id`; the rows
    deleted and the last agent id of the batch (0 when the walk is over)."""
    ids = list(
        await db.scalars(
            select(Agent.id).where(Agent.id > after_agent_id).order_by(Agent.id).limit(50)
        )
    )
    if not ids:
        return 0, 0
    # Each condition follows a primary key to its time column, so a delete walks only
    # the rows it deletes (the labeled tables' keys have the metric before the time).
    metrics = list(SERIES_SCALE)
    statements = [
        delete(agent_sample).where(
            agent_sample.c.agent_id.in_(ids), agent_sample.c.ts < now - RAW_SECONDS
        ),
        delete(series_sample).where(
            series_sample.c.agent_id.in_(ids),
            series_sample.c.metric.in_(metrics),
            series_sample.c.ts < now - RAW_SECONDS,
        ),
    ]
    for resolution in (FIVE_MINUTES, HOUR):
        keep = RETENTION[resolution]
        statements.append(
            delete(agent_rollup).where(
                agent_rollup.c.agent_id.in_(ids),
                agent_rollup.c.resolution == resolution,
                agent_rollup.c.bucket < now - keep,
            )
        )
        statements.append(
            delete(series_rollup).where(
                series_rollup.c.agent_id.in_(ids),
                series_rollup.c.metric.in_(metrics),
                series_rollup.c.resolution == resolution,
                series_rollup.c.bucket < now - keep,
            )
        )
    statements += blocks.prune(ids, now, RETENTION)
    deleted = 0
    for statement in statements:
        result = await db.execute(statement)
        deleted += result.rowcount  # type: ignore[attr-defined]
    return deleted, ids[-1]
