"""What benchmarks/notifications.py reads and changes straight in the database: the webhook
deliveries' rows (statuses, claims, recorded attempts) and the one nudge, making pending
retries due now. Plain sqlite3 on the data directory's file, beside the running server.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path


def make_retries_due(data_dir: Path) -> int:
    """Pending retries waiting for their backoff become due now (a direct SQL update);
    a leased delivery is left alone. How many."""
    now = datetime.now(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    connection = sqlite3.connect(data_dir / "upmetr.db", timeout=30)
    try:
        with connection:
            changed = connection.execute(
                "UPDATE notification_delivery SET next_attempt_at = ?"
                " WHERE channel_type = 'webhook' AND status = 'pending' AND next_attempt_at > ?"
                " AND (lease_until IS NULL OR lease_until <= ?)",
                (now, now, now),
            ).rowcount
        return int(changed)
    finally:
        connection.close()


def pending_rows(data_dir: Path) -> int:
    connection = sqlite3.connect(data_dir / "upmetr.db", timeout=30)
    try:
        found = connection.execute(
            "SELECT count(*) FROM notification_delivery"
            " WHERE channel_type = 'webhook' AND status = 'pending'"
        ).fetchone()
        return int(found[0])
    finally:
        connection.close()


def delivery_rows(data_dir: Path) -> tuple[Counter[str], int, int, int]:
    """The webhook deliveries by status, incidents with more than one of them, attempts
    claimed (the rows' attempts) and recorded (notification_attempt rows)."""
    connection = sqlite3.connect(data_dir / "upmetr.db", timeout=30)
    webhooks = "(SELECT * FROM notification_delivery WHERE channel_type = 'webhook')"
    try:
        found = connection.execute(f"SELECT status, count(*) FROM {webhooks} GROUP BY 1")
        statuses = Counter(dict(found))
        doubled = connection.execute(
            f"SELECT count(*) FROM (SELECT incident_id FROM {webhooks}"
            " GROUP BY incident_id HAVING count(*) > 1)"
        ).fetchone()[0]
        claimed = connection.execute(f"SELECT sum(attempts) FROM {webhooks}").fetchone()
        recorded = connection.execute(
            f"SELECT count(*) FROM notification_attempt JOIN {webhooks} AS d"
            " ON d.id = notification_attempt.delivery_id"
        ).fetchone()
        return statuses, int(doubled), int(claimed[0] or 0), int(recorded[0])
    finally:
        connection.close()


def attempts_of(data_dir: Path, webhook_id: str) -> tuple[int, int]:
    """A delivery's claims (its attempts column) and recorded outcomes (attempt rows)."""
    connection = sqlite3.connect(data_dir / "upmetr.db", timeout=30)
    try:
        found = connection.execute(
            "SELECT d.attempts, (SELECT count(*) FROM notification_attempt AS a"
            " WHERE a.delivery_id = d.id) FROM notification_delivery AS d"
            " WHERE d.idempotency_id = ?",
            (webhook_id,),
        ).fetchone()
        return (int(found[0]), int(found[1])) if found else (0, 0)
    finally:
        connection.close()


def rounds(data_dir: Path, incident_ids: set[int]) -> int:
    """The dispatcher's rounds that recorded the incidents' webhook outcomes: every outcome
    of one round is stored with the round's one `attempted_at`."""
    connection = sqlite3.connect(data_dir / "upmetr.db", timeout=30)
    marks = ",".join("?" * len(incident_ids))
    try:
        found = connection.execute(
            "SELECT count(DISTINCT a.attempted_at) FROM notification_attempt AS a"
            " JOIN notification_delivery AS d ON d.id = a.delivery_id"
            f" WHERE d.channel_type = 'webhook' AND d.incident_id IN ({marks})",
            sorted(incident_ids),
        ).fetchone()
        return int(found[0])
    finally:
        connection.close()


def round_starts(data_dir: Path, incident_ids: set[int]) -> dict[datetime, list[str]]:
    """The webhook-ids each round recorded, by the round's `attempted_at` (UTC, taken once
    the round's sends are done, as its record transaction begins)."""
    connection = sqlite3.connect(data_dir / "upmetr.db", timeout=30)
    marks = ",".join("?" * len(incident_ids))
    try:
        found = connection.execute(
            "SELECT a.attempted_at, d.idempotency_id FROM notification_attempt AS a"
            " JOIN notification_delivery AS d ON d.id = a.delivery_id"
            f" WHERE d.channel_type = 'webhook' AND d.incident_id IN ({marks})",
            sorted(incident_ids),
        )
        rounds: dict[datetime, list[str]] = {}
        for attempted_at, webhook_id in found:
            at = datetime.fromisoformat(attempted_at).replace(tzinfo=UTC)
            rounds.setdefault(at, []).append(webhook_id)
        return rounds
    finally:
        connection.close()
