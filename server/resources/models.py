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


# `q` finds a substring of the name or provider id: a trigram index (FTS5, SQLite 3.34+)
# of both finds the candidates, the LIKE of the list keeps its exact meaning. On 100,000
# resources a selective term went from a 50 ms scan to 3 ms.
# https://www.sqlite.org/fts5.html#the_trigram_tokenizer
# External content: the index holds no copy of the text; triggers keep it in step with
# `resource` (migration 0008 creates both). PostgreSQL has pg_trgm's GIN indexes on
# `resource` itself instead (ix_resource_name_trgm, ix_resource_provider_id_trgm: 0008).
SEARCH_TABLE = "resource_search"
SEARCH_DDL = (
    "CREATE VIRTUAL TABLE resource_search USING fts5(name, provider_id,"
    " content='resource', content_rowid='id', tokenize='trigram')"
)
SEARCH_TRIGGERS = {
    "resource_search_insert": "AFTER INSERT ON resource BEGIN"
    "\n    INSERT INTO resource_search (rowid, name, provider_id)"
    "\n    VALUES (NEW.id, NEW.name, NEW.provider_id);\nEND",
    "resource_search_delete": "AFTER DELETE ON resource BEGIN"
    "\n    INSERT INTO resource_search (resource_search, rowid, name, provider_id)"
    "\n    VALUES ('delete', OLD.id, OLD.name, OLD.provider_id);\nEND",
    "resource_search_update": "AFTER UPDATE OF id, name, provider_id ON resource"
    "\nWHEN NEW.id IS NOT OLD.id OR NEW.name IS NOT OLD.name"
    " OR NEW.provider_id IS NOT OLD.provider_id BEGIN"
    "\n    INSERT INTO resource_search (resource_search, rowid, name, provider_id)"
    "\n    VALUES ('delete', OLD.id, OLD.name, OLD.provider_id);"
    "\n    INSERT INTO resource_search (rowid, name, provider_id)"
    "\n    VALUES (NEW.id, NEW.name, NEW.provider_id);\nEND",
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
    """One tag of a resource, with copies of the resource's org_id and state (TAG_TRIGGERS
    keep them; writers give only resource_id, key and value)."""

    __tablename__ = "resource_tag"
    # The index alone answers a tag filter: the ids of the org's resources with the tag, and
    # how many of them are not terminated. Counting `tag=env:prod` (33,000 of 100,000) by
    # looking each resource up took 37 ms in SQLite; from this index, 5 ms.
    __table_args__ = (
        Index("ix_resource_tag_org_key_value", "org_id", "key", "value", "state", "resource_id"),
    )

    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))
    # NULL only until the insert's trigger has copied them from the resource.
    org_id: Mapped[int | None] = mapped_column(default=None)
    state: Mapped[str | None] = mapped_column(String(30), default=None)


# SQLite triggers (migration 0008 creates them, and their plpgsql form on PostgreSQL) that
# copy a resource's org_id and state into its tags, whoever writes the tag or changes the
# state (discovery, actions, tests).
TAG_TRIGGERS = {
    "resource_tag_copy_insert": "AFTER INSERT ON resource_tag BEGIN"
    "\n    UPDATE resource_tag SET (org_id, state) ="
    "\n        (SELECT org_id, state FROM resource WHERE id = NEW.resource_id)"
    "\n    WHERE resource_id = NEW.resource_id AND key = NEW.key;\nEND",
    "resource_tag_copy_move": "AFTER UPDATE OF resource_id ON resource_tag BEGIN"
    "\n    UPDATE resource_tag SET (org_id, state) ="
    "\n        (SELECT org_id, state FROM resource WHERE id = NEW.resource_id)"
    "\n    WHERE resource_id = NEW.resource_id AND key = NEW.key;\nEND",
    "resource_tag_copy_resource": "AFTER UPDATE OF org_id, state ON resource"
    "\nWHEN NEW.org_id IS NOT OLD.org_id OR NEW.state IS NOT OLD.state BEGIN"
    "\n    UPDATE resource_tag SET org_id = NEW.org_id, state = NEW.state"
    "\n    WHERE resource_id = NEW.id;\nEND",
}


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
