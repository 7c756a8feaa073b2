"""Daily cost rows per account and service, and the record of each sync with the provider.

Amounts are integer millionths of the currency unit: sums stay exact and fast in SQLite,
which has no decimal type, and Cost Explorer's figures need no more precision than that.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow

MICROS = 1_000_000


class CostDaily(Base):
    __tablename__ = "cost_daily"
    __table_args__ = (
        # A sync re-reads recent months and overwrites: one row per day, service and payer.
        UniqueConstraint("account_id", "day", "service", "linked_account"),
        Index("ix_cost_daily_org_day", "org_id", "day"),
        Index("ix_cost_daily_org_service_day", "org_id", "service", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("cloud_account.id", ondelete="CASCADE"))
    day: Mapped[date]
    service: Mapped[str] = mapped_column(String(200))
    # The member account inside an AWS organization ("" when the account is not a payer).
    linked_account: Mapped[str] = mapped_column(String(32), default="")
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    estimated: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CostSync(Base):
    """One sync of one account: what was read, how many provider calls it took."""

    __tablename__ = "cost_sync"
    __table_args__ = (Index("ix_cost_sync_account", "account_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("cloud_account.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("job.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[str] = mapped_column(String(15), default="running")  # running, succeeded, failed
    start_day: Mapped[date]
    end_day: Mapped[date]
    rows: Mapped[int] = mapped_column(default=0)
    api_calls: Mapped[int] = mapped_column(default=0)
    detail: Mapped[str | None] = mapped_column(String(2000), default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
