"""Writing an agent's samples: raw host rows and labeled rows, each stored once per `ts`.

Values go in scaled to integers (server/metrics/models.py); `stored` gives the value as it
reads back, which is also what alert rules judge, so a backtest over stored samples sees
exactly what live evaluation saw.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.inline_sqlite import SHORT_BATCH
from server.metrics.models import HOST_COLUMNS, SERIES_SCALE, agent_sample, series_sample
from shared.api.agents import ContainerStats, Sample


def epoch(ts: datetime) -> int:
    return int(ts.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def scaled(value: float, scale: int) -> int:
    return round(value * scale)


def stored(value: float, scale: int) -> float:
    """`value` as it reads back from storage."""
    return scaled(value, scale) / scale


def host_values(sample: Sample) -> dict[str, float | None]:
    """A sample's host metrics by name (None where the sample has none)."""
    return {
        "cpu_pct": sample.cpu_pct,
        "mem_pct": sample.mem_pct,
        "disk_pct": max((disk.pct for disk in sample.disk), default=None),
        "load1": sample.load[0] if sample.load else None,
        "net_rx_bps": sample.net.rx_bps,
        "net_tx_bps": sample.net.tx_bps,
        "net_errors_per_min": sample.net.errors_per_min,
    }


def labeled_values(
    sample: Sample, containers: Sequence[ContainerStats]
) -> Iterable[tuple[str, str, float]]:
    """(metric, label, value) of a sample's disks and of the containers reported with it."""
    for disk in sample.disk:
        yield "disk_pct", disk.mount, disk.pct
    for container in containers:
        yield "container_cpu_pct", container.name, container.cpu_pct
        yield "container_mem_bytes", container.name, float(container.mem_bytes)
        if container.mem_pct is not None:
            yield "container_mem_pct", container.name, container.mem_pct


def table_of(model: Any) -> Table:
    """A mapped class's table, for Core statements on a hot path (no ORM bookkeeping)."""
    table: Table = model.__table__
    return table


@cache
def _insert_for(dialect: str, table: Any) -> Any:
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


def _insert(db: AsyncSession, table: Any) -> Any:
    """The dialect's INSERT of `table`, one object per table (its compiled form is cached
    by SQLAlchemy)."""
    return _insert_for(db.get_bind().dialect.name, table)


def upsert_statement(
    db: AsyncSession, table: Table, key: Sequence[str], columns: Sequence[str]
) -> Any:
    """INSERT of `table` that, where `key` is stored, sets `columns` to the new values."""
    statement = _insert(db, table)
    return statement.on_conflict_do_update(
        index_elements=list(key),
        set_={column: statement.excluded[column] for column in columns},
    )


async def write(
    db: AsyncSession, agent_id: int, samples: Sequence[Sample],
    containers_at: dict[int, Sequence[ContainerStats]],
) -> None:  # fmt: skip
    """Store new samples (their times not stored yet) and the containers reported with the
    sample at each time of `containers_at`. A concurrent post of the same sample is ignored
    by the primary key rather than failing the batch."""
    host_rows = []
    series_rows = []
    for sample in samples:
        ts = epoch(sample.ts)
        row: dict[str, Any] = {"agent_id": agent_id, "ts": ts}
        for metric, value in host_values(sample).items():
            column, scale = HOST_COLUMNS[metric]
            row[column] = None if value is None else scaled(value, scale)
        host_rows.append(row)
        series_rows += [
            {"agent_id": agent_id, "metric": metric, "label": label, "ts": ts,
             "value": scaled(value, SERIES_SCALE[metric])}
            for metric, label, value in labeled_values(sample, containers_at.get(ts, ()))
        ]  # fmt: skip
    await insert_rows(db, agent_sample, host_rows)
    await insert_rows(db, series_sample, series_rows)


# Rows per INSERT: within SQLite's 32,766 bound variables at the widest row (9 columns).
_CHUNK = 1000


@cache
def _insert_ignoring(dialect: str, table: Any) -> Any:
    return _insert_for(dialect, table).on_conflict_do_nothing()


async def insert_rows(db: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows, skipping those whose key is stored. Up to SHORT_BATCH rows (a post's),
    one statement built once, run for each row in one executemany, which stays on the loop
    on SQLite (server/db/inline_sqlite.py); more, a multi-row INSERT per chunk (compiled
    anew each time, ~260 us, but a thread hop is not paid with the write lock held)."""
    if len(rows) <= SHORT_BATCH:
        if rows:
            statement = _insert_ignoring(db.get_bind().dialect.name, table)
            await db.execute(statement, rows if len(rows) > 1 else rows[0])
        return
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        await db.execute(_insert(db, table).values(chunk).on_conflict_do_nothing())
