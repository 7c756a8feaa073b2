"""Agent metrics: raw samples (24 h) and their 5-minute (30 d) and hourly (400 d) rollups.

Two shapes, each raw and rolled up:
- a host's scalars, one wide row per sample (`agent_sample`, `agent_rollup`);
- labeled series, one narrow row per label and sample: a disk per mount, a container's cpu
  and memory (`series_sample`, `series_rollup`).
Values are integers, scaled (`HOST_COLUMNS`, `SERIES_SCALE`): SQLite stores a small integer in
1-4 bytes and a REAL in 8, and the rows have no rowid, so a host's raw day is ~8,640 rows of
~50 bytes. Times are epoch seconds for the same reason.

Periods past change (two hours and more behind) move out of these tables into
`metric_block`, one packed row per agent, series and period (server/metrics/blocks.py).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)

from server.db.base import Base, Int64

# metric -> (column, scale): the column holds round(value * scale).
HOST_COLUMNS: dict[str, tuple[str, int]] = {
    "cpu_pct": ("cpu", 100),
    "mem_pct": ("mem", 100),
    "disk_pct": ("disk", 100),  # the fullest disk's
    "load1": ("load1", 100),
    "net_rx_bps": ("rx", 1),
    "net_tx_bps": ("tx", 1),
    "net_errors_per_min": ("nerr", 100),
}
SERIES_SCALE: dict[str, int] = {
    "disk_pct": 100,
    "container_cpu_pct": 100,
    "container_mem_pct": 100,
    "container_mem_bytes": 1,
}
STATS = ("min", "avg", "max")
FIVE_MINUTES, HOUR = 300, 3600


def _agent_id() -> Column[int]:
    return Column("agent_id", Int64, ForeignKey("agent.id", ondelete="CASCADE"), primary_key=True)


def _values() -> list[Column[int]]:
    return [Column(column, BigInteger) for column, _ in HOST_COLUMNS.values()]


def _stats() -> list[Column[int]]:
    return [
        Column(f"{column}_{stat}", BigInteger)
        for column, _ in HOST_COLUMNS.values()
        for stat in STATS
    ]


agent_sample = Table(
    "agent_sample",
    Base.metadata,
    _agent_id(),
    Column("ts", Int64, primary_key=True),
    *_values(),
    sqlite_with_rowid=False,
)

agent_rollup = Table(
    "agent_rollup",
    Base.metadata,
    _agent_id(),
    Column("resolution", SmallInteger, primary_key=True),  # seconds: 300 or 3600
    Column("bucket", Int64, primary_key=True),
    Column("n", Int64, nullable=False),
    *_stats(),
    sqlite_with_rowid=False,
)

# Keyed by time before label: a metric's series are read by time range, and pruned by one.
series_sample = Table(
    "series_sample",
    Base.metadata,
    _agent_id(),
    Column("metric", String(32), primary_key=True),
    Column("ts", Int64, primary_key=True),
    Column("label", String(255), primary_key=True),
    Column("value", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

series_rollup = Table(
    "series_rollup",
    Base.metadata,
    _agent_id(),
    Column("metric", String(32), primary_key=True),
    Column("resolution", SmallInteger, primary_key=True),
    Column("bucket", Int64, primary_key=True),
    Column("label", String(255), primary_key=True),
    Column("n", Int64, nullable=False),
    *(Column(stat, BigInteger, nullable=False) for stat in STATS),
    sqlite_with_rowid=False,
)

# A sealed period of one of the tables above: its rows, packed (server/metrics/packing.py).
# A rowid table, unlike the others: SQLite keeps a row of up to ~4 kB in its b-tree page
# there (~1 kB in a WITHOUT ROWID one) and fills the overflow pages of a larger one whole,
# where a WITHOUT ROWID table leaves half a page unused per block on average.
metric_block = Table(
    "metric_block",
    Base.metadata,
    Column("id", Int64, primary_key=True),
    Column("agent_id", Int64, ForeignKey("agent.id", ondelete="CASCADE"), nullable=False),
    Column("resolution", SmallInteger, nullable=False),  # 0 for raw samples, else seconds
    Column("metric", String(32), nullable=False),  # "" for the host's wide rows
    Column("label", String(255), nullable=False),  # "" for the host's wide rows
    Column("start", Int64, nullable=False),  # the period's first second
    Column("last", Int64, nullable=False),  # the time of its last row
    Column("data", LargeBinary, nullable=False),
    UniqueConstraint("agent_id", "resolution", "metric", "label", "start"),
)
BLOCK_KEY = ("agent_id", "resolution", "metric", "label", "start")
