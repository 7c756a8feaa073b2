"""Alert rules: the severity and channels of the incidents a trigger opens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
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


class AlertOverride(Base):
    """One agent's exception to a metric rule: its own threshold, or the rule off for it."""

    __tablename__ = "alert_override"

    rule_id: Mapped[int] = mapped_column(
        ForeignKey("alert_rule.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agent.id", ondelete="CASCADE"), primary_key=True
    )
    threshold: Mapped[float | None] = mapped_column(default=None)
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AlertState(Base):
    """Where a metric rule's live evaluation stands for one target of one agent (the host, a
    mount, a container): the counts of `server/alert_rules/evaluator.py`'s state. Its id is
    the target of the incidents it opens (one unresolved at most, by the incidents' index)."""

    __tablename__ = "alert_state"
    __table_args__ = (
        UniqueConstraint("rule_id", "agent_id", "target"),
        Index("ix_alert_state_agent", "agent_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rule.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(255))
    breaches: Mapped[int] = mapped_column(default=0)
    recoveries: Mapped[int] = mapped_column(default=0)
    opened_at: Mapped[datetime | None] = mapped_column(default=None)
    peak: Mapped[float | None] = mapped_column(default=None)
    quiet_until: Mapped[datetime | None] = mapped_column(default=None)
    last_ts: Mapped[datetime | None] = mapped_column(default=None)
