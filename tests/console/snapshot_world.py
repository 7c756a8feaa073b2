"""A fixed world for the console's snapshot tests: every row and every time is written here.

The console is shown at MOMENT (2026-01-01 12:00 UTC) by its injected clock, so every "ago"
stays the same from run to run. Nothing is created through the API, whose rows carry the
wall clock: signing in would add an `auth.login` audit entry stamped with the real time,
so alice gets a session row and a token signed with the server's own key, as the server's
sign-in makes them (server/auth/sessions.py).
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from console.config import Credentials
from server.audit.models import AuditLog
from server.auth.models import AuthSession, RefreshToken
from server.auth.tokens import hash_secret, issue_jwt, new_secret
from server.config import Settings
from server.db.engine import create_engine
from server.incidents.models import Incident, IncidentEvent
from server.keys import load_or_create_keys
from server.monitors.models import CheckResult, Monitor
from server.users.models import User
from tests.builders import add_member, create_org, create_user

MOMENT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
# What the console says it is connected to (the real port changes from run to run).
SHOWN_URL = "https://upmetr.example.com"
AGENT = "upmetr-console/1.0 (python-httpx)"
TOKEN_LIFETIME = timedelta(hours=12)  # from the real now: the server checks it by its clock
SESSION_END = datetime(2100, 1, 1, tzinfo=UTC)  # likewise; shown nowhere


def at(hours: int = 12, minutes: int = 0, seconds: int = 0, *, days_before: int = 0) -> datetime:
    """A time on the morning of MOMENT (or `days_before` it)."""
    return datetime(2026, 1, 1, hours, minutes, seconds, tzinfo=UTC) - timedelta(days=days_before)


@dataclass
class SnapshotWorld:
    alice: Credentials  # superadmin of Org A, also an admin of Org B
    org_a: int
    org_b: int


# Monitor columns, plus the latencies of the last checks, a minute apart up to 11:59:30
# (None: a failed check), and the error of the failed ones.
MONITORS: tuple[dict[str, Any], ...] = (
    {
        "name": "checkout api",
        "type": "http",
        "url": "https://shop.example.com/api/health",
        "status": "up",
        "latencies": (182, 175, 190, 201, 188, 179, 240, 310, 205, 192, 186, 182),
        "ssl_expires_at": at(days_before=-45),
        "tags": ["shop", "tier-1"],
    },
    {
        "name": "payments gateway",
        "type": "http",
        "url": "https://pay.example.com/health",
        "status": "down",
        "latencies": (95, 102, 99, 110, 98, 101, 97, 180, None, None, None, None),
        "error": "connection refused",
        "tags": ["payments", "tier-1"],
    },
    {
        "name": "search",
        "type": "keyword",
        "url": "https://shop.example.com/search?q=ping",
        "keyword": "results",
        "status": "degraded",
        "degraded_threshold_ms": 1000,
        "latencies": (640, 700, 820, 910, 1050, 1200, 1320, 1280, 1410, 1390, 1460, 1450),
    },
    {
        "name": "postgres primary",
        "type": "tcp",
        "host": "db-1.internal",
        "port": 5432,
        "status": "up",
        "latencies": (3, 2, 3, 4, 3, 3, 2, 3, 5, 3, 3, 3),
    },
    {
        "name": "shop dns",
        "type": "dns",
        "host": "shop.example.com",
        "status": "up",
        "latencies": (24, 22, 25, 23, 31, 24, 22, 23, 24, 26, 23, 24),
    },
    {
        "name": "nightly backup",
        "type": "heartbeat",
        "heartbeat_token": "snapshot-backup-heartbeat",
        "interval_seconds": 86400,
        "status": "paused",
        "paused": True,
        "latencies": (),
    },
)

# title, severity, status, trigger, opened, and the timeline after "opened"
INCIDENTS: tuple[dict[str, Any], ...] = (
    {
        "title": "disk 91% full on db-2",
        "severity": "error",
        "status": "resolved",
        "opened_at": at(10, 5),
        "timeline": (
            ("acknowledged", "alice", at(10, 9), None),
            ("note", "alice", at(10, 30), "old WAL segments; archiving them"),
            ("resolved", "alice", at(11, 30), "92 GB freed"),
        ),
    },
    {
        "title": "search is slow",
        "severity": "warning",
        "status": "acknowledged",
        "trigger": ("monitor_degraded", "search"),
        "opened_at": at(11, 20),
        "timeline": (
            ("check", "system", at(11, 21), "1410 ms, above 1000 ms"),
            ("acknowledged", "alice", at(11, 25), "looking at the index rebuild"),
        ),
    },
    {
        "title": "payments gateway is down",
        "severity": "critical",
        "status": "open",
        "trigger": ("monitor_down", "payments gateway"),
        "opened_at": at(11, 40),
        "timeline": (
            ("check", "system", at(11, 41), "connection refused"),
            ("notified", "system", at(11, 41), "email to on-call@example.com"),
            ("note", "alice", at(11, 52), "provider status page says degraded in eu-west-1"),
        ),
    },
    {
        "title": "renew the wildcard certificate",
        "severity": "info",
        "status": "open",
        "opened_at": at(9, 0, days_before=1),
        "timeline": (),
    },
)

# when, who (None: the server itself), action, resource, status, ip, detail
AUDIT: tuple[tuple[datetime, str | None, str, tuple[str, str] | None, str, str, str], ...] = (
    (at(8, 2), "alice", "auth.login", None, "success", "203.0.113.7", ""),
    (at(8, 15), "bob", "auth.login", None, "failed", "198.51.100.23", "wrong password"),
    (at(8, 16), "bob", "auth.login", None, "success", "198.51.100.23", ""),
    (at(9, 30), "alice", "monitor.created", ("monitor", "3"), "success", "203.0.113.7", "search"),
    (at(10, 5), None, "incident.created", ("incident", "1"), "success", "", "error: disk"),
    (at(11, 25), "alice", "incident.acknowledged", ("incident", "2"), "success", "203.0.113.7", ""),
    (at(11, 30), "alice", "incident.resolved", ("incident", "1"), "success", "203.0.113.7", ""),
    (at(11, 40), None, "incident.opened", ("incident", "3"), "success", "", "monitor down"),
    (at(11, 55), "alice", "member.invited", ("user", "carol"), "success", "203.0.113.7", ""),
)


def prepare(template_db: Path, data_dir: Path) -> SnapshotWorld:
    """A copy of the migrated template database in `data_dir`, filled with the world."""
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(template_db, data_dir / "upmetr.db")
    return asyncio.run(_fill(data_dir))


def server_settings(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        host="127.0.0.1",
        port=0,
        public_url=SHOWN_URL,  # heartbeat URLs are built from it
        engines=False,  # no check may change a monitor while the pictures are taken
        rate_limit_user="10000/minute",
        rate_limit_anon="10000/minute",
        allow_private_targets=True,  # as the suite's other servers: targets on 127.0.0.1
        argon2_time_cost=1,
        argon2_memory_cost=1024,
        argon2_parallelism=1,
    )


async def _fill(data_dir: Path) -> SnapshotWorld:
    settings = server_settings(data_dir)
    engine = create_engine(settings.resolved_database_url)
    try:
        async with async_sessionmaker(engine)() as db, db.begin():
            return await _world(db, data_dir)
    finally:
        await engine.dispose()


async def _world(db: AsyncSession, data_dir: Path) -> SnapshotWorld:
    org_a = await create_org(db, "Org A")
    org_b = await create_org(db, "Org B")
    people: dict[str, User] = {}
    for name, memberships in (
        ("alice", ((org_a, "superadmin"), (org_b, "admin"))),
        ("bob", ((org_a, "viewer"),)),
        ("carol", ((org_b, "superadmin"),)),
    ):
        user = await create_user(db, f"{name}@example.com", password_hash="!unusable")
        user.created_at = at(days_before=90)
        for org, role in memberships:
            await add_member(db, user, org, role)
        people[name] = user
    monitors = await _monitors(db, org_a.id)
    await _incidents(db, org_a.id, people, monitors)
    await _audit(db, org_a.id, people)
    alice = await _signed_in(db, data_dir, people["alice"], org_a.id)
    return SnapshotWorld(alice=alice, org_a=org_a.id, org_b=org_b.id)


async def _monitors(db: AsyncSession, org_id: int) -> dict[str, Monitor]:
    """The monitors, each checked once a minute up to 11:59 with the given latencies."""
    monitors: dict[str, Monitor] = {}
    for spec in MONITORS:
        fields = {k: v for k, v in spec.items() if k not in ("latencies", "error")}
        latencies: tuple[int | None, ...] = spec["latencies"]
        monitor = Monitor(
            org_id=org_id,
            created_at=at(days_before=30),
            updated_at=at(days_before=30),
            last_error=spec.get("error"),
            **fields,
        )
        if latencies:
            monitor.last_checked_at = at(11, 59, 30)
            monitor.last_response_ms = latencies[-1]
        db.add(monitor)
        await db.flush()
        count = len(latencies)
        for index, latency in enumerate(latencies):
            failed = latency is None
            db.add(
                CheckResult(
                    monitor_id=monitor.id,
                    checked_at=at(11, 59, 30) - timedelta(minutes=count - 1 - index),
                    status="down" if failed else "up",
                    response_time_ms=latency,
                    status_code=None if failed or spec["type"] not in ("http", "keyword") else 200,
                    error=spec.get("error") if failed else None,
                )
            )
        monitors[spec["name"]] = monitor
    await db.flush()
    return monitors


async def _incidents(
    db: AsyncSession, org_id: int, people: dict[str, User], monitors: dict[str, Monitor]
) -> None:
    for spec in INCIDENTS:
        trigger, target = spec.get("trigger", ("manual", None))
        incident = Incident(
            org_id=org_id,
            title=spec["title"],
            severity=spec["severity"],
            status=spec["status"],
            trigger_type=trigger,
            target_type="monitor" if target else None,
            target_id=monitors[target].id if target else None,
            opened_at=spec["opened_at"],
            created_by_id=None if target else people["alice"].id,
        )
        for kind, who, moment, _ in spec["timeline"]:
            if kind == "acknowledged":
                incident.acknowledged_at = moment
                incident.acknowledged_by_id = people[who].id
            elif kind == "resolved":
                incident.resolved_at = moment
                incident.resolved_by_id = people[who].id
        db.add(incident)
        await db.flush()
        opener = "system" if target else people["alice"].email
        lines = (("opened", opener, spec["opened_at"], spec["title"]), *spec["timeline"])
        for kind, who, moment, text in lines:
            user = people.get(who)
            db.add(
                IncidentEvent(
                    incident_id=incident.id,
                    kind=kind,
                    actor=user.email if user else who,
                    actor_user_id=user.id if user else None,
                    text=text,
                    created_at=moment,
                )
            )
    await db.flush()


async def _audit(db: AsyncSession, org_id: int, people: dict[str, User]) -> None:
    rows = []
    for moment, who, action, target, status, ip, detail in AUDIT:
        user = people.get(who) if who else None
        resource_type, resource_id = target or (None, None)
        if resource_type == "user" and resource_id in people:
            resource_id = str(people[resource_id].id)
        rows.append(
            {
                "org_id": org_id,
                "user_id": user.id if user else None,
                "user_email": user.email if user else None,
                "action": action,
                "resource_type": resource_type,
                "resource_id": resource_id,
                "ip": ip or None,
                "user_agent": AGENT if user else None,
                "status": status,
                "detail": detail or None,
                "created_at": moment,
            }
        )
    await db.execute(insert(AuditLog), rows)


async def _signed_in(db: AsyncSession, data_dir: Path, user: User, org_id: int) -> Credentials:
    """A session and its token pair, as a sign-in makes them, without its audit entry."""
    session = AuthSession(
        user_id=user.id,
        org_id=org_id,
        user_agent=AGENT,
        ip="127.0.0.1",
        created_at=at(8, 2),
        last_used_at=at(8, 2),
        expires_at=SESSION_END,
    )
    db.add(session)
    await db.flush()
    refresh_token = new_secret()
    db.add(RefreshToken(session_id=session.id, token_hash=hash_secret(refresh_token)))
    # The server reads this key file when it starts, so it accepts the token signed here.
    keys = load_or_create_keys(data_dir)
    access_token = issue_jwt(
        keys.jwt_secret,
        subject=user.id,
        purpose="access",
        ttl=TOKEN_LIFETIME,
        org=org_id,
        sid=session.id,
    )
    return Credentials(SHOWN_URL, access_token, refresh_token, user.email)
