"""Seed the Self-hosted plan: every module and no limits, for an install run by its owner.

A local install (`upmetr up`, `upmetr serve`) is the whole product; its organizations get
this plan by default (Settings.default_plan). It is not for sale, so GET /billing/plans
leaves it out.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Written out as it was when this migration was made (not imported): later changes to the
# limits or modules are data edits, not changes to this history.
SELF_HOSTED: dict[str, Any] = {
    "code": "self_hosted",
    "name": "Self-hosted",
    "price_month_cents": 0,
    "price_year_cents": 0,
    "currency": "USD",
    "limits": {
        "users": None,
        "monitors": None,
        "cloud_accounts": None,
        "agents": None,
        "status_pages": None,
        "min_check_interval_seconds": None,
        "history_days": None,
    },
    "modules": ["status_pages", "audit_logs", "whitelabel"],
}


def _plan_table() -> sa.TableClause:
    return sa.table(
        "plan",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("price_month_cents", sa.Integer),
        sa.column("price_year_cents", sa.Integer),
        sa.column("currency", sa.String),
        sa.column("limits", sa.JSON),
        sa.column("modules", sa.JSON),
    )


def upgrade() -> None:
    op.bulk_insert(_plan_table(), [SELF_HOSTED])


def downgrade() -> None:
    plan = _plan_table()
    # Organizations on it move to Enterprise, the nearest plan, so none points at a lost row.
    op.execute(
        "UPDATE organization SET plan_id = (SELECT id FROM plan WHERE code = 'enterprise') "
        "WHERE plan_id = (SELECT id FROM plan WHERE code = 'self_hosted')"
    )
    op.execute(plan.delete().where(plan.c.code == "self_hosted"))
