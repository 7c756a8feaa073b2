"""Uptime monitors, raw check results, rollups and maintenance windows.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("host", sa.String(length=253), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("expected_status", sa.Integer(), nullable=False),
        sa.Column("follow_redirects", sa.Boolean(), nullable=False),
        sa.Column("keyword", sa.String(length=1000), nullable=True),
        sa.Column("keyword_present", sa.Boolean(), nullable=False),
        sa.Column("json_path", sa.String(length=500), nullable=True),
        sa.Column("expected_value", sa.String(length=1000), nullable=True),
        sa.Column("dns_record_type", sa.String(length=10), nullable=True),
        sa.Column("dns_expected", sa.String(length=1000), nullable=True),
        sa.Column("dns_resolver", sa.String(length=253), nullable=True),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("failure_threshold", sa.Integer(), nullable=False),
        sa.Column("recovery_threshold", sa.Integer(), nullable=False),
        sa.Column("degraded_threshold_ms", sa.Integer(), nullable=True),
        sa.Column("ssl_expiry_days", sa.Integer(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("heartbeat_token", sa.String(length=64), nullable=True),
        sa.Column("heartbeat_grace_seconds", sa.Integer(), nullable=False),
        sa.Column("last_ping_at", sa.DateTime(), nullable=True),
        sa.Column("last_ping_failed", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("consecutive_successes", sa.Integer(), nullable=False),
        sa.Column("last_checked_at", sa.DateTime(), nullable=True),
        sa.Column("last_response_ms", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("ssl_expires_at", sa.DateTime(), nullable=True),
        sa.Column("next_check_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_monitor_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor")),
        sa.UniqueConstraint("heartbeat_token", name=op.f("uq_monitor_heartbeat_token")),
    )
    op.create_index("ix_monitor_next_check_at", "monitor", ["next_check_at"], unique=False)
    op.create_index("ix_monitor_org_id", "monitor", ["org_id"], unique=False)
    op.create_table(
        "check_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("response_time_ms", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["monitor.id"],
            name=op.f("fk_check_result_monitor_id_monitor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_result")),
    )
    op.create_index(
        "ix_check_result_monitor_checked",
        "check_result",
        ["monitor_id", "checked_at"],
        unique=False,
    )
    op.create_table(
        "maintenance_window",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=True),
        sa.Column("recurrence", sa.String(length=500), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_maintenance_window_created_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["monitor.id"],
            name=op.f("fk_maintenance_window_monitor_id_monitor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_window")),
    )
    op.create_index(
        "ix_maintenance_window_monitor_id", "maintenance_window", ["monitor_id"], unique=False
    )
    op.create_table(
        "monitor_rollup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("bucket_start", sa.DateTime(), nullable=False),
        sa.Column("up", sa.Integer(), nullable=False),
        sa.Column("down", sa.Integer(), nullable=False),
        sa.Column("degraded", sa.Integer(), nullable=False),
        sa.Column("maintenance", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.Column("min_ms", sa.Integer(), nullable=True),
        sa.Column("avg_ms", sa.Double(), nullable=True),
        sa.Column("max_ms", sa.Integer(), nullable=True),
        sa.Column("p95_ms", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["monitor.id"],
            name=op.f("fk_monitor_rollup_monitor_id_monitor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_rollup")),
        sa.UniqueConstraint(
            "monitor_id", "period", "bucket_start", name="uq_monitor_rollup_bucket"
        ),
    )


def downgrade() -> None:
    op.drop_table("monitor_rollup")
    op.drop_index("ix_maintenance_window_monitor_id", table_name="maintenance_window")
    op.drop_table("maintenance_window")
    op.drop_index("ix_check_result_monitor_checked", table_name="check_result")
    op.drop_table("check_result")
    op.drop_index("ix_monitor_org_id", table_name="monitor")
    op.drop_index("ix_monitor_next_check_at", table_name="monitor")
    op.drop_table("monitor")
