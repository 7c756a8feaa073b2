"""Plain builders of public status pages for the render, feed and badge tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.api.status_pages import (
    AnnouncementRead,
    AnnouncementState,
    AnnouncementStep,
    Branding,
    PublicDay,
    PublicIncident,
    PublicMaintenance,
    PublicMonitor,
    PublicStatus,
    PublicStatusPage,
)

NOW = datetime(2026, 12, 6, 14, 3, tzinfo=UTC)
XSS = "<script>alert(1)</script>"


def day(on: date, uptime_pct: float | None = 100.0, downtime_seconds: int = 0) -> PublicDay:
    checks = 0 if uptime_pct is None else 1440
    return PublicDay(
        date=on, uptime_pct=uptime_pct, downtime_seconds=downtime_seconds, checks=checks
    )


def history(days: int = 90, *, seed: int = 0) -> list[PublicDay]:
    """`days` days ending today: mostly whole days up, some with minutes down, a few
    without data, as a real monitor's history looks."""
    today = NOW.date()
    found = []
    for index in range(days):
        on = today - timedelta(days=days - 1 - index)
        turn = (index * 7 + seed * 13) % 41
        if turn == 0:
            found.append(day(on, None))
        elif turn in (5, 17):
            down = 60 * (1 + (index + seed) % 45)
            found.append(day(on, 100 - down / 864, down))
        else:
            found.append(day(on))
    return found


def monitor(
    monitor_id: int = 1,
    name: str = "API",
    status: PublicStatus = PublicStatus.operational,
    *,
    days: int = 90,
    seed: int = 0,
) -> PublicMonitor:
    return PublicMonitor(
        id=monitor_id,
        name=name,
        status=status,
        uptime_pct=99.95,
        avg_response_ms=123.4,
        days=history(days, seed=seed),
    )


def incident(
    incident_id: int = 7, title: str = "API answers slowly", **extra: Any
) -> PublicIncident:
    values: dict[str, Any] = {
        "id": incident_id,
        "title": title,
        "monitor_id": 1,
        "monitor_name": "API",
        "status": "resolved",
        "severity": "critical",
        "opened_at": NOW - timedelta(hours=5),
        "resolved_at": NOW - timedelta(hours=4, minutes=48),
    }
    return PublicIncident(**{**values, **extra})


def announcement(
    announcement_id: int = 3, title: str = "Database upgrade", body: str = "We upgrade."
) -> AnnouncementRead:
    created_at = NOW - timedelta(days=1)
    return AnnouncementRead(
        id=announcement_id,
        page="global",
        page_id=1,
        title=title,
        body=body,
        state=AnnouncementState.monitoring,
        updates=[
            AnnouncementStep(
                state=AnnouncementState.investigating, body=body, created_at=created_at
            ),
            AnnouncementStep(
                state=AnnouncementState.monitoring,
                body="Back to normal, watching.",
                created_at=created_at + timedelta(hours=2),
            ),
        ],
        created_at=created_at,
        updated_at=created_at + timedelta(hours=2),
        resolved_at=None,
    )


def maintenance(uid: str = "5-20261210T0200Z", monitor_name: str = "API") -> PublicMaintenance:
    starts_at = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
    return PublicMaintenance(
        uid=uid,
        monitor_id=1,
        monitor_name=monitor_name,
        reason="Kernel update",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1, minutes=30),
    )


def branding(
    whitelabel: bool = False, primary_color: str | None = None, name: str = "Acme"
) -> Branding:
    return Branding(
        name=name,
        logo_url="https://acme.example/",
        primary_color=primary_color,
        accent_color=None,
        whitelabel=whitelabel,
    )


def status_page(monitors: list[PublicMonitor] | None = None, **extra: Any) -> PublicStatusPage:
    values: dict[str, Any] = {
        "org_slug": "acme",
        "slug": None,
        "title": "Acme status",
        "company_name": "Acme Inc.",
        "branding": branding(),
        "status": PublicStatus.operational,
        "history_days": 90,
        "show_uptime": True,
        "show_response_times": True,
        "monitors": [monitor()] if monitors is None else monitors,
        "incidents": [incident()],
        "announcements": [announcement()],
        "maintenance": [maintenance()],
        "generated_at": NOW,
    }
    return PublicStatusPage(**{**values, **extra})


def large_page(monitors: int = 50, days: int = 90) -> PublicStatusPage:
    return status_page(
        [
            monitor(
                index, f"Service {index} ({'eu' if index % 2 else 'us'})", days=days, seed=index
            )
            for index in range(1, monitors + 1)
        ],
        incidents=[incident(index, f"Service {index} is down") for index in range(1, 21)],
        announcements=[announcement(index) for index in range(1, 4)],
        maintenance=[maintenance(f"{index}-20261210T0200Z") for index in range(1, 6)],
    )
