"""The hot reads send a fixed number of statements, whatever the size of their page: a
statement per row (an N+1) would show here before it shows in benchmarks/api_vs_peer.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import event, insert, select

from server.context import ENGINE, SESSIONS
from server.monitors.models import MaintenanceWindow, Monitor
from shared.api.common import API_PREFIX
from tests.conftest import World


@contextmanager
def statements(client: TestClient) -> Iterator[list[str]]:  # type: ignore[type-arg]
    """The SQL each request sends while inside the block, as the database receives it."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    engine = client.app[ENGINE].sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def add_monitors(client: TestClient, org_id: int, count: int) -> list[int]:  # type: ignore[type-arg]
    async with client.app[SESSIONS]() as db, db.begin():
        rows = [
            {"org_id": org_id, "name": f"m{n:03d}", "type": "http", "url": "https://example.com"}
            for n in range(count)
        ]
        await db.execute(insert(Monitor), rows)
        ids = list(await db.scalars(select(Monitor.id).order_by(Monitor.name)))
        now = datetime.now(UTC)
        # Every third monitor is in maintenance now.
        await db.execute(
            insert(MaintenanceWindow),
            [
                {
                    "monitor_id": monitor_id,
                    "starts_at": now - timedelta(hours=1),
                    "ends_at": now + timedelta(hours=1),
                }
                for monitor_id in ids[::3]
            ],
        )
    return ids


async def test_the_monitors_list_sends_as_many_statements_for_50_rows_as_for_5(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await add_monitors(client, world.org_a, 60)
    sent_by_size = {}
    for per_page in (5, 50):
        with statements(client) as sent:
            page = await client.get(
                f"{API_PREFIX}/monitors?per_page={per_page}", headers=world.bob.headers
            )
        assert page.status == 200
        body = await page.json()
        assert body["total"] == 60 and len(body["items"]) == per_page
        assert [m["status"] for m in body["items"][:4]] == [
            "maintenance", "pending", "pending", "maintenance",
        ]  # fmt: skip
        sent_by_size[per_page] = len(sent)
    # The caller, the page with its total, its uptimes, its maintenance windows.
    assert sent_by_size == {5: 4, 50: 4}


async def test_the_monitors_list_counts_its_total_past_the_last_page(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await add_monitors(client, world.org_a, 12)
    page = await client.get(f"{API_PREFIX}/monitors?per_page=5&page=4", headers=world.bob.headers)
    body = await page.json()
    assert (body["total"], body["items"]) == (12, [])


async def test_authenticating_an_access_token_is_one_statement(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    with statements(client) as sent:
        me = await client.get(f"{API_PREFIX}/auth/me", headers=world.bob.headers)
    assert me.status == 200
    assert sum("auth_session" in statement for statement in sent) == 1
