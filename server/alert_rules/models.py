"""Alert rules: the severity and channels of the incidents a trigger opens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow


class AlertRule(Base):
    __tablename__ = "alert_rule"
    __table_args__ = (UniqueConstraint("org_id", "name"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    trigger_type: Mapped[str] = mapped_column(String(30))
    metric: Mapped[str | None] = mapped_column(String(64), default=None)
    condition: Mapped[str | None] = mapped_column(String(10), default=None)
    threshold: Mapped[float | None] = mapped_column(default=None)
    breach_count: Mapped[int] = mapped_column(default=2)
    recovery_count: Mapped[int] = mapped_column(default=2)
    severity: Mapped[str] = mapped_column(String(10), default="critical")
    cooldown_minutes: Mapped[int] = mapped_column(default=0)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    channel_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
