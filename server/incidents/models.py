"""Incidents and their timeline events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow

# The predicate of the partial unique index below: an incident still needing attention.
_UNRESOLVED = text("status != 'resolved'")


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (
        # At most one unresolved incident per trigger and target, held by the database itself
        # so a restart or two engines racing cannot open a duplicate. Manual incidents have no
        # target (NULL), and NULLs are distinct in a unique index, so they never collide.
        Index(
            "uq_incident_open_trigger",
            "org_id",
            "trigger_type",
            "target_type",
            "target_id",
            unique=True,
            sqlite_where=_UNRESOLVED,
            postgresql_where=_UNRESOLVED,
        ),
        Index("ix_incident_org_status", "org_id", "status"),
        Index("ix_incident_org_opened", "org_id", "opened_at"),
        # Only manual incidents lack a target; any other one would escape the index above.
        CheckConstraint(
            "trigger_type = 'manual' OR (target_type IS NOT NULL AND target_id IS NOT NULL)",
            name="target_unless_manual",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000), default=None)
    severity: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(15), default="open")
    trigger_type: Mapped[str] = mapped_column(String(30))
    target_type: Mapped[str | None] = mapped_column(String(30), default=None)
    target_id: Mapped[int | None] = mapped_column(default=None)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    resolved_automatically: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    # The alert rule that set its severity (server/alert_rules/), whose channels hear of it;
    # no foreign key: a deleted rule leaves a number that matches nothing.
    alert_rule_id: Mapped[int | None] = mapped_column(default=None)

    @property
    def duration_seconds(self) -> int | None:
        if self.resolved_at is None:
            return None
        return max(0, int((self.resolved_at - self.opened_at).total_seconds()))


class IncidentEvent(Base):
    """One line of an incident's timeline: opened, acknowledged, a note, a check, ..."""

    __tablename__ = "incident_event"
    __table_args__ = (Index("ix_incident_event_incident", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    # Who acted, kept as text so the timeline still reads right after the account is gone.
    actor: Mapped[str] = mapped_column(String(254), default="system")
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    text: Mapped[str | None] = mapped_column(String(4000), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
