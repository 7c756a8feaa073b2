"""SSH keys: the public keys that open the console over SSH, one account each; and a
session's origin, the session it was switched from, so ending a session ends those it led to.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ssh_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_ssh_key_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ssh_key")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_ssh_key_fingerprint")),
    )
    op.create_index(op.f("ix_ssh_key_user_id"), "ssh_key", ["user_id"], unique=False)
    # In place (ALTER TABLE on both databases): a rebuilt auth_session would cascade to
    # every refresh token on SQLite.
    op.add_column("auth_session", sa.Column("origin_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_auth_session_origin_id"), "auth_session", ["origin_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_auth_session_origin_id"), table_name="auth_session")
    op.execute("ALTER TABLE auth_session DROP COLUMN origin_id")  # SQLite 3.35 and later
    op.drop_index(op.f("ix_ssh_key_user_id"), table_name="ssh_key")
    op.drop_table("ssh_key")
