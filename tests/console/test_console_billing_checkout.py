"""The billing view's payment keys on a server with billing on (localstripe behind a
Stripe-shaped front on 127.0.0.1): `c` asks the plan and interval and shows the checkout
URL to open; `p` before any checkout shows the server's reason."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from textual.pilot import Pilot
from textual.widgets import Static

from console.screens.billing import BillingScreen, UrlScreen
from console.screens.text_entry import TextEntryScreen
from server.config import Settings
from tests.conftest import World
from tests.console.console_harness import SMALL, console_for, until
from tests.server.stripe_world import PRICES, SECRET_KEY, WEBHOOK_SECRET, StripeWorld

Client = TestClient  # type: ignore[type-arg]


@pytest.fixture
def settings(settings: Settings, stripe_world: StripeWorld) -> Settings:
    return settings.model_copy(
        update={
            "stripe_secret_key": SECRET_KEY,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_api_base": stripe_world.url,
            "stripe_prices": PRICES,
        }
    )


def notices(pilot: Pilot[None]) -> str:
    return "\n".join(str(n.message) for n in pilot.app._notifications)


async def test_c_asks_the_plan_and_interval_then_shows_the_checkout_url(
    client: Client, world: World
) -> None:
    app = console_for(client, world.alice, view="billing")
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: app.me is not None and isinstance(app.screen, BillingScreen))
        plan = app.screen.query_one("#billing-plan", Static)
        await until(pilot, lambda: "Period ends" in str(plan.render()))  # billing is on

        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, TextEntryScreen))
        await pilot.press(*"pro", "enter")
        await until(pilot, lambda: "month or year" in str(app.screen.query_one(Static).render()))
        await pilot.press(*"month", "enter")
        await until(pilot, lambda: isinstance(app.screen, UrlScreen), timeout=10)
        shown = app.screen
        assert isinstance(shown, UrlScreen) and shown.url.startswith("http")
        assert shown.url in str(shown.query_one("#url", Static).render())
        await pilot.press("c")  # copies the URL to the terminal's clipboard
        await until(pilot, lambda: "Copied" in notices(pilot))
        assert app.clipboard == shown.url
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, BillingScreen))


async def test_p_before_any_checkout_shows_the_servers_reason(client: Client, world: World) -> None:
    app = console_for(client, world.alice, view="billing")
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: app.me is not None and isinstance(app.screen, BillingScreen))
        await pilot.press("p")
        await until(pilot, lambda: "subscribe first" in notices(pilot), timeout=10)
        assert isinstance(app.screen, BillingScreen)
