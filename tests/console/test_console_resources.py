"""The resources view and a resource's detail against a real server (and moto's EC2 for
actions): actions reach the provider, rows follow `resource.state`, `:res` filters reach the
server, roles and organizations are respected."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession
from textual.pilot import Pilot

from console.app import UpmetrApp
from console.resource_filters import ResourceFilters
from console.screens.confirm import ConfirmScreen
from console.screens.resource_detail import ResourceDetailScreen, flatten
from console.screens.resources import ResourcesScreen
from server.context import EVENTS
from shared.api.events import ResourceStateChanged
from shared.api.resources import ResourceType
from tests.conftest import World
from tests.console.console_harness import console_for, table_text, until
from tests.server.test_resource_actions import REGION, ec2_state, launch
from tests.server.test_resources import add_account, add_resource

SIZE = (160, 40)
WRITE_ACTIONS = ("start", "stop", "reboot")


@pytest.fixture
def ec2(aws: str) -> Iterator[Any]:
    yield boto3.client("ec2", region_name=REGION, endpoint_url=aws)


async def open_resources(
    pilot: Pilot[None], app: UpmetrApp, shows: str, *, live: bool = True
) -> ResourcesScreen:
    await until(pilot, lambda: shows in table_text(pilot))
    if live:
        await until(pilot, lambda: app.connection == "live")
    assert isinstance(app.screen, ResourcesScreen)
    return app.screen


async def test_stop_from_the_table_asks_first_then_the_instance_stops_and_the_row_follows(
    client: TestClient,  # type: ignore[type-arg]
    db: AsyncSession,
    world: World,
    ec2: Any,
) -> None:
    account = await add_account(client, db, world.org_a)
    web = await add_resource(db, account, "web-1", provider_id=launch(ec2), region=REGION)
    app = console_for(client, world.alice, view="resources")
    async with app.run_test(size=SIZE) as pilot:
        await open_resources(pilot, app, "web-1")
        assert "● running" in table_text(pilot)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: "■ stopped" in table_text(pilot), timeout=15)
    assert ec2_state(ec2, web.provider_id) == "stopped"


async def test_saying_no_leaves_the_instance_running(
    client: TestClient,  # type: ignore[type-arg]
    db: AsyncSession,
    world: World,
    ec2: Any,
) -> None:
    account = await add_account(client, db, world.org_a)
    web = await add_resource(db, account, "web-1", provider_id=launch(ec2), region=REGION)
    app = console_for(client, world.alice, view="resources")
    async with app.run_test(size=SIZE) as pilot:
        await open_resources(pilot, app, "web-1")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ResourcesScreen))
    assert ec2_state(ec2, web.provider_id) == "running"


async def test_a_state_event_changes_the_row_in_place(
    client: TestClient,  # type: ignore[type-arg]
    db: AsyncSession,
    world: World,
) -> None:
    account = await add_account(client, db, world.org_a)
    web = await add_resource(db, account, "web-1")
    await add_resource(db, account, "web-2")
    app = console_for(client, world.alice, view="resources")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_resources(pilot, app, "web-2")
        client.app[EVENTS].publish(
            world.org_a,
            ResourceStateChanged(
                id=web.id,
                account_id=account.id,
                name="web-1",
                type="ec2_instance",
                state="stopping",
                previous_state="running",
                action_id=None,
            ),
        )
        await until(pilot, lambda: "◐ stopping web-1" in table_text(pilot))
        assert screen.table.row_count == 2
        assert screen.resources[web.id].state == "stopping"


async def test_res_command_filters_reach_the_server(
    client: TestClient,  # type: ignore[type-arg]
    db: AsyncSession,
    world: World,
) -> None:
    account = await add_account(client, db, world.org_a)
    await add_resource(db, account, "web-eu", region="eu-west-1", tags={"env": "prod"})
    await add_resource(db, account, "web-us", tags={"env": "prod"})
    await add_resource(db, account, "orders", type="rds_instance", state="available")
    await add_resource(db, account, "scratch", region="eu-west-1", tags={"env": "dev"})
    app = console_for(client, world.alice, view="resources")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_resources(pilot, app, "scratch", live=False)
        assert screen.table.border_title == "resources (4)"
        await pilot.press("colon", *"res type=ec2 region=eu-west-1 tag=env:prod", "enter")
        await until(pilot, lambda: screen.table.row_count == 1)
        assert "web-eu" in table_text(pilot)
        assert screen.total == 1  # the server counted one: not a filter of the rows shown
        assert "type=ec2_instance region=eu-west-1 tag=env:prod" in str(screen.table.border_title)
        await pilot.press("colon", *f"res account={account.name} rds", "enter")
        await until(pilot, lambda: "orders" in table_text(pilot))
        assert screen.table.row_count == 1
        assert screen.filters.account == str(account.id)
        await pilot.press("colon", *"res all", "enter")
        await until(pilot, lambda: screen.table.row_count == 4)


async def test_enter_opens_the_detail_with_tags_metadata_and_action_history(
    client: TestClient,  # type: ignore[type-arg]
    db: AsyncSession,
    world: World,
    ec2: Any,
) -> None:
    account = await add_account(client, db, world.org_a)
    await add_resource(
        db,
        account,
        "web-1",
        provider_id=launch(ec2),
        region=REGION,
        tags={"env": "prod", "team": "checkout"},
        details={"ImageId": "ami-12c6146b", "Placement": {"AvailabilityZone": "us-east-1a"}},
    )
    app = console_for(client, world.alice, view="resources")
    async with app.run_test(size=SIZE) as pilot:
        await open_resources(pilot, app, "web-1")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ResourceDetailScreen))
        detail = app.screen
        assert isinstance(detail, ResourceDetailScreen)
        await until(pilot, lambda: detail.resource is not None)
        tags = table_text(pilot, "#resource-tags")
        metadata = table_text(pilot, "#resource-metadata")
        assert "team checkout" in tags
        assert "Placement.AvailabilityZone us-east-1a" in metadata
        assert detail.check_action("start", ()) is None  # running: shown, disabled
        assert detail.check_action("stop", ()) is True
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        history = "#resource-actions"
        await until(pilot, lambda: "✓ succeeded" in table_text(pilot, history), timeout=15)
        assert "reboot" in table_text(pilot, history)
        assert world.alice.email in table_text(pilot, history)


async def test_a_viewer_has_no_resource_actions(
    client: TestClient,  # type: ignore[type-arg]
    db: AsyncSession,
    world: World,
) -> None:
    account = await add_account(client, db, world.org_a)
    await add_resource(db, account, "web-1")
    app = console_for(client, world.bob, view="resources")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_resources(pilot, app, "web-1")
        assert all(screen.check_action(action, ()) is False for action in WRITE_ACTIONS)
        assert "x" not in screen.active_bindings or not screen.active_bindings["x"].enabled
        await pilot.press("x", "s", "r")
        assert isinstance(app.screen, ResourcesScreen)  # no confirmation either
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ResourceDetailScreen))
        detail = app.screen
        await until(pilot, lambda: getattr(detail, "resource", None) is not None)
        assert all(detail.check_action(action, ()) is False for action in WRITE_ACTIONS)


async def test_read_only_console_shows_resource_actions_disabled(
    client: TestClient,  # type: ignore[type-arg]
    db: AsyncSession,
    world: World,
) -> None:
    account = await add_account(client, db, world.org_a)
    await add_resource(db, account, "web-1")
    app = console_for(client, world.alice, view="resources", readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_resources(pilot, app, "web-1")
        assert all(screen.check_action(action, ()) is None for action in WRITE_ACTIONS)
        await pilot.press("x")
        assert isinstance(app.screen, ResourcesScreen)


async def test_carol_sees_no_resources_of_org_a(
    client: TestClient,  # type: ignore[type-arg]
    db: AsyncSession,
    world: World,
) -> None:
    await add_resource(db, await add_account(client, db, world.org_a), "org a secret")
    await add_resource(db, await add_account(client, db, world.org_b), "org b web")
    app = console_for(client, world.carol, view="resources")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_resources(pilot, app, "org b web")
        assert "org a secret" not in table_text(pilot)
        assert screen.table.border_title == "resources (1)"


def test_filters_read_aliases_and_plain_words() -> None:
    filters = ResourceFilters.parse("type=lb region=eu-west-1 tag=env:prod web front")
    assert filters.type is ResourceType.load_balancer
    assert filters.q == "web front"
    assert filters.describe() == "type=load_balancer region=eu-west-1 tag=env:prod q=web front"
    with pytest.raises(ValueError, match="colour"):
        ResourceFilters.parse("colour=red")
    with pytest.raises(ValueError, match="not a resource type"):
        ResourceFilters.parse("type=vm")


def test_nested_metadata_reads_as_dotted_lines() -> None:
    lines = flatten({"a": {"b": 1, "c": [{"d": "x"}]}, "e": ["f", "g"]})
    assert lines == [("a.b", "1"), ("a.c[0].d", "x"), ("e", '["f", "g"]')]
