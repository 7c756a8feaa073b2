"""User accounts (an account can belong to several organizations), invitations, and the SSH
public keys that open the console over SSH."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, utcnow


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    mfa_secret_encrypted: Mapped[str | None] = mapped_column(String(512), default=None)
    mfa_enabled: Mapped[bool] = mapped_column(default=False)
    # The TOTP time step last accepted: a code counts once (RFC 6238 section 5.2).
    mfa_last_step: Mapped[int | None] = mapped_column(default=None)
    avatar: Mapped[bytes | None] = mapped_column(LargeBinary, default=None, deferred=True)
    avatar_content_type: Mapped[str | None] = mapped_column(String(50), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def has_avatar(self) -> bool:
        return self.avatar_content_type is not None


class Invitation(Base):
    __tablename__ = "invitation"
    __table_args__ = (Index("ix_invitation_org_email", "org_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class SshKey(Base):
    """A public key that signs its user in to `upmetr ssh-serve`. A key belongs to one
    account (its fingerprint is unique), so the key alone says who connects."""

    __tablename__ = "ssh_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[str] = mapped_column(Text)  # OpenSSH one-line form, without comment
    fingerprint: Mapped[str] = mapped_column(String(100), unique=True)  # SHA256:...
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
