"""`upmetr overview`: what is wrong now, in one request (`GET /overview`).

Counts first, then the monitors down or degraded and the unresolved incidents; `--json`
prints the server's answer as it is.
"""

from __future__ import annotations

from typing import Any

import click

from console.cli.cloud_format import clip, money, pct, when
from console.cli.output import json_option, print_fields, print_result, print_table
from console.cli.session import open_client, reports_errors
from shared.api.overview import Overview

_MONITORS: list[tuple[str, Any]] = [
    ("id", lambda m: m.id),
    ("status", lambda m: m.status.value),
    ("name", lambda m: m.name),
    ("checked", lambda m: when(m.last_checked_at)),
    ("last error", lambda m: clip(m.last_error, 60)),
]
_INCIDENTS: list[tuple[str, Any]] = [
    ("id", lambda i: i.id),
    ("status", lambda i: i.status.value),
    ("severity", lambda i: i.severity.value),
    ("opened", lambda i: when(i.opened_at)),
    ("title", lambda i: i.title),
]


def _counts(counts: dict[Any, int]) -> str:
    """`1 down, 9 up`: the statuses that have any, most first."""
    present = sorted(((n, str(k)) for k, n in counts.items() if n), key=lambda c: (-c[0], c[1]))
    return ", ".join(f"{n} {name}" for n, name in present) or "none"


def _summary(found: Overview) -> list[tuple[str, Any]]:
    monitors, incidents, agents = found.monitors, found.incidents, found.agents
    unresolved = incidents.open + incidents.acknowledged
    lines: list[tuple[str, Any]] = [
        ("monitors", f"{monitors.total}: {_counts(dict(monitors.by_status))}"),
        (
            "incidents",
            f"{unresolved} unresolved ({incidents.open} open, {incidents.acknowledged} "
            f"acknowledged): {_counts(dict(incidents.by_severity))}",
        ),
        ("agents", f"{agents.online} online, {agents.offline} offline"),
    ]
    if found.costs is not None:
        costs = found.costs
        forecast = money(costs.forecast_month_end, costs.currency) or "not enough data"
        lines.append(
            (
                "costs",
                f"{money(costs.current_month, costs.currency)} this month, "
                f"{money(costs.previous_month, costs.currency)} last month, "
                f"forecast {forecast}",
            )
        )
    for budget in found.budgets_over_threshold or []:
        spent = money(budget.spent, budget.currency)
        state = f"{budget.state.value}: {pct(budget.pct_used)} ({spent})"
        lines.append((f"budget {budget.name}", state))
    lines.append(("notifications", f"{found.unread_notifications} unread"))
    return lines


@click.command("overview")
@json_option
@reports_errors
def overview(as_json: bool) -> None:
    """What is wrong now: monitors and incidents by status, costs, budgets past their
    threshold, then the monitors down or degraded and the unresolved incidents."""
    with open_client() as api:
        found = api.overview.get(latency_monitors=0)

    def human() -> None:
        print_fields(_summary(found))
        if found.monitors.troubled:
            click.echo("\nDown or degraded")
            print_table(found.monitors.troubled, _MONITORS)
        if found.incidents.newest:
            click.echo("\nUnresolved, newest first")
            print_table(found.incidents.newest, _INCIDENTS)

    print_result(found, as_json, human)
