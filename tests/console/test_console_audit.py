"""The audit view against a real server: what was done shows up, for superadmins of the org only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from console.screens.audit import PER_PAGE, AuditEntryScreen, AuditScreen
from console.screens.incidents import IncidentsScreen
from console.widgets.resource_table import ResourceTable
from server.audit.models import AuditLog
from tests.conftest import World
from tests.console.console_harness import console_for, open_incident, table_text, until


async def write_entries(db: AsyncSession, org_id: int, count: int) -> None:
    """`count` entries of org `org_id`, an hour apart, the oldest a year before 2026."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    await db.execute(
        insert(AuditLog),
        [
            {
                "org_id": org_id,
                "action": f"setting.changed.{n}",
                "status": "success",
                "created_at": start + timedelta(hours=n),
            }
            for n in range(count)
        ],
    )
    await db.commit()


async def test_alice_sees_her_acknowledgement_in_the_audit_log_and_its_details(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    incident = await open_incident(client, world.alice, "checkout is down")
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "checkout is down" in table_text(pilot))
        await pilot.press("a")
        await until(pilot, lambda: "acknowledged" in table_text(pilot))
        await pilot.press("4")
        await until(pilot, lambda: "incident.acknowledged" in table_text(pilot))
        assert isinstance(app.screen, AuditScreen)
        newest = table_text(pilot).splitlines()[0]
        assert "alice@example.com" in newest
        assert f"incident {incident['id']}" in newest
        assert "success" in newest
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AuditEntryScreen))
        assert isinstance(app.screen, AuditEntryScreen)
        fields = str(app.screen.query_one("#audit-entry-fields").render())
        assert "incident.acknowledged" in fields
        assert "127.0.0.1" in fields
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, AuditScreen))


async def test_the_log_reads_again_when_shown_and_on_ctrl_r(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    app = console_for(client, world.alice, view="audit")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "auth.login" in table_text(pilot))
        await open_incident(client, world.alice, "disk filling")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: "incident.created" in table_text(pilot))
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, IncidentsScreen))
        await open_incident(client, world.alice, "queue backing up")
        await pilot.press("4")
        await until(pilot, lambda: table_text(pilot).count("incident.created") == 2)


async def test_the_filter_narrows_the_page_to_matching_entries(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.alice, "payments slow")
    app = console_for(client, world.alice, view="audit")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "incident.created" in table_text(pilot))
        assert "auth.login" in table_text(pilot)
        await pilot.press("slash", *"incident", "enter")
        await until(pilot, lambda: "auth.login" not in table_text(pilot))
        assert table_text(pilot).splitlines() == [
            line for line in table_text(pilot).splitlines() if "incident.created" in line
        ]


async def test_brackets_page_through_older_and_newer_entries(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    db: AsyncSession,
) -> None:
    await write_entries(db, world.org_a, PER_PAGE + 5)
    app = console_for(client, world.alice, view="audit")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "auth.login" in table_text(pilot))
        table = app.screen.query_one(ResourceTable)
        assert "page 1 of 2" in str(table.border_title)
        assert "setting.changed.0 " not in table_text(pilot)
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: "page 2 of 2" in str(table.border_title))
        assert table_text(pilot).splitlines()[-1].split()[3] == "setting.changed.0"
        assert "auth.login" not in table_text(pilot)
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: any("No older" in str(n.message) for n in app._notifications))
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: "auth.login" in table_text(pilot))
        assert "page 1 of 2" in str(table.border_title)


async def test_bob_a_viewer_is_refused_the_audit_view(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    app = console_for(client, world.bob, view="incidents")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, IncidentsScreen))
        await pilot.press("4")
        await until(
            pilot, lambda: any("for superadmins" in str(n.message) for n in app._notifications)
        )
        assert isinstance(app.screen, IncidentsScreen)
        assert app.current_mode == "incidents"


async def test_carol_sees_none_of_org_as_entries(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.alice, "org A secret")
    await open_incident(client, world.carol, "org B only")
    app = console_for(client, world.carol, view="audit")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "incident.created" in table_text(pilot))
        shown = table_text(pilot)
        assert "carol@example.com" in shown
        assert "alice@example.com" not in shown
        assert "bob@example.com" not in shown
        assert shown.count("incident.created") == 1
