"""Uptime monitors, their raw check results, rollups and maintenance windows.

Raw results are bounded per monitor; uptime and latency are read from rollups
(see ARCHITECTURE.md, "Data lifecycle"). The check engine writes the state columns
(status, consecutive counts, last_* and next_check_at).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    Text,
    Update,
    event,
    text,
    update,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow
from server.monitors.columns import Coded, EpochMicroseconds, EpochSeconds


class Monitor(Base):
    __tablename__ = "monitor"
    __table_args__ = (
        # The list's default order (name, then id) and every lookup by organization.
        Index("ix_monitor_org_name", "org_id", "name"),
        Index("ix_monitor_next_check_at", "next_check_at"),
        # The check engine polls for monitors changed through the API since its last look.
        Index("ix_monitor_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    # What to check, by type (validated in service.check_config).
    url: Mapped[str | None] = mapped_column(String(2048), default=None)
    host: Mapped[str | None] = mapped_column(String(253), default=None)
    port: Mapped[int | None] = mapped_column(default=None)
    method: Mapped[str] = mapped_column(String(10), default="GET")
    headers: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    body: Mapped[str | None] = mapped_column(Text, default=None)
    expected_status: Mapped[int] = mapped_column(default=200)
    follow_redirects: Mapped[bool] = mapped_column(default=True)
    keyword: Mapped[str | None] = mapped_column(String(1000), default=None)
    keyword_present: Mapped[bool] = mapped_column(default=True)
    json_path: Mapped[str | None] = mapped_column(String(500), default=None)
    expected_value: Mapped[str | None] = mapped_column(String(1000), default=None)
    dns_record_type: Mapped[str | None] = mapped_column(String(10), default=None)
    dns_expected: Mapped[str | None] = mapped_column(String(1000), default=None)
    dns_resolver: Mapped[str | None] = mapped_column(String(253), default=None)
    # How and how often.
    interval_seconds: Mapped[int] = mapped_column(default=60)
    timeout_seconds: Mapped[int] = mapped_column(default=30)
    failure_threshold: Mapped[int] = mapped_column(default=1)
    recovery_threshold: Mapped[int] = mapped_column(default=2)
    degraded_threshold_ms: Mapped[int | None] = mapped_column(default=None)
    ssl_expiry_days: Mapped[int] = mapped_column(default=14)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    paused: Mapped[bool] = mapped_column(default=False)
    # Heartbeat monitors: pinged at /heartbeat/{token}; down after interval + grace.
    heartbeat_token: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    heartbeat_grace_seconds: Mapped[int] = mapped_column(default=300)
    last_ping_at: Mapped[datetime | None] = mapped_column(default=None)
    last_ping_failed: Mapped[bool] = mapped_column(default=False)
    # State, written by the check engine.
    status: Mapped[str] = mapped_column(String(20), default="pending")
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    consecutive_successes: Mapped[int] = mapped_column(default=0)
    degraded_streak: Mapped[int] = mapped_column(default=0)
    last_checked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_response_ms: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(1000), default=None)
    ssl_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    next_check_at: Mapped[datetime | None] = mapped_column(default=None)
    # Until when (epoch milliseconds) a worker holds the check due now, when several
    # workers share the monitors (server/engines/checks.py, claims): no other runs it.
    check_claimed_until_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# Recorded statuses and rollup periods, in the order of their stored codes: the most
# common first, as SQLite stores 0 and 1 in the record header alone.
RESULT_STATUSES = ("up", "down", "degraded", "maintenance", "unknown")
PERIODS = ("minute", "hour", "day")


def next_result_id(context: DefaultExecutionContext) -> int:
    """A new check_result id, for a row inserted without one (the writer takes its batch's
    ids at once, in recording._insert_results)."""
    return int(context.connection.execute(take_ids(1)).scalar_one())


def take_ids(count: int) -> Update:
    """Reserves `count` result ids; returns the last of them."""
    table = Base.metadata.tables["check_result_sequence"]
    return update(table).values(last_id=table.c.last_id + count).returning(table.c.last_id)


class CheckResultSequence(Base):
    """One row: the last check_result id given. Results are kept in (monitor, time) order
    with no rowid, so the largest id cannot be read cheaply from the table itself."""

    __tablename__ = "check_result_sequence"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_id: Mapped[int] = mapped_column(default=0)


# Its one row comes with the table (migration 0010 starts it at the largest id kept).
event.listen(
    CheckResultSequence.__table__,
    "after_create",
    DDL("INSERT INTO check_result_sequence (id, last_id) VALUES (1, 0)"),
)


class CheckResult(Base):
    """One raw check; the engine keeps only the latest N per monitor.

    Stored in (monitor_id, checked_at, id) order without a rowid: the checks list, the
    p95s and retention all read one monitor's results by time, so the table is its own
    index. id is unique and grows with each write (result ids in live events)."""

    __tablename__ = "check_result"
    __table_args__ = (
        PrimaryKeyConstraint("monitor_id", "checked_at", "id"),
        {"sqlite_with_rowid": False},
    )

    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitor.id", ondelete="CASCADE"))
    checked_at: Mapped[datetime] = mapped_column(EpochMicroseconds)
    id: Mapped[int] = mapped_column(default=next_result_id)
    status: Mapped[str] = mapped_column(Coded(RESULT_STATUSES))
    response_time_ms: Mapped[int | None] = mapped_column(default=None)
    status_code: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(String(1000), default=None)


# A rollup bucket whose p95 is still to be computed (see ix_monitor_rollup_p95_pending).
P95_PENDING = "p95_ms IS NULL AND measured > 0"


class MonitorRollup(Base):
    """Counts and latency of one monitor over one minute, hour or day bucket (UTC).

    Stored in (monitor_id, period, bucket_start) order without a rowid, so the table is
    its own index for every read. The latency is kept as an exact integer sum (latencies
    are whole milliseconds); avg_ms is worked out from it."""

    __tablename__ = "monitor_rollup"
    __table_args__ = (
        PrimaryKeyConstraint("monitor_id", "period", "bucket_start"),
        # Buckets still waiting for their p95 (rollups.finalize_p95): a few per monitor at any
        # time, so the finalizer finds them without scanning millions of finished buckets.
        # Queries must repeat the predicate word for word for SQLite to use the index
        # (https://www.sqlite.org/partialindex.html#queries_using_partial_indexes).
        Index(
            "ix_monitor_rollup_p95_pending",
            "period",
            "bucket_start",
            sqlite_where=text(P95_PENDING),
            postgresql_where=text(P95_PENDING),
        ),
        {"sqlite_with_rowid": False},
    )

    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitor.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(Coded(PERIODS))  # minute | hour | day
    bucket_start: Mapped[datetime] = mapped_column(EpochSeconds)
    up: Mapped[int] = mapped_column(default=0)
    down: Mapped[int] = mapped_column(default=0)
    degraded: Mapped[int] = mapped_column(default=0)
    maintenance: Mapped[int] = mapped_column(default=0)
    unknown: Mapped[int] = mapped_column(default=0)
    # Checks that carried a latency, and the sum of their latencies.
    measured: Mapped[int] = mapped_column(default=0)
    sum_ms: Mapped[int] = mapped_column(default=0)
    min_ms: Mapped[int | None] = mapped_column(default=None)
    max_ms: Mapped[int | None] = mapped_column(default=None)
    p95_ms: Mapped[int | None] = mapped_column(default=None)

    def __init__(self, *, avg_ms: float | None = None, **columns: Any) -> None:
        """Takes avg_ms in place of sum_ms, as a bucket is described (with measured)."""
        super().__init__(**columns)
        if avg_ms is not None:
            self.sum_ms = round(avg_ms * columns.get("measured", 0))

    @property
    def avg_ms(self) -> float | None:
        return self.sum_ms / self.measured if self.measured else None


class MaintenanceWindow(Base):
    """One-off (starts_at..ends_at) or recurring (RRULE from starts_at, for duration_minutes)."""

    __tablename__ = "maintenance_window"
    __table_args__ = (Index("ix_maintenance_window_monitor_id", "monitor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitor.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None] = mapped_column(default=None)
    recurrence: Mapped[str | None] = mapped_column(String(500), default=None)
    duration_minutes: Mapped[int | None] = mapped_column(default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
