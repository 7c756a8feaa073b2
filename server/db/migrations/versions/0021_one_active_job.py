"""At most one queued or running job of a kind per organization and account, kept by the
database: two processes asking at once (two API processes, or a worker's schedule beside
a request) get the same job rather than two.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

ACTIVE_SQL = "status IN ('queued', 'running')"
ACTIVE = sa.text(ACTIVE_SQL)


def upgrade() -> None:
    # A race before this index may have left two; the newer ones end as failed, saying why.
    op.execute(
        """
        UPDATE job SET status = 'failed', detail = 'a duplicate of an earlier job'
        WHERE status IN ('queued', 'running') AND EXISTS (
            SELECT 1 FROM job AS earlier
            WHERE earlier.org_id = job.org_id AND earlier.kind = job.kind
              AND COALESCE(earlier.account_id, 0) = COALESCE(job.account_id, 0)
              AND earlier.status IN ('queued', 'running') AND earlier.id < job.id
        )
        """
    )
    op.create_index(
        "ux_job_active_per_account",
        "job",
        ["org_id", "kind", "account_id"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    # A unique index sees NULL account ids as all different: the organization's own jobs.
    op.create_index(
        "ux_job_active_per_org",
        "job",
        ["org_id", "kind"],
        unique=True,
        sqlite_where=sa.text(f"{ACTIVE_SQL} AND account_id IS NULL"),
        postgresql_where=sa.text(f"{ACTIVE_SQL} AND account_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ux_job_active_per_org", table_name="job")
    op.drop_index("ux_job_active_per_account", table_name="job")
