"""Status pages: the global and client pages, their monitors, announcements and their
updates, subscribers; a delivery may go to a subscriber.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_page",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("company_name", sa.String(length=200), nullable=True),
        sa.Column("logo_url", sa.String(length=2000), nullable=True),
        sa.Column("history_days", sa.Integer(), nullable=False),
        sa.Column("show_response_times", sa.Boolean(), nullable=False),
        sa.Column("show_uptime", sa.Boolean(), nullable=False),
        sa.Column("require_token", sa.Boolean(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("token_hint", sa.String(length=12), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_status_page_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_page")),
        sa.UniqueConstraint("org_id", "slug", name=op.f("uq_status_page_org_id")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "status_announcement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=15), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_status_announcement_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["status_page.id"],
            name=op.f("fk_status_announcement_page_id_status_page"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_announcement")),
    )
    with op.batch_alter_table("status_announcement", schema=None) as batch_op:
        batch_op.create_index(
            "ix_status_announcement_page", ["page_id", "created_at"], unique=False
        )

    op.create_table(
        "status_page_monitor",
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["monitor.id"],
            name=op.f("fk_status_page_monitor_monitor_id_monitor"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["status_page.id"],
            name=op.f("fk_status_page_monitor_page_id_status_page"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("page_id", "monitor_id", name=op.f("pk_status_page_monitor")),
    )
    with op.batch_alter_table("status_page_monitor", schema=None) as batch_op:
        batch_op.create_index("ix_status_page_monitor_monitor", ["monitor_id"], unique=False)

    op.create_table(
        "status_subscriber",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_status_subscriber_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["status_page.id"],
            name=op.f("fk_status_subscriber_page_id_status_page"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_subscriber")),
        sa.UniqueConstraint("page_id", "email", name=op.f("uq_status_subscriber_page_id")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "status_announcement_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=15), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["status_announcement.id"],
            name=op.f("fk_status_announcement_step_announcement_id_status_announcement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_announcement_step")),
    )
    with op.batch_alter_table("status_announcement_step", schema=None) as batch_op:
        batch_op.create_index(
            "ix_status_announcement_step", ["announcement_id", "id"], unique=False
        )

    # SQLite copies the table to add a reference; the copy keeps AUTOINCREMENT (ids of
    # deleted deliveries are never reused) only when asked.
    with op.batch_alter_table(
        "notification_delivery", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.add_column(sa.Column("subscriber_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_notification_delivery_subscriber_id_status_subscriber"),
            "status_subscriber", ["subscriber_id"], ["id"], ondelete="CASCADE",
        )  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table(
        "notification_delivery", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_notification_delivery_subscriber_id_status_subscriber"),
            type_="foreignkey",
        )
        batch_op.drop_column("subscriber_id")

    with op.batch_alter_table("status_announcement_step", schema=None) as batch_op:
        batch_op.drop_index("ix_status_announcement_step")

    op.drop_table("status_announcement_step")
    op.drop_table("status_subscriber")
    with op.batch_alter_table("status_page_monitor", schema=None) as batch_op:
        batch_op.drop_index("ix_status_page_monitor_monitor")

    op.drop_table("status_page_monitor")
    with op.batch_alter_table("status_announcement", schema=None) as batch_op:
        batch_op.drop_index("ix_status_announcement_page")

    op.drop_table("status_announcement")
    op.drop_table("status_page")
