"""The billing view against the real server, driven by key presses: the plan and its usage
against every limit, the payment keys saying the server has billing off, and a viewer who
may only read."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from textual.pilot import Pilot
from textual.widgets import Static

from console.screens.billing import BillingScreen
from console.widgets.plan_usage import PlanUsage, figures, verdict
from shared.api.billing import Limit, UsageLine
from tests.conftest import World
from tests.console.console_harness import SMALL, console_for, create_monitor, table_text, until
from tests.server.api_calls import call
from tests.server.test_admin import platform_admin

Client = TestClient  # type: ignore[type-arg]
PAYMENT_KEYS = {"Checkout", "Portal", "Cancel plan", "Resume"}
# limit, used, allowed -> figures, word
USAGE_CASES = [
    (Limit.monitors, 7, 10, "7/10", ""),
    (Limit.monitors, 8, 10, "8/10", "near limit"),
    (Limit.monitors, 10, 10, "10/10", "at limit"),
    (Limit.monitors, 12, 10, "12/10", "over limit"),
    (Limit.users, 40, None, "40/unlimited", ""),
    (Limit.agents, 0, 0, "0/0", "at limit"),
    (Limit.min_check_interval_seconds, 60, 300, "60s/min 300s", "below minimum"),
    (Limit.min_check_interval_seconds, 600, 300, "600s/min 300s", ""),
    (Limit.min_check_interval_seconds, None, 300, "-/min 300s", ""),
    (Limit.history_days, None, 30, "30 days", ""),
    (Limit.history_days, None, None, "unlimited", ""),
]


@pytest.mark.parametrize(("limit", "used", "allowed", "shown", "word"), USAGE_CASES)
def test_each_limit_reads_as_figures_and_a_word(
    limit: Limit, used: int | None, allowed: int | None, shown: str, word: str
) -> None:
    line = UsageLine(limit=limit, used=used, allowed=allowed)
    assert (figures(line), verdict(line)[0]) == (shown, word)


def plan_text(pilot: Pilot[None]) -> str:
    return str(pilot.app.screen.query_one("#billing-plan", Static).render())


def usage_text(pilot: Pilot[None]) -> str:
    return str(pilot.app.screen.query_one(PlanUsage).render())


def notices(pilot: Pilot[None]) -> str:
    return "\n".join(str(n.message) for n in pilot.app._notifications)


def shown_keys(pilot: Pilot[None]) -> set[str]:
    return {b.binding.description for b in pilot.app.screen.active_bindings.values()}


async def test_colon_billing_shows_the_plan_and_the_payment_keys_say_billing_is_off(
    client: Client, world: World
) -> None:
    app = console_for(client, world.alice, view="incidents")
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: app.me is not None)
        await pilot.press("colon", *"billing", "enter")
        await until(pilot, lambda: isinstance(app.screen, BillingScreen))
        await until(pilot, lambda: "Enterprise" in plan_text(pilot))
        assert "none" in plan_text(pilot)
        assert "Billing is off on this server" in plan_text(pilot)
        await until(pilot, lambda: "unlimited" in usage_text(pilot))
        assert shown_keys(pilot) >= PAYMENT_KEYS

        for key in ("c", "p", "x", "r"):  # each asks the server, which says why not
            app.clear_notifications()
            await pilot.press(key)
            await until(pilot, lambda: "Billing is off on this server" in notices(pilot))
            assert isinstance(app.screen, BillingScreen)  # no question, no dialog

        await pilot.press("question_mark")  # help lists the view's keys and its command
        await until(pilot, lambda: "billing c billing.checkout" in table_text(pilot))
        assert ":billing  open billing (or :bill" in table_text(pilot)


async def test_usage_shows_every_limit_with_a_word_near_and_at_it(
    client: Client, world: World, password_hash: str
) -> None:
    for number in range(9):
        await create_monitor(client, world.alice, f"site {number}", interval_seconds=300)
    dave = await platform_admin(client, password_hash)
    status, _ = await call(client, dave, "PATCH", f"/admin/organizations/{world.org_a}",
                           {"plan": "free"})  # fmt: skip
    assert status == 200
    app = console_for(client, world.alice, view="billing")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "Free" in plan_text(pilot))
        await until(pilot, lambda: "9/10" in usage_text(pilot))
        lines = {line.split("  ")[0]: line for line in usage_text(pilot).splitlines()}
        assert "9/10" in lines["monitors"] and "near limit" in lines["monitors"]
        assert "2/3" in lines["users"] and "limit" not in lines["users"].split("2/3")[1]
        assert "300s/min 300s" in lines["check interval"]
        assert "30 days" in lines["history"]
        assert set(lines) == {"users", "monitors", "cloud accounts", "agents", "status pages",
                              "check interval", "history"}  # fmt: skip

        # A monitor added elsewhere reads the usage again: the limit is reached.
        await until(pilot, lambda: app.connection == "live")  # its event is not missed
        await create_monitor(client, world.alice, "site 9", interval_seconds=300)
        await until(pilot, lambda: "10/10" in usage_text(pilot))
        assert "at limit" in usage_text(pilot)


async def test_a_viewer_reads_billing_without_the_payment_keys(
    client: Client, world: World
) -> None:
    app = console_for(client, world.bob, view="billing")
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: "Enterprise" in plan_text(pilot) and app.me is not None)
        assert not PAYMENT_KEYS & shown_keys(pilot)
        await pilot.press("c", "p", "x", "r")
        await pilot.pause(0.2)
        assert isinstance(app.screen, BillingScreen)
        assert "Billing is off" not in notices(pilot)  # nothing was asked of the server
