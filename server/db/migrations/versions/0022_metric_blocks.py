"""Sealed periods of agent metrics, packed one row per agent, series and period. The rows
already stored move in as the worker's sealing walk reaches them (server/metrics/blocks.py).

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_block",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("resolution", sa.SmallInteger(), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_metric_block_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_block")),
        sa.UniqueConstraint(
            "agent_id",
            "resolution",
            "metric",
            "label",
            "start",
            name=op.f("uq_metric_block_agent_id"),
        ),
    )


def downgrade() -> None:
    # Blocks go back to rows first, so a downgrade keeps every stored sample.
    from server.metrics.blocks import unseal_all

    unseal_all(op.get_bind())
    op.drop_table("metric_block")
