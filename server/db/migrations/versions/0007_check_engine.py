"""Check engine state: consecutive degraded checks, and an index to find changed monitors.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("monitor") as batch:
        batch.add_column(
            sa.Column("degraded_streak", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_index("ix_monitor_updated_at", "monitor", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_monitor_updated_at", table_name="monitor")
    with op.batch_alter_table("monitor") as batch:
        batch.drop_column("degraded_streak")
