"""Notification rows for the snapshot world: channels (one a permanent error disabled),
routing rules, and alice's inbox, every value and time written here (at snapshot_world's
MOMENT, 2026-01-01 12:00 UTC)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.engine import create_engine
from server.keys import load_or_create_keys
from server.notifications.models import Notification, NotificationChannel, NotificationRule
from server.users.models import User
from tests.console.snapshot_world import at, server_settings

# name, type, config, secrets, enabled, last delivered, last error and when
CHANNELS = (
    ("on-call email", "email", {"to": ["on-call@example.com"]}, {}, True, at(11, 41), None),
    ("ops slack", "slack", {}, {"url": "https://hooks.slack.com/services/T0/B0/XXXXdemo1234"},
     True, at(11, 41), None),
    ("pagerduty primary", "pagerduty", {}, {"routing_key": "R0ut1ngK3yR0ut1ngK3yR0ut1ng9f3a"},
     True, at(11, 41), None),
    ("billing hook", "webhook", {"url": "https://billing.example.com/hooks/upmetr"},
     {"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, False, at(9, 12),
     (at(11, 41), "410 Gone: the endpoint was removed (permanent)")),
)  # fmt: skip

# event type, title, body, severity, minutes before 12:00, read; oldest first, as the
# server adds them (it lists the newest first)
INBOX = (
    ("incident.opened", "[WARNING] search is slow", "1410 ms, above 1000 ms", "warning", 40, True),
    ("incident.acknowledged", "[WARNING] search is slow", "alice is looking at it",
     "warning", 35, True),
    ("incident.resolved", "[ERROR] disk 91% full on db-2", "92 GB freed", "error", 30, True),
    ("incident.opened", "[CRITICAL] payments gateway is down", "connection refused",
     "critical", 20, False),
    ("channel.disabled", "Channel billing hook disabled", "410 Gone: the endpoint was removed",
     "error", 19, False),
)  # fmt: skip


def fill(data_dir: Path, org_id: int, email: str) -> None:
    """Add the notification rows to the snapshot world's database in `data_dir`."""
    asyncio.run(_fill(data_dir, org_id, email))


async def _fill(data_dir: Path, org_id: int, email: str) -> None:
    engine = create_engine(server_settings(data_dir).resolved_database_url)
    try:
        async with async_sessionmaker(engine)() as db, db.begin():
            await _world(db, data_dir, org_id, email)
    finally:
        await engine.dispose()


async def _world(db: AsyncSession, data_dir: Path, org_id: int, email: str) -> None:
    keys = load_or_create_keys(data_dir)
    ids: list[int] = []
    for name, kind, config, secrets, enabled, delivered, error in CHANNELS:
        channel = NotificationChannel(
            org_id=org_id,
            name=name,
            type=kind,
            config=config,
            secrets=keys.encrypt(json.dumps(secrets)) if secrets else None,
            enabled=enabled,
            last_delivered_at=delivered,
            last_error_at=error[0] if error else None,
            last_error=error[1] if error else None,
            created_at=at(days_before=30),
            updated_at=at(days_before=1),
        )
        db.add(channel)
        await db.flush()
        ids.append(channel.id)
    db.add(
        NotificationRule(
            org_id=org_id, name="page on-call", events=["incident.opened"],
            min_severity="error", channel_ids=ids[1:3], escalate_after_minutes=15,
            escalation_channel_ids=ids[:1], created_at=at(days_before=30),
            updated_at=at(days_before=30),
        )
    )  # fmt: skip
    alice = (await db.execute(select(User).where(User.email == email))).scalar_one()
    for event_type, title, body, severity, minutes, read in INBOX:
        created_at = at(11, 60 - minutes)
        db.add(
            Notification(
                org_id=org_id, user_id=alice.id, event_type=event_type, title=title, body=body,
                severity=severity, created_at=created_at, read_at=created_at if read else None,
            )
        )  # fmt: skip
