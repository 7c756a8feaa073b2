"""Compact raw results and rollups: clustered on (monitor, time), integer times and codes.

check_result and monitor_rollup become WITHOUT ROWID tables keyed by (monitor_id,
checked_at, id) and (monitor_id, period, bucket_start), so neither needs a second index;
times are integers from the Unix epoch (microseconds for results, seconds for buckets),
status and period are small codes, and a rollup keeps the exact sum of its latencies in
place of their average. Result ids are kept, and check_result_sequence goes on from the
largest. Values read back the same (server/monitors/columns.py).

Revision ID: 0010
Revises: 0009
"""

# The statements here are put together from this file's constants only.
# ruff: noqa: S608

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

P95_PENDING = "p95_ms IS NULL AND measured > 0"
STATUSES = ("up", "down", "degraded", "maintenance", "unknown")
PERIODS = ("minute", "hour", "day")


def _code(column: str, words: tuple[str, ...]) -> str:
    whens = " ".join(f"WHEN '{word}' THEN {code}" for code, word in enumerate(words))
    return f"CASE {column} {whens} END"


def _word(column: str, words: tuple[str, ...]) -> str:
    whens = " ".join(f"WHEN {code} THEN '{word}'" for code, word in enumerate(words))
    return f"CASE {column} {whens} END"


def _epoch(column: str, *, micro: bool) -> str:
    """SQL for a stored naive UTC datetime as seconds or microseconds since the epoch."""
    if op.get_bind().dialect.name == "postgresql":
        scale = "* 1000000" if micro else ""
        return f"CAST(round(extract(epoch FROM {column}) {scale}) AS BIGINT)"
    # SQLAlchemy writes 'YYYY-MM-DD HH:MM:SS.ffffff'. The whole seconds are read without
    # the fraction, which strftime would round to the millisecond first (so .9996 would
    # become the next second); the microseconds start at 21.
    seconds = f"CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER)"
    if not micro:
        return seconds
    return f"({seconds} * 1000000 + CAST(substr({column}, 21, 6) AS INTEGER))"


def _of_monitor(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["monitor_id"], ["monitor.id"], name=f"fk_{table}_monitor_id_monitor", ondelete="CASCADE"
    )


def _results_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("response_time_ms", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        _of_monitor("check_result"),
        sa.PrimaryKeyConstraint("monitor_id", "checked_at", "id", name="pk_check_result"),
        sqlite_with_rowid=False,
    )


def _rollups_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.SmallInteger(), nullable=False),
        sa.Column("bucket_start", sa.Integer(), nullable=False),
        sa.Column("up", sa.Integer(), nullable=False),
        sa.Column("down", sa.Integer(), nullable=False),
        sa.Column("degraded", sa.Integer(), nullable=False),
        sa.Column("maintenance", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.Column("measured", sa.Integer(), nullable=False),
        sa.Column("sum_ms", sa.Integer(), nullable=False),
        sa.Column("min_ms", sa.Integer(), nullable=True),
        sa.Column("max_ms", sa.Integer(), nullable=True),
        sa.Column("p95_ms", sa.Integer(), nullable=True),
        _of_monitor("monitor_rollup"),
        sa.PrimaryKeyConstraint("monitor_id", "period", "bucket_start", name="pk_monitor_rollup"),
        sqlite_with_rowid=False,
    )


def _pending_index() -> None:
    op.create_index(
        "ix_monitor_rollup_p95_pending",
        "monitor_rollup",
        ["period", "bucket_start"],
        unique=False,
        sqlite_where=sa.text(P95_PENDING),
        postgresql_where=sa.text(P95_PENDING),
    )


def upgrade() -> None:
    op.create_table(
        "check_result_sequence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_check_result_sequence"),
    )
    op.execute(
        "INSERT INTO check_result_sequence (id, last_id)"
        " SELECT 1, coalesce(max(id), 0) FROM check_result"
    )
    # PostgreSQL names a primary key's index in the schema, not in its table: the old
    # tables give theirs up before the new tables take them.
    if op.get_bind().dialect.name == "postgresql":
        for table in ("check_result", "monitor_rollup"):
            op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT pk_{table} TO pk_{table}_old")
    # Copied in key order, so the new tables' pages are filled one after another.
    _results_table("check_result_new")
    op.execute(
        "INSERT INTO check_result_new"
        " (monitor_id, checked_at, id, status, response_time_ms, status_code, error)"
        f" SELECT monitor_id, {_epoch('checked_at', micro=True)}, id,"
        f" {_code('status', STATUSES)}, response_time_ms, status_code, error"
        " FROM check_result ORDER BY monitor_id, checked_at, id"
    )
    op.drop_index("ix_check_result_monitor_checked", table_name="check_result")
    op.drop_table("check_result")
    op.rename_table("check_result_new", "check_result")

    _rollups_table("monitor_rollup_new")
    op.execute(
        "INSERT INTO monitor_rollup_new (monitor_id, period, bucket_start, up, down, degraded,"
        " maintenance, unknown, measured, sum_ms, min_ms, max_ms, p95_ms)"
        f" SELECT monitor_id, {_code('period', PERIODS)}, {_epoch('bucket_start', micro=False)},"
        " up, down, degraded, maintenance, unknown, measured,"
        # The average was weighed by measured, so this is the exact sum of whole milliseconds.
        " CAST(round(coalesce(avg_ms, 0) * measured) AS INTEGER), min_ms, max_ms, p95_ms"
        " FROM monitor_rollup ORDER BY monitor_id, 2, 3"
    )
    op.drop_index("ix_monitor_rollup_p95_pending", table_name="monitor_rollup")
    op.drop_table("monitor_rollup")
    op.rename_table("monitor_rollup_new", "monitor_rollup")
    _pending_index()


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        raise NotImplementedError("0010 is downgraded on SQLite only")
    op.create_table(
        "check_result_old",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("response_time_ms", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        _of_monitor("check_result"),
        sa.PrimaryKeyConstraint("id", name="pk_check_result"),
    )
    op.execute(
        "INSERT INTO check_result_old"
        " (id, monitor_id, checked_at, status, response_time_ms, status_code, error)"
        " SELECT id, monitor_id, strftime('%Y-%m-%d %H:%M:%S', checked_at / 1000000, 'unixepoch')"
        " || printf('.%06d', checked_at % 1000000),"
        f" {_word('status', STATUSES)}, response_time_ms, status_code, error FROM check_result"
    )
    op.drop_table("check_result")
    op.rename_table("check_result_old", "check_result")
    op.create_index("ix_check_result_monitor_checked", "check_result", ["monitor_id", "checked_at"])
    op.drop_table("check_result_sequence")

    op.drop_index("ix_monitor_rollup_p95_pending", table_name="monitor_rollup")
    op.create_table(
        "monitor_rollup_old",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("bucket_start", sa.DateTime(), nullable=False),
        *(sa.Column(status, sa.Integer(), nullable=False) for status in STATUSES),
        sa.Column("min_ms", sa.Integer(), nullable=True),
        sa.Column("avg_ms", sa.Double(), nullable=True),
        sa.Column("max_ms", sa.Integer(), nullable=True),
        sa.Column("p95_ms", sa.Integer(), nullable=True),
        sa.Column("measured", sa.Integer(), server_default="0", nullable=False),
        _of_monitor("monitor_rollup"),
        sa.PrimaryKeyConstraint("id", name="pk_monitor_rollup"),
        sa.UniqueConstraint(
            "monitor_id", "period", "bucket_start", name="uq_monitor_rollup_bucket"
        ),
    )
    op.execute(
        "INSERT INTO monitor_rollup_old (monitor_id, period, bucket_start, up, down, degraded,"
        " maintenance, unknown, min_ms, avg_ms, max_ms, p95_ms, measured)"
        f" SELECT monitor_id, {_word('period', PERIODS)},"
        " strftime('%Y-%m-%d %H:%M:%S.000000', bucket_start, 'unixepoch'),"
        " up, down, degraded, maintenance, unknown, min_ms,"
        " CASE WHEN measured > 0 THEN CAST(sum_ms AS REAL) / measured END, max_ms, p95_ms,"
        " measured FROM monitor_rollup"
    )
    op.drop_table("monitor_rollup")
    op.rename_table("monitor_rollup_old", "monitor_rollup")
    _pending_index()
