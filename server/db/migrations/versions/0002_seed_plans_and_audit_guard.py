"""Seed the plans; make the audit log append-only.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_GUARDED = ("UPDATE", "DELETE")

# The plans as first offered; later changes are data edits, not changes to this history.
PLANS: list[dict[str, Any]] = [
    {
        "code": "free",
        "name": "Free",
        "price_month_cents": 0,
        "price_year_cents": 0,
        "limits": {
            "users": 3,
            "monitors": 10,
            "cloud_accounts": 1,
            "agents": 3,
            "status_pages": 1,
            "min_check_interval_seconds": 300,
            "history_days": 30,
        },
        "modules": [],
    },
    {
        "code": "pro",
        "name": "Pro",
        "price_month_cents": 4900,
        "price_year_cents": 49000,
        "limits": {
            "users": 10,
            "monitors": 100,
            "cloud_accounts": 10,
            "agents": 50,
            "status_pages": 10,
            "min_check_interval_seconds": 60,
            "history_days": 365,
        },
        "modules": ["status_pages", "audit_logs"],
    },
    {
        "code": "enterprise",
        "name": "Enterprise",
        "price_month_cents": 29900,
        "price_year_cents": 299000,
        "limits": {
            "users": None,
            "monitors": None,
            "cloud_accounts": None,
            "agents": None,
            "status_pages": None,
            "min_check_interval_seconds": 10,
            "history_days": None,
        },
        "modules": ["status_pages", "audit_logs", "whitelabel"],
    },
]


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
    op.bulk_insert(plan, [{**row, "currency": "USD"} for row in PLANS])
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
