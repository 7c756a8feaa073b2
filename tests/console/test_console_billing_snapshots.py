"""The billing view as pictures at 80x24 and 160x48, reached by key presses: `:billing`
opens it, `x` asks before cancelling.

Shares the way of test_console_snapshots.py over its fixed world, in which org A is on the
Pro plan here, paid monthly by a subscription to 2026-02-01 that is set to cancel then,
with four invoices. The server has a Stripe key that it never uses (nothing is bought), so
that it says billing is on; the figures are the world's own monitors, members and agents.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from console.local_server import LocalServer
from console.screens.billing import BillingScreen
from console.screens.confirm import ConfirmScreen
from console.widgets.plan_usage import PlanUsage
from tests.console.console_harness import LARGE, SMALL
from tests.console.snapshot_world import prepare, server_settings
from tests.console.test_console_snapshots import (
    INCIDENTS_SHOWN,
    Compare,
    Running,
    console,
    driven,
    live,
    on_screen,
    shows,
)

sizes = pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "160x48"])
# number, status, total in cents, finalised (none for a draft)
INVOICES = (
    (1, "paid", 4900, "2025-11-01 00:00:00.000000"),
    (2, "paid", 4900, "2025-12-01 00:00:00.000000"),
    (3, "open", 5390, "2026-01-01 00:00:00.000000"),
    (None, "draft", 4900, None),
)


@pytest.fixture(scope="module")
def running(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    data_dir = tmp_path_factory.mktemp("billing-snapshots") / "data"
    world = prepare(template_db, data_dir)
    created = "2025-10-01 00:00:00.000000"
    with sqlite3.connect(data_dir / "upmetr.db") as db:
        (pro,) = db.execute("SELECT id FROM plan WHERE code = 'pro'").fetchone()
        db.execute("UPDATE organization SET plan_id = ? WHERE id = ?", (pro, world.org_a))
        db.execute(
            "INSERT INTO subscription (org_id, plan_id, status, interval, current_period_start,"
            " current_period_end, cancel_at_period_end, provider_event_rank, created_at,"
            " updated_at) VALUES (?, ?, 'active', 'month', '2026-01-01 00:00:00.000000',"
            " '2026-02-01 00:00:00.000000', 1, 0, ?, ?)",
            (world.org_a, pro, created, created),
        )
        for number, status, cents, finalized in INVOICES:
            db.execute(
                "INSERT INTO invoice (org_id, number, status, currency, subtotal_cents,"
                " tax_cents, total_cents, amount_paid_cents, finalized_at, created_at)"
                " VALUES (?, ?, ?, 'USD', ?, 0, ?, ?, ?, ?)",
                (world.org_a, number, status, cents, cents,
                 cents if status == "paid" else 0, finalized, finalized or created),
            )  # fmt: skip
    settings = server_settings(data_dir).model_copy(
        update={"stripe_secret_key": "sk_test_unused", "stripe_api_base": "http://127.0.0.1:9"}
    )
    with LocalServer(settings) as server:
        yield Running(server.url, world)


def usage_drawn(pilot: Pilot[None]) -> bool:
    return bool(pilot.app.screen.query_one(PlanUsage).lines)


BILLING_SHOWN = on_screen(BillingScreen, live, shows("draft"), usage_drawn)


@sizes
def test_colon_billing_opens_the_plan_its_usage_and_invoices(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    run = driven(INCIDENTS_SHOWN, (("colon", *"billing", "enter"), BILLING_SHOWN))
    assert snap_compare(console(running, view="incidents"), terminal_size=size, run_before=run)


@sizes
def test_x_asks_before_cancelling_the_subscription(
    snap_compare: Compare, running: Running, size: tuple[int, int]
) -> None:
    run = driven(((), BILLING_SHOWN), (("x",), on_screen(ConfirmScreen)))
    assert snap_compare(console(running, view="billing"), terminal_size=size, run_before=run)
