"""Infra agents: the hosts that report, and the containers each reported last."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow


class Agent(Base):
    __tablename__ = "agent"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        Index("ix_agent_status_offline_after", "status", "offline_after"),
        # The fleet summary's counts, averages and busiest hosts read this alone, not the
        # rows with their JSON (~13 ms a summary at 5,000 agents, under a fleet's writes).
        Index("ix_agent_org_figures", "org_id", "status", "cpu_pct", "mem_pct", "disk_pct", "name"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # sha256 of the token (server/auth/tokens.hash_secret): the token itself is shown once.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_hint: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    # When an online agent that posts nothing more goes offline: three intervals after its
    # last post (the watch engine looks for these, server/agents/presence.py).
    offline_after: Mapped[datetime | None] = mapped_column(default=None)
    hostname: Mapped[str | None] = mapped_column(String(253), default=None)
    os: Mapped[str | None] = mapped_column(String(200), default=None)
    agent_version: Mapped[str | None] = mapped_column(String(50), default=None)
    interval_seconds: Mapped[int | None] = mapped_column(default=None)
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # The newest sample as posted (GET .../latest; loaded only there), its time, and its
    # figures that lists and the fleet summary show (read in SQL, without the JSON).
    latest: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None, deferred=True)
    latest_at: Mapped[datetime | None] = mapped_column(default=None)
    cpu_pct: Mapped[float | None] = mapped_column(default=None)
    mem_pct: Mapped[float | None] = mapped_column(default=None)
    disk_pct: Mapped[float | None] = mapped_column(default=None)  # the fullest disk's
    # Epoch seconds from which the 5-minute and hourly rollups are still to be (re)computed;
    # a late sample moves them back (server/metrics/rollups.py).
    rollup_5m_from: Mapped[int | None] = mapped_column(default=None)
    rollup_1h_from: Mapped[int | None] = mapped_column(default=None)
    # How many containers its last report named (agent_container holds them): a post of a
    # host without any need not clear them.
    containers: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AgentContainer(Base):
    """A container as its agent reported it last (gone from the next report, gone here)."""

    __tablename__ = "agent_container"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agent.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    image: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(50))
    cpu_pct: Mapped[float] = mapped_column(default=0.0)
    mem_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    mem_limit: Mapped[int | None] = mapped_column(BigInteger, default=None)
    mem_pct: Mapped[float | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
