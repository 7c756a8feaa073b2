"""The console's first minutes at 80x24: leaving help, the prompt's commands, footers and
tables that fit, times that move on without asking the server."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from console.commands import VIEW_ALIASES, parse_command
from console.screens.help import HelpScreen
from console.screens.incidents import IncidentsScreen
from console.widgets.prompt import Prompt
from tests.conftest import World
from tests.console.console_harness import SMALL, console_for, open_incident, table_text, until


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
        for word in ("dash", "inc", "mon", "audit", "res", "cost", "bud", "help", "org", "q"):
            assert word in listed
        assert all(parse_command(word).verb != "unknown" for word in listed[: len(VIEW_ALIASES)])
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
