"""One-time tokens carry the new address of a sign-in email change until it is confirmed.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("one_time_token") as table:
        table.add_column(sa.Column("new_email", sa.String(254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("one_time_token") as table:
        table.drop_column("new_email")
