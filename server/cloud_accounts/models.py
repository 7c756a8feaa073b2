"""Cloud provider accounts: encrypted credentials, regions, and how the last test went."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow


class CloudAccount(Base):
    __tablename__ = "cloud_account"
    # Ids are never reused: a job still running for a deleted account must not write into
    # a new account that took its id (SQLite reuses the largest id without AUTOINCREMENT).
    __table_args__ = (UniqueConstraint("org_id", "name"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(20))
    # "role" (assumed with STS) or "keys" (an access key pair); says which credentials hold.
    auth_method: Mapped[str] = mapped_column(String(10))
    # The provider's credentials as JSON, Fernet-encrypted; never returned by the API.
    credentials: Mapped[str] = mapped_column(Text)
    credentials_hint: Mapped[str] = mapped_column(String(20))
    default_region: Mapped[str] = mapped_column(String(30))
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    cloudwatch_enabled: Mapped[bool] = mapped_column(default=False)
    # The provider's own id for the account (the 12-digit AWS account), learnt by a test.
    external_account_id: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(15), default="pending")  # pending, ok, error
    status_detail: Mapped[str | None] = mapped_column(String(2000), default=None)
    last_tested_at: Mapped[datetime | None] = mapped_column(default=None)
    last_discovered_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
