"""Infra agents and metrics: agents, their latest containers, raw samples and rollups of
host and labeled series; metric alert rules' per-agent overrides and live state.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_hint", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=True),
        sa.Column("offline_after", sa.DateTime(), nullable=True),
        sa.Column("hostname", sa.String(length=253), nullable=True),
        sa.Column("os", sa.String(length=200), nullable=True),
        sa.Column("agent_version", sa.String(length=50), nullable=True),
        sa.Column("interval_seconds", sa.Integer(), nullable=True),
        sa.Column("facts", sa.JSON(), nullable=True),
        sa.Column("latest", sa.JSON(), nullable=True),
        sa.Column("latest_at", sa.DateTime(), nullable=True),
        sa.Column("cpu_pct", sa.Double(), nullable=True),
        sa.Column("mem_pct", sa.Double(), nullable=True),
        sa.Column("disk_pct", sa.Double(), nullable=True),
        sa.Column("rollup_5m_from", sa.Integer(), nullable=True),
        sa.Column("rollup_1h_from", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_agent_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_agent_org_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_agent_token_hash")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.create_index(
            "ix_agent_status_offline_after", ["status", "offline_after"], unique=False
        )

    op.create_table(
        "agent_container",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("image", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=50), nullable=False),
        sa.Column("cpu_pct", sa.Double(), nullable=False),
        sa.Column("mem_bytes", sa.BigInteger(), nullable=False),
        sa.Column("mem_limit", sa.BigInteger(), nullable=True),
        sa.Column("mem_pct", sa.Double(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_agent_container_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "name", name=op.f("pk_agent_container")),
    )
    op.create_table(
        "agent_rollup",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("resolution", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("cpu_min", sa.BigInteger(), nullable=True),
        sa.Column("cpu_avg", sa.BigInteger(), nullable=True),
        sa.Column("cpu_max", sa.BigInteger(), nullable=True),
        sa.Column("mem_min", sa.BigInteger(), nullable=True),
        sa.Column("mem_avg", sa.BigInteger(), nullable=True),
        sa.Column("mem_max", sa.BigInteger(), nullable=True),
        sa.Column("disk_min", sa.BigInteger(), nullable=True),
        sa.Column("disk_avg", sa.BigInteger(), nullable=True),
        sa.Column("disk_max", sa.BigInteger(), nullable=True),
        sa.Column("load1_min", sa.BigInteger(), nullable=True),
        sa.Column("load1_avg", sa.BigInteger(), nullable=True),
        sa.Column("load1_max", sa.BigInteger(), nullable=True),
        sa.Column("rx_min", sa.BigInteger(), nullable=True),
        sa.Column("rx_avg", sa.BigInteger(), nullable=True),
        sa.Column("rx_max", sa.BigInteger(), nullable=True),
        sa.Column("tx_min", sa.BigInteger(), nullable=True),
        sa.Column("tx_avg", sa.BigInteger(), nullable=True),
        sa.Column("tx_max", sa.BigInteger(), nullable=True),
        sa.Column("nerr_min", sa.BigInteger(), nullable=True),
        sa.Column("nerr_avg", sa.BigInteger(), nullable=True),
        sa.Column("nerr_max", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_agent_rollup_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "resolution", "bucket", name=op.f("pk_agent_rollup")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "agent_sample",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.Integer(), nullable=False),
        sa.Column("cpu", sa.BigInteger(), nullable=True),
        sa.Column("mem", sa.BigInteger(), nullable=True),
        sa.Column("disk", sa.BigInteger(), nullable=True),
        sa.Column("load1", sa.BigInteger(), nullable=True),
        sa.Column("rx", sa.BigInteger(), nullable=True),
        sa.Column("tx", sa.BigInteger(), nullable=True),
        sa.Column("nerr", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_agent_sample_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "ts", name=op.f("pk_agent_sample")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "alert_override",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Double(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_alert_override_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rule.id"],
            name=op.f("fk_alert_override_rule_id_alert_rule"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rule_id", "agent_id", name=op.f("pk_alert_override")),
    )
    op.create_table(
        "alert_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("breaches", sa.Integer(), nullable=False),
        sa.Column("recoveries", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=True),
        sa.Column("peak", sa.Double(), nullable=True),
        sa.Column("quiet_until", sa.DateTime(), nullable=True),
        sa.Column("last_ts", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_alert_state_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rule.id"],
            name=op.f("fk_alert_state_rule_id_alert_rule"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_state")),
        sa.UniqueConstraint("rule_id", "agent_id", "target", name=op.f("uq_alert_state_rule_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("alert_state", schema=None) as batch_op:
        batch_op.create_index("ix_alert_state_agent", ["agent_id"], unique=False)

    op.create_table(
        "series_rollup",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("resolution", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("min", sa.BigInteger(), nullable=False),
        sa.Column("avg", sa.BigInteger(), nullable=False),
        sa.Column("max", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_series_rollup_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "agent_id", "metric", "resolution", "bucket", "label", name=op.f("pk_series_rollup")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "series_sample",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_series_sample_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "metric", "ts", "label", name=op.f("pk_series_sample")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("series_sample")
    op.drop_table("series_rollup")
    with op.batch_alter_table("alert_state", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_state_agent")

    op.drop_table("alert_state")
    op.drop_table("alert_override")
    op.drop_table("agent_sample")
    op.drop_table("agent_rollup")
    op.drop_table("agent_container")
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_status_offline_after")

    op.drop_table("agent")
