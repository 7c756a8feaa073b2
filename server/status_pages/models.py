"""Status pages: the global page and client pages, their monitors, announcements and
subscribers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow


class StatusPage(Base):
    """One public page: `kind` global (one per organization, made when first read) or client."""

    __tablename__ = "status_page"
    __table_args__ = (
        # The global page's slug is "global", so it is unique per organization too.
        UniqueConstraint("org_id", "slug"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))  # global | client
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63))
    enabled: Mapped[bool] = mapped_column(default=True)
    title: Mapped[str] = mapped_column(String(200), default="System Status")
    company_name: Mapped[str | None] = mapped_column(String(200), default=None)
    logo_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    history_days: Mapped[int] = mapped_column(default=90)
    show_response_times: Mapped[bool] = mapped_column(default=True)
    show_uptime: Mapped[bool] = mapped_column(default=True)
    require_token: Mapped[bool] = mapped_column(default=False)
    # sha256 of the token (server/auth/tokens.hash_secret): it is shown once, when made.
    token_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    token_hint: Mapped[str | None] = mapped_column(String(12), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StatusPageMonitor(Base):
    """A monitor shown on a page, in order; gone with the monitor or the page."""

    __tablename__ = "status_page_monitor"
    __table_args__ = (Index("ix_status_page_monitor_monitor", "monitor_id"),)

    page_id: Mapped[int] = mapped_column(
        ForeignKey("status_page.id", ondelete="CASCADE"), primary_key=True
    )
    monitor_id: Mapped[int] = mapped_column(
        ForeignKey("monitor.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(default=0)


class Announcement(Base):
    __tablename__ = "status_announcement"
    __table_args__ = (Index("ix_status_announcement_page", "page_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    page_id: Mapped[int] = mapped_column(ForeignKey("status_page.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(15))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)


class AnnouncementStep(Base):
    """One update of an announcement: its state then, and what was said."""

    __tablename__ = "status_announcement_step"
    __table_args__ = (Index("ix_status_announcement_step", "announcement_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("status_announcement.id", ondelete="CASCADE")
    )
    state: Mapped[str] = mapped_column(String(15))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StatusSubscriber(Base):
    """An email subscribed to a page: pending until the emailed link confirms it.

    `nonce` is signed into its confirm and unsubscribe links (server/status_pages/
    subscribers.py), so a link works only for this row: one that unsubscribed and came
    back has a new nonce, and the old mails' links no longer touch it."""

    __tablename__ = "status_subscriber"
    __table_args__ = (
        UniqueConstraint("page_id", "email"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    page_id: Mapped[int] = mapped_column(ForeignKey("status_page.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    nonce: Mapped[str] = mapped_column(String(32))
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
