"""Check claims: until when a worker holds a monitor's due check, so that several workers
can share the monitors and none runs a check another has taken.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In place (ALTER TABLE on both databases): a rebuilt monitor table would cascade to
    # its results on SQLite.
    op.add_column("monitor", sa.Column("check_claimed_until_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE monitor DROP COLUMN check_claimed_until_ms")  # SQLite 3.35+
