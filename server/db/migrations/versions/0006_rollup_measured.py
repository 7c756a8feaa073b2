"""Rollups count their measured checks (exact running averages) and index pending p95s.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

P95_PENDING = "p95_ms IS NULL AND measured > 0"


def upgrade() -> None:
    with op.batch_alter_table("monitor_rollup") as batch_op:
        batch_op.add_column(sa.Column("measured", sa.Integer(), server_default="0", nullable=False))
    # Buckets written before this column had their average weighed by their counted checks
    # (as uptime.total did then), so that is their best measured count.
    op.execute("UPDATE monitor_rollup SET measured = up + degraded + down WHERE avg_ms IS NOT NULL")
    op.create_index(
        "ix_monitor_rollup_p95_pending",
        "monitor_rollup",
        ["period", "bucket_start"],
        unique=False,
        sqlite_where=sa.text(P95_PENDING),
        postgresql_where=sa.text(P95_PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_monitor_rollup_p95_pending", table_name="monitor_rollup")
    with op.batch_alter_table("monitor_rollup") as batch_op:
        batch_op.drop_column("measured")
