"""The live event log: every live event, numbered by the database, for the processes that
stream them (server/events/log.py)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, Int64


class LiveEvent(Base):
    """One published event. The id is the SSE event id: one sequence for every process.

    SQLite's AUTOINCREMENT never hands out an id again, even once the newest rows are
    pruned, so a client's Last-Event-ID can never name another event."""

    __tablename__ = "live_event"
    __table_args__ = (
        # The rows still to relay to Redis, oldest first (server/events/redis_stream.py).
        Index(
            "ix_live_event_to_relay",
            "id",
            sqlite_where=text("relayed_at_ms IS NULL"),
            postgresql_where=text("relayed_at_ms IS NULL"),
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Int64, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(Int64)
    type: Mapped[str] = mapped_column(String(100))
    data: Mapped[str] = mapped_column(Text)
    # With Redis: when (epoch ms) a relay appended it to the stream; NULL until then. Rows
    # of a process without Redis are written as relayed (0), since nothing follows them.
    relayed_at_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
