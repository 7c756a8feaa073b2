"""Sealed metrics: periods past change leave the row tables for one packed row each.

Raw samples are packed by the hour, 5-minute rollups by the day and hourly ones by ten
days: one `metric_block` row per agent, series and period (server/metrics/packing.py).
Each hour that ended SEAL_LAG ago or more, once the rollups that read it have passed it,
is sealed: into its period's block, merged with the hours sealed before it.

Agents spool an hour at most, so a sample for a sealed period is rare, but it is kept: it
is stored as a row beside the block, a read takes a row over the block's at the same time,
and the next seal merges it in. A rollup about to read sealed periods again (a late sample
moved its cursor back) first turns those blocks back into rows (`unseal`).

- `seal(db, now, after_agent_id)`: one step of the walk over agents.
- `unseal(db, ids, source)`: blocks a rollup reads again go back to rows.
- `read(db, source, agent_id, start, end, columns)`: rows and blocks, merged.
- `stored_ts(db, agent_id, times)`: the times among these already stored.
- `prune(ids, now)`: the statements deleting blocks past retention.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Delete, Table, delete, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.agents.models import Agent
from server.metrics import packing
from server.metrics.models import (
    BLOCK_KEY,
    FIVE_MINUTES,
    HOST_COLUMNS,
    HOUR,
    STATS,
    agent_rollup,
    agent_sample,
    metric_block,
    series_rollup,
    series_sample,
)
from server.metrics.storage import insert_rows, upsert_statement

DAY = 86_400
# How long after its end an hour is sealed: agents spool an hour while the server is away.
SEAL_LAG = 2 * HOUR
BATCH = 10  # agents per step: a first seal of a long history moves ~80,000 rows an agent

_HOST = tuple(column for column, _ in HOST_COLUMNS.values())


@dataclass(frozen=True)
class Source:
    """One resolution of one row table, as sealed: its rows' time and the columns packed
    after it, in order."""

    table: Table
    resolution: int  # 0 for raw samples, else the bucket's seconds
    period: int  # the seconds one block holds
    values: tuple[str, ...]

    @property
    def time(self) -> Any:
        return self.table.c.ts if self.resolution == 0 else self.table.c.bucket

    @property
    def labeled(self) -> bool:
        return "label" in self.table.c

    def rows_of(self, agent_ids: Sequence[int]) -> list[Any]:
        """The conditions selecting this source's rows of the agents."""
        where: list[Any] = [self.table.c.agent_id.in_(agent_ids)]
        if self.resolution:
            where.append(self.table.c.resolution == self.resolution)
        return where


_HOST_ROLLUP = ("n", *(f"{column}_{stat}" for column in _HOST for stat in STATS))
_SERIES_ROLLUP = ("n", *STATS)
HOST_RAW = Source(agent_sample, 0, HOUR, _HOST)
HOST_FIVES = Source(agent_rollup, FIVE_MINUTES, DAY, _HOST_ROLLUP)
HOST_HOURS = Source(agent_rollup, HOUR, 10 * DAY, _HOST_ROLLUP)
SERIES_RAW = Source(series_sample, 0, HOUR, ("value",))
SERIES_FIVES = Source(series_rollup, FIVE_MINUTES, DAY, _SERIES_ROLLUP)
SERIES_HOURS = Source(series_rollup, HOUR, 10 * DAY, _SERIES_ROLLUP)
SOURCES = (HOST_RAW, HOST_FIVES, HOST_HOURS, SERIES_RAW, SERIES_FIVES, SERIES_HOURS)


def source_of(resolution: int, *, labeled: bool) -> Source:
    return next(s for s in SOURCES if s.resolution == resolution and s.labeled == labeled)


# Sealing


async def seal(db: AsyncSession, now: int, after_agent_id: int) -> tuple[int, int]:
    """Seal what is due of the next agents after `after_agent_id`: the rows sealed and the
    last agent id of the batch (0 when the walk is over)."""
    agents = (
        await db.execute(
            select(Agent.id, Agent.rollup_5m_from, Agent.rollup_1h_from)
            .where(Agent.id > after_agent_id)
            .order_by(Agent.id)
            .limit(BATCH)
            .with_for_update()  # one sealer at a time per agent (PostgreSQL)
        )
    ).all()
    if not agents:
        return 0, 0
    sealed = 0
    for source in SOURCES:
        by_bound: defaultdict[int, list[int]] = defaultdict(list)
        for agent_id, fives_from, hours_from in agents:
            by_bound[_bound(source, now, fives_from, hours_from)].append(agent_id)
        for bound, ids in by_bound.items():
            sealed += await _seal(db, source, ids, bound)
    return sealed, agents[-1].id


def _bound(source: Source, now: int, fives_from: int | None, hours_from: int | None) -> int:
    """Where sealing stops: at the hour that ended less than SEAL_LAG ago, or that a rollup
    has still to read (raw samples for the 5-minute buckets, those for the hourly ones,
    which are recomputed from their cursor on). A period under way is sealed as far as
    that, its later hours merged into its block by later walks."""
    limit = now - SEAL_LAG
    cursor = fives_from if source.resolution == 0 else hours_from
    if cursor is not None:
        limit = min(limit, cursor)
    return limit - limit % HOUR


async def _seal(db: AsyncSession, source: Source, ids: list[int], bound: int) -> int:
    """Move the rows before `bound` into blocks; one statement takes them out (DELETE ...
    RETURNING), so a row written meanwhile stays a row rather than being lost."""
    table = source.table
    labels = [table.c.metric, table.c.label] if source.labeled else [literal(""), literal("")]
    taken = await db.execute(
        delete(table)
        .where(*source.rows_of(ids), source.time < bound)
        .returning(table.c.agent_id, *labels, source.time, *(table.c[c] for c in source.values))
    )
    periods: defaultdict[tuple[int, str, str, int], list[tuple[Any, ...]]] = defaultdict(list)
    for agent_id, metric, label, *row in taken:
        periods[(agent_id, metric, label, row[0] - row[0] % source.period)].append(tuple(row))
    if not periods:
        return 0
    sealed = await _blocks(db, source, {key[0] for key in periods}, {key[3] for key in periods})
    blocks = []
    for key, rows in periods.items():
        merged = {row[0]: row for row in sealed.get(key, ())}
        merged.update((row[0], row) for row in rows)  # a row written later wins
        agent_id, metric, label, start = key
        packed = sorted(merged.values())
        blocks.append({
            "agent_id": agent_id, "resolution": source.resolution, "metric": metric,
            "label": label, "start": start, "last": packed[-1][0],
            "data": packing.pack(packed),
        })  # fmt: skip
    await db.execute(upsert_statement(db, metric_block, BLOCK_KEY, ["last", "data"]), blocks)
    return sum(len(rows) for rows in periods.values())


async def _blocks(
    db: AsyncSession, source: Source, agent_ids: Iterable[int], starts: Iterable[int]
) -> dict[tuple[int, str, str, int], list[packing.Row]]:
    """The sealed blocks of `source` at these starts, unpacked by key."""
    found = await db.execute(
        select(metric_block).where(
            metric_block.c.agent_id.in_(list(agent_ids)),
            metric_block.c.resolution == source.resolution,
            (metric_block.c.metric != "") if source.labeled else (metric_block.c.metric == ""),
            metric_block.c.start.in_(list(starts)),
        )
    )
    return {
        (block.agent_id, block.metric, block.label, block.start): packing.unpack(block.data)
        for block in found
    }


async def unseal(db: AsyncSession, ids: list[int], source: Source) -> int:
    """Turn back into rows the blocks of `source` (host and labeled) that the agents' next
    rollup reads again: raw from `rollup_5m_from`, 5-minute from `rollup_1h_from`. None,
    unless a sample came later than SEAL_LAG."""
    cursor = Agent.rollup_5m_from if source.resolution == 0 else Agent.rollup_1h_from
    reread_from = select(cursor).where(Agent.id == metric_block.c.agent_id).scalar_subquery()
    taken = await db.execute(
        delete(metric_block)
        .where(
            metric_block.c.agent_id.in_(ids),
            metric_block.c.resolution == source.resolution,
            metric_block.c.last >= reread_from,
        )
        .returning(metric_block)
    )
    unsealed = 0
    for block in taken.all():
        table, rows = _table_rows(block)
        await insert_rows(db, table, rows)  # a row stored since wins
        unsealed += len(rows)
    return unsealed


def _table_rows(block: Any) -> tuple[Table, list[dict[str, Any]]]:
    """A block's rows, as rows of the table it was sealed from."""
    source = source_of(block.resolution, labeled=block.metric != "")
    key: dict[str, Any] = {"agent_id": block.agent_id}
    if source.labeled:
        key |= {"metric": block.metric, "label": block.label}
    if source.resolution:
        key["resolution"] = source.resolution
    rows = [
        {**key, source.time.name: at, **dict(zip(source.values, values, strict=True))}
        for at, *values in packing.unpack(block.data)
    ]
    return source.table, rows


# Reading


async def read(
    db: AsyncSession, source: Source, agent_id: int, start: int, end: int,
    columns: Sequence[str], *, metric: str = "", label: str | None = None,
) -> dict[str, list[tuple[Any, ...]]]:  # fmt: skip
    """Each label's (time, *columns) from `start` to `end` inclusive, in time order, from
    rows and blocks ("" labels the host's rows)."""
    table = source.table
    where = [*source.rows_of([agent_id]), source.time >= start, source.time <= end]
    block_where = [
        metric_block.c.agent_id == agent_id,
        metric_block.c.resolution == source.resolution,
        metric_block.c.metric == metric,
        metric_block.c.last >= start,
        metric_block.c.start <= end,
    ]
    if source.labeled:
        where.append(table.c.metric == metric)
    if label is not None:
        where.append(table.c.label == label)
        block_where.append(metric_block.c.label == label)
    found: defaultdict[str, dict[int, tuple[Any, ...]]] = defaultdict(dict)
    wanted = [1 + source.values.index(column) for column in columns]
    blocks = select(metric_block.c.label, metric_block.c.data).where(*block_where)
    for name, data in await db.execute(blocks):
        for row in packing.unpack(data, wanted):
            if start <= row[0] <= end:  # type: ignore[operator]
                found[name][row[0]] = row  # type: ignore[index]
    label_column = table.c.label if source.labeled else literal("")
    rows = select(label_column, source.time, *(table.c[column] for column in columns))
    for name, at, *values in await db.execute(rows.where(*where)):
        found[name][at] = (at, *values)  # a row written after the seal wins
    return {name: [by_time[t] for t in sorted(by_time)] for name, by_time in found.items()}


async def stored_ts(
    db: AsyncSession, agent_id: int, times: Sequence[int], newest: int | None
) -> set[int]:
    """The times among `times` already stored for the agent (a replayed batch): in rows, and
    in blocks where a time is old enough to be sealed. `newest` is the newest time stored
    (None: none is): times past it are new without asking."""
    lo, hi = min(times), max(times)
    if newest is None or lo > newest:
        return set()
    if lo < time.time() - SEAL_LAG:
        stored = await read(db, HOST_RAW, agent_id, lo, hi, ())
        return {row[0] for row in stored.get("", ())}
    found = await db.scalars(
        select(agent_sample.c.ts).where(
            agent_sample.c.agent_id == agent_id, agent_sample.c.ts >= lo, agent_sample.c.ts <= hi
        )
    )
    return set(found)


# Retention


def prune(ids: list[int], now: int, keep: dict[int, int]) -> list[Delete]:
    """Statements deleting the agents' blocks whose last row is older than
    `keep[resolution]` seconds."""
    return [
        delete(metric_block).where(
            metric_block.c.agent_id.in_(ids),
            metric_block.c.resolution == resolution,
            metric_block.c.last < now - seconds,
        )
        for resolution, seconds in keep.items()
    ]


def unseal_all(connection: Any) -> None:
    """Every block back to rows, on a synchronous connection (a downgrade)."""
    for block in connection.execute(select(metric_block)).all():
        table, rows = _table_rows(block)
        connection.execute(table.insert(), rows)
    connection.execute(delete(metric_block))
