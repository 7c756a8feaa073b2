"""The console's first minutes at 80x24: leaving help, the prompt's commands, footers and
tables that fit, times that move on without asking the server."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient
from textual.widgets import Static

from console.commands import COMMAND_HINT, parse_command
from console.screens.help import HelpScreen
from console.screens.incident_detail import IncidentDetailScreen
from console.screens.incidents import IncidentsScreen
from console.widgets.key_footer import KeyFooter
from console.widgets.prompt import Prompt
from console.widgets.resource_table import ResourceTable
from shared.client.incidents import Incidents
from tests.conftest import World
from tests.console.console_harness import (
    SMALL,
    console_for,
    create_monitor,
    open_incident,
    table_text,
    until,
)


async def test_help_closes_on_escape_back_to_the_view_it_was_opened_from(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.alice, "queue backlog")
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: "queue backlog" in table_text(pilot))
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, IncidentsScreen))


async def test_the_command_prompt_lists_every_view(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: isinstance(app.screen, IncidentsScreen))
        await pilot.press("colon")
        prompt = app.screen.query_one(Prompt)
        listed = re.findall(r"[a-z]+", prompt.placeholder)
        for word in (
            "dash",
            "inc",
            "mon",
            "audit",
            "res",
            "cost",
            "bud",
            "notif",
            "chan",
            "help",
            "org",
            "q",
        ):
            assert word in listed
        # The hint's words are commands; `(tab completes)` follows them.
        hinted = listed[: len(COMMAND_HINT.split())]
        assert all(parse_command(word).verb != "unknown" for word in hinted)
        assert prompt.content_size.width >= len(prompt.placeholder)


async def test_tab_completes_a_command_in_the_prompt(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: isinstance(app.screen, IncidentsScreen))
        await pilot.press("colon", "b", "u")
        prompt = app.screen.query_one(Prompt)
        await pilot.pause(0.1)  # the suggestion is looked up in a worker
        await pilot.press("tab")
        assert prompt.value == "budgets"
        await pilot.press("enter")
        await until(pilot, lambda: app.current_mode == "budgets")


async def test_the_footer_fits_80_columns_and_keeps_help_on_every_view(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=SMALL) as pilot:
        for number in "123456789":
            await pilot.press(number)
            await until(pilot, lambda: app.screen.query_one(KeyFooter).size.width == 80)
            await pilot.pause()
            line = app.screen.query_one(KeyFooter).render().plain
            assert len(line) <= 80
            assert "? Help" in line
            if app.current_mode == "monitors":
                assert "o Org" in line


async def test_relative_times_move_on_without_asking_the_server(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`opened 0s` stays so no more: the view draws its times again from what it holds."""
    await open_incident(client, world.alice, "queue backlog")
    later = [timedelta(0)]
    app = console_for(
        client, world.alice, view="incidents", clock=lambda: datetime.now(UTC) + later[0]
    )
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: "queue backlog" in table_text(pilot))
        reads: list[object] = []
        monkeypatch.setattr(Incidents, "list", lambda *args, **kwargs: reads.append(args))
        monkeypatch.setattr(Incidents, "get", lambda *args, **kwargs: reads.append(args))
        later[0] = timedelta(minutes=5)
        await until(pilot, lambda: table_text(pilot).endswith(" 5m"))
        assert reads == []


async def test_monitors_at_80_columns_show_their_type_whole_and_their_target_host(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await create_monitor(client, world.alice, "checkout api", "https://shop.example.com/api/health")
    app = console_for(client, world.alice, view="monitors")
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: "checkout api" in table_text(pilot))
        table = app.screen.query_one(ResourceTable)
        await until(pilot, lambda: "TARGET" in table.shown_headers)
        row = table.render_line(1).text
        assert " http " in row and " shop.example.com " in row
        assert len(table.render_line(1).text.rstrip()) <= 78


async def test_an_incident_detail_says_how_long_ago_it_opened_as_time_goes_on(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    await open_incident(client, world.alice, "queue backlog")
    later = [timedelta(0)]
    app = console_for(
        client, world.alice, view="incidents", clock=lambda: datetime.now(UTC) + later[0]
    )
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: "queue backlog" in table_text(pilot))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, IncidentDetailScreen))
        summary = app.screen.query_one("#incident-summary", Static)
        await until(pilot, lambda: "opened" in str(summary.render()))
        later[0] = timedelta(minutes=5)
        await until(pilot, lambda: "opened 5m ago" in str(summary.render()))
