"""Seed the plans; make the audit log append-only.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.billing.plans import DEFAULT_PLANS

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_GUARDED = ("UPDATE", "DELETE")


def upgrade() -> None:
    plan = sa.table(
        "plan",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("price_month_cents", sa.Integer),
        sa.column("price_year_cents", sa.Integer),
        sa.column("currency", sa.String),
        sa.column("limits", sa.JSON),
        sa.column("modules", sa.JSON),
    )
    rows = [
        {
            **{key: value for key, value in row.items() if key not in ("limits", "modules")},
            "currency": "USD",
            "limits": {str(k): v for k, v in row["limits"].items()},
            "modules": [str(m) for m in row["modules"]],
        }
        for row in DEFAULT_PLANS
    ]
    op.bulk_insert(plan, rows)
    dialect = op.get_bind().dialect.name
    for event in _GUARDED:
        if dialect == "sqlite":
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit log entries are append-only'); END"
            )
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'audit log entries are append-only'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for event in _GUARDED:
            op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{event.lower()}")
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.execute("DELETE FROM plan")
