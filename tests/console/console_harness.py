"""Driving the console in tests: the real app against the real server of `client`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from textual.pilot import Pilot

from console.app import UpmetrApp
from console.config import Credentials
from console.preferences import Preferences
from console.widgets.counter_tile import CounterTile
from console.widgets.resource_table import ResourceTable
from shared.api.events import MonitorChecked
from tests.conftest import Person

SMALL = (80, 24)
LARGE = (160, 48)


def console_for(
    client: TestClient,  # type: ignore[type-arg]
    person: Person | None,
    *,
    readonly: bool = False,
    preferences: Preferences | None = None,
    clock: Callable[[], datetime] | None = None,
    view: str | None = None,
) -> UpmetrApp:
    """The console signed in as `person` (None: no saved credentials), tokens kept in memory."""
    url = str(client.make_url("/")).rstrip("/")
    credentials = (
        Credentials(url, person.access_token or "", person.refresh_token or "", person.email)
        if person
        else None
    )
    return UpmetrApp(
        url,
        credentials=credentials,
        readonly=readonly,
        preferences=preferences,
        remember=False,
        start_view=view,
        **({"clock": clock} if clock else {}),
    )


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run until `condition()` holds; fail after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await pilot.pause(0.02)


def table_text(pilot: Pilot[None], selector: str = "ResourceTable") -> str:
    """The rows of the table shown now, a line each, every cell whole whatever the width
    shows of it ("" while no such table is up)."""
    tables = pilot.app.screen.query(selector).results(ResourceTable)
    table = next(tables, None)
    if table is None:
        return ""
    return "\n".join(table.texts())


def count(app: UpmetrApp, tile: str) -> int | None:
    """The number on a dashboard tile (None until the dashboard has read it)."""
    found = next(app.screen.query(f"#{tile}").results(CounterTile), None)
    return None if found is None else found.count


def fixed_clock(
    moment: datetime = datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
) -> Callable[[], datetime]:
    return lambda: moment


# Arranging data through the real API, as a user would.


async def open_incident(
    client: TestClient,  # type: ignore[type-arg]
    person: Person,
    title: str,
    severity: str = "critical",
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/incidents", json={"title": title, "severity": severity}, headers=person.headers
    )
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def incident_status(client: TestClient, person: Person, incident_id: int) -> str:  # type: ignore[type-arg]
    response = await client.get(f"/api/v1/incidents/{incident_id}", headers=person.headers)
    return str((await response.json())["status"])


async def create_monitor(
    client: TestClient,  # type: ignore[type-arg]
    person: Person,
    name: str,
    url: str = "http://127.0.0.1:9/",
    **settings: Any,
) -> dict[str, Any]:
    body = {"name": name, "type": "http", "url": url, **settings}
    response = await client.post("/api/v1/monitors", json=body, headers=person.headers)
    assert response.status == 201, await response.text()
    return dict(await response.json())


def check_event(
    monitor_id: int, name: str, result_id: int, response_time_ms: int, checked_at: str
) -> MonitorChecked:
    """The `monitor.check` event of an up check, as the check writer publishes it."""
    return MonitorChecked(
        monitor_id=monitor_id,
        name=name,
        result_id=result_id,
        status="up",
        monitor_status="up",
        checked_at=datetime.fromisoformat(checked_at),
        response_time_ms=response_time_ms,
        status_code=200,
        error=None,
    )
