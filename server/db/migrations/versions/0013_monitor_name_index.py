"""Monitors indexed by organization and name: the list's default order reads its page from
the index instead of sorting every monitor of the organization on each request. The index
on the organization alone is its prefix, so it goes.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_monitor_org_name", "monitor", ["org_id", "name"])
    op.drop_index("ix_monitor_org_id", table_name="monitor")


def downgrade() -> None:
    op.create_index("ix_monitor_org_id", "monitor", ["org_id"])
    op.drop_index("ix_monitor_org_name", table_name="monitor")
