"""The fleet summary reads an index of the agents' figures rather than their rows.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

COLUMNS = ["org_id", "status", "cpu_pct", "mem_pct", "disk_pct", "name"]


def upgrade() -> None:
    op.create_index("ix_agent_org_figures", "agent", COLUMNS, unique=False)


def downgrade() -> None:
    op.drop_index("ix_agent_org_figures", table_name="agent")
