"""Discovered cloud resources, their tags (a table, so `tag=k:v` uses an index) and actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow

# The condition of the partial indexes; queries repeat it word for word (SQLite uses a
# partial index only for a query whose WHERE contains the index's own terms).
EXISTING_CONDITION = "state != 'terminated'"
_EXISTING: dict[str, Any] = {
    "sqlite_where": text(EXISTING_CONDITION),
    "postgresql_where": text(EXISTING_CONDITION),
}


class Resource(Base):
    __tablename__ = "resource"
    __table_args__ = (
        # Discovery upserts by the provider's id within an account.
        UniqueConstraint("account_id", "provider_id"),
        # Lists leave terminated resources out: partial indexes of the others, with the
        # state last so counts and groupings read the index alone (server/resources/queries.py).
        # The type index holds every column the summary groups by: one scan counts them all.
        Index(
            "ix_resource_org_type", "org_id", "type", "state", "region", "account_id", **_EXISTING
        ),
        Index("ix_resource_org_state", "org_id", "state"),
        Index("ix_resource_org_region", "org_id", "region", "state", **_EXISTING),
        Index("ix_resource_org_account", "org_id", "account_id", "state", **_EXISTING),
        Index("ix_resource_org_name", "org_id", "name", **_EXISTING),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("cloud_account.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(20))
    provider_id: Mapped[str] = mapped_column(String(512))  # instance id, ARN, bucket name
    type: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(30))
    size: Mapped[str | None] = mapped_column(String(60), default=None)  # instance class, runtime
    region: Mapped[str] = mapped_column(String(30))
    tags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Provider metadata as the provider describes it (`metadata` is taken by SQLAlchemy).
    details: Mapped[dict[str, Any]] = mapped_column("provider_metadata", JSON, default=dict)
    discovered_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    terminated_at: Mapped[datetime | None] = mapped_column(default=None)


class ResourceTag(Base):
    __tablename__ = "resource_tag"
    # resource_id in the index: a tag filter reads the matching ids without the table.
    __table_args__ = (Index("ix_resource_tag_key_value", "key", "value", "resource_id"),)

    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class ResourceAction(Base):
    """One start, stop or reboot: who asked, when, and how it ended."""

    __tablename__ = "resource_action"
    __table_args__ = (
        Index("ix_resource_action_resource", "resource_id", "id"),
        Index("ix_resource_action_status", "status"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(10))  # start, stop, reboot
    status: Mapped[str] = mapped_column(
        String(15), default="pending"
    )  # pending, running, succeeded, failed
    # Who acted, kept as text so the history still reads right after the account is gone.
    actor: Mapped[str] = mapped_column(String(254))
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    from_state: Mapped[str | None] = mapped_column(String(30), default=None)
    to_state: Mapped[str | None] = mapped_column(String(30), default=None)
    detail: Mapped[str | None] = mapped_column(String(2000), default=None)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
