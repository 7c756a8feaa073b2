"""Budgets: a limit per period, optionally narrowed to one account or one service."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow


class Budget(Base):
    __tablename__ = "budget"
    __table_args__ = (UniqueConstraint("org_id", "name"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    amount_micros: Mapped[int] = mapped_column(BigInteger)  # see server/costs/models.py
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    period: Mapped[str] = mapped_column(String(10))  # monthly, quarterly, yearly
    alert_threshold_pct: Mapped[int] = mapped_column(default=80)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("cloud_account.id", ondelete="CASCADE"), default=None
    )
    service: Mapped[str | None] = mapped_column(String(200), default=None)
    # The state at the last evaluation (ok, warning, exceeded): incidents open on a change.
    state: Mapped[str] = mapped_column(String(10), default="ok")
    evaluated_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
