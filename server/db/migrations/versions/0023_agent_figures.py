"""The fleet summary reads an index of the agents' figures rather than their rows; an
agent counts the containers it reported last (a post of a host without any clears none).

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

COLUMNS = ["org_id", "status", "cpu_pct", "mem_pct", "disk_pct", "name"]


def upgrade() -> None:
    op.create_index("ix_agent_org_figures", "agent", COLUMNS, unique=False)
    # In place (ALTER TABLE on both databases); agents that have containers say so.
    op.add_column(
        "agent", sa.Column("containers", sa.Integer(), server_default="0", nullable=False)
    )
    op.execute(
        "UPDATE agent SET containers = (SELECT count(*) FROM agent_container"
        " WHERE agent_container.agent_id = agent.id)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE agent DROP COLUMN containers")  # SQLite 3.35 and later
    op.drop_index("ix_agent_org_figures", table_name="agent")
