"""Background jobs (discovery, cost sync): queued by a request, claimed by an engine.

A job is a row before it is work: a 202 means the row is committed, so a restart loses
nothing; an engine claims it with a compare-and-set on `status` and `claimed_until`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow

ACTIVE_WHERE = "status IN ('queued', 'running')"


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_org_created", "org_id", "id"),
        Index("ix_job_kind_status", "kind", "status"),
        # One queued or running job per kind and account, or per kind for the organization
        # (a unique index sees NULL account ids as all different); jobs.enqueue relies on it.
        Index(
            "ux_job_active_per_account",
            "org_id",
            "kind",
            "account_id",
            unique=True,
            sqlite_where=text(ACTIVE_WHERE),
            postgresql_where=text(ACTIVE_WHERE),
        ),
        Index(
            "ux_job_active_per_org",
            "org_id",
            "kind",
            unique=True,
            sqlite_where=text(f"{ACTIVE_WHERE} AND account_id IS NULL"),
            postgresql_where=text(f"{ACTIVE_WHERE} AND account_id IS NULL"),
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))  # discovery, cost_sync
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("cloud_account.id", ondelete="CASCADE"), default=None
    )
    status: Mapped[str] = mapped_column(
        String(15), default="queued"
    )  # queued, running, succeeded, failed
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    detail: Mapped[str | None] = mapped_column(String(2000), default=None)
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    attempts: Mapped[int] = mapped_column(default=0)
    # A running job whose claim lapsed (its process died) is claimed again.
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
