"""The incidents view against a real server: actions reach it, rows follow the live stream."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from console.screens.incidents import IncidentsScreen
from tests.conftest import Person, World
from tests.console.console_harness import console_for, table_text, until


async def open_incident(client: TestClient, person: Person, title: str) -> dict[str, Any]:  # type: ignore[type-arg]
    response = await client.post(
        "/api/v1/incidents",
        json={"title": title, "severity": "critical"},
        headers=person.headers,
    )
    assert response.status == 201, await response.text()
    return await response.json()


async def incident_status(client: TestClient, person: Person, incident_id: int) -> str:  # type: ignore[type-arg]
    response = await client.get(f"/api/v1/incidents/{incident_id}", headers=person.headers)
    return str((await response.json())["status"])


async def test_acknowledge_from_the_table_reaches_the_server_and_the_row_follows_the_stream(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    incident = await open_incident(client, world.alice, "checkout is down")
    app = console_for(client, world.alice)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "checkout is down" in table_text(pilot))
        await until(pilot, lambda: app.connection == "live")
        await pilot.press("a")
        await until(pilot, lambda: "acknowledged" in table_text(pilot))
        assert await incident_status(client, world.alice, incident["id"]) == "acknowledged"
        assert isinstance(app.screen, IncidentsScreen)
