"""The service context: one connection and one transaction per request, authentication
included; an outbox that goes out only on commit; engines and members through one function."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditLog
from server.context import ENGINE, RUNTIME
from server.incidents import service as incidents
from server.service_context import system_transaction
from shared.api.incidents import TriggerType
from tests.conftest import World


def count_checkouts(client: TestClient) -> list[int]:  # type: ignore[type-arg]
    """A list that grows by one each time a request takes a connection from the pool (an
    engine's own, such as the dispatcher woken by the request's commit, are not counted)."""
    checkouts: list[int] = []

    def checked_out(*_: Any) -> None:
        task = asyncio.current_task()
        if task is not None and getattr(task.get_coro(), "__qualname__", "") == "Loop.run":
            return
        checkouts.append(1)

    event.listen(client.app[ENGINE].sync_engine.pool, "checkout", checked_out)
    return checkouts


async def test_an_authenticated_read_takes_one_connection(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    checkouts = count_checkouts(client)
    response = await client.get("/api/v1/monitors", headers=world.alice.headers)
    assert response.status == 200
    assert len(checkouts) == 1


async def test_an_authenticated_write_takes_one_connection(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    checkouts = count_checkouts(client)
    response = await client.post(
        "/api/v1/incidents",
        json={"title": "Checkout is slow", "severity": "warning"},
        headers=world.alice.headers,
    )
    assert response.status == 201
    assert len(checkouts) == 1


async def test_a_refused_token_is_answered_without_running_the_route(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    response = await client.post(
        "/api/v1/incidents",
        json={"title": "never", "severity": "warning"},
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert response.status == 401
    listed = await client.get("/api/v1/incidents", headers=world.alice.headers)
    assert (await listed.json())["total"] == 0


async def test_an_engine_opens_and_resolves_through_the_members_functions_as_the_system(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    db: AsyncSession,
) -> None:
    trigger = incidents.Trigger(world.org_a, TriggerType.monitor_down, "monitor", 7)
    async with system_transaction(client.app[RUNTIME]) as ctx:
        incident, opened = await incidents.open_incident(
            ctx, trigger=trigger, title="api is down", severity="critical"
        )
    assert opened
    response = await client.post(
        f"/api/v1/incidents/{incident.id}/acknowledge", json={}, headers=world.alice.headers
    )
    assert response.status == 200
    async with system_transaction(client.app[RUNTIME]) as ctx:
        assert await incidents.resolve_trigger(ctx, trigger, note="back up") is not None
    async with db.begin():
        rows = await db.execute(
            select(AuditLog.action, AuditLog.user_email)
            .where(AuditLog.resource_id == str(incident.id))
            .order_by(AuditLog.id)
        )
        audited = [tuple(row) for row in rows]
    assert audited == [
        ("incident.created", "system"),
        ("incident.acknowledged", "alice@example.com"),
        ("incident.resolved", "system"),
    ]
