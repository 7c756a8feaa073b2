"""The live event log as an outbox for Redis: when each event was relayed to the stream,
and an index of those still to relay.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Events already written were for this process's streams alone: nothing to relay.
    op.add_column("live_event", sa.Column("relayed_at_ms", sa.BigInteger(), nullable=True))
    op.execute("UPDATE live_event SET relayed_at_ms = 0")
    op.create_index(
        "ix_live_event_to_relay",
        "live_event",
        ["id"],
        unique=False,
        sqlite_where=sa.text("relayed_at_ms IS NULL"),
        postgresql_where=sa.text("relayed_at_ms IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_live_event_to_relay", table_name="live_event")
    op.execute("ALTER TABLE live_event DROP COLUMN relayed_at_ms")  # SQLite 3.35+
