"""`upmetr budgets list|show|add|update|remove|status`: spending limits and how they go."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click

from console.cli.cloud_format import ACCOUNT, account_id_of, clip, money, pct
from console.cli.output import (
    json_option,
    page_options,
    print_fields,
    print_page,
    print_result,
    print_table,
)
from console.cli.session import open_client, reports_errors
from shared.api.budgets import BudgetPeriod, BudgetRead, BudgetStatus
from shared.client.costs import UNSET

PERIODS = click.Choice([period.value for period in BudgetPeriod])


def _scope(budget: BudgetRead) -> str:
    parts = []
    if budget.account_id is not None:
        parts.append(f"account {budget.account_id}")
    if budget.service is not None:
        parts.append(budget.service)
    return ", ".join(parts) or "all"


_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda b: b.id),
    ("name", lambda b: clip(b.name, 24)),
    ("amount", lambda b: money(b.amount, b.currency)),
    ("period", lambda b: b.period.value),
    ("alert at", lambda b: f"{b.alert_threshold_pct}%"),
    ("scope", lambda b: clip(_scope(b), 24)),
]

_STATUS_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda s: s.budget_id),
    ("name", lambda s: clip(s.name, 20)),
    ("spent", lambda s: money(s.spent, s.currency)),
    ("limit", lambda s: money(s.amount, s.currency)),
    ("used", lambda s: pct(s.pct_used)),
    ("projected", lambda s: money(s.projected_total, s.currency)),
    ("state", lambda s: s.state.value),
]


def _print_status(status: BudgetStatus) -> None:
    currency = status.currency
    print_fields(
        [
            ("period", f"{status.period_start} to {status.period_end}"),
            ("spent", money(status.spent, currency)),
            ("remaining", money(status.remaining, currency)),
            ("used", pct(status.pct_used)),
            ("burn rate", f"{money(status.burn_rate_per_day, currency)}/day"),
            ("projected", money(status.projected_total, currency)),
            ("overage", money(status.projected_overage, currency)),
            ("state", status.state.value),
        ]
    )


@click.group()
def budgets() -> None:
    """Budgets: a spending limit per period, with alerts as it is approached and passed."""


@budgets.command("list")
@page_options
@json_option
@reports_errors
def budgets_list(page: int, per_page: int, as_json: bool) -> None:
    """The organization's budgets."""
    with open_client() as api:
        result = api.budgets.list(page=page, per_page=per_page)
    print_result(result, as_json, lambda: print_page(result, _COLUMNS))


@budgets.command("show")
@click.argument("budget_id", type=int)
@json_option
@reports_errors
def budgets_show(budget_id: int, as_json: bool) -> None:
    """One budget and how its current period is going."""
    with open_client() as api:
        budget = api.budgets.get(budget_id)
        status = api.budgets.status(budget_id)

    def human() -> None:
        print_fields(
            [
                ("id", budget.id),
                ("name", budget.name),
                ("amount", money(budget.amount, budget.currency)),
                ("period", budget.period.value),
                ("alert at", f"{budget.alert_threshold_pct}%"),
                ("scope", _scope(budget)),
            ]
        )
        click.echo()
        _print_status(status)

    print_result({"budget": budget, "status": status}, as_json, human)


@budgets.command("add")
@click.option("--name", required=True)
@click.option("--amount", type=Decimal, required=True, help="The limit, e.g. 1500.00 (USD).")
@click.option("--period", type=PERIODS, default="monthly", show_default=True)
@click.option(
    "--alert-pct",
    "alert_threshold_pct",
    type=click.IntRange(1, 100),
    default=80,
    show_default=True,
    help="Warn when this share of the limit is spent.",
)
@click.option("--account", type=ACCOUNT, help="Only this cloud account (id or name).")
@click.option("--service", help="Only this service (as in `upmetr costs by-service`).")
@json_option
@reports_errors
def budgets_add(
    name: str,
    amount: Decimal,
    period: str,
    alert_threshold_pct: int,
    account: int | str | None,
    service: str | None,
    as_json: bool,
) -> None:
    """Add a budget (every account and service unless --account or --service)."""
    with open_client() as api:
        budget = api.budgets.create(
            name=name,
            amount=amount,
            period=period,
            alert_threshold_pct=alert_threshold_pct,
            account_id=account_id_of(api, account),
            service=service,
        )
    print_result(
        budget,
        as_json,
        lambda: click.echo(
            f"Budget {budget.id} added: {budget.name}, {money(budget.amount)} {budget.period}."
        ),
    )


@budgets.command("update")
@click.argument("budget_id", type=int)
@click.option("--name")
@click.option("--amount", type=Decimal, help="The new limit.")
@click.option("--period", type=PERIODS)
@click.option("--alert-pct", "alert_threshold_pct", type=click.IntRange(1, 100))
@click.option("--account", type=ACCOUNT, help="Only this cloud account (id or name).")
@click.option("--all-accounts", is_flag=True, help="Cover every account again.")
@click.option("--service", help="Only this service.")
@click.option("--all-services", is_flag=True, help="Cover every service again.")
@json_option
@reports_errors
def budgets_update(
    budget_id: int,
    name: str | None,
    amount: Decimal | None,
    period: str | None,
    alert_threshold_pct: int | None,
    account: int | str | None,
    all_accounts: bool,
    service: str | None,
    all_services: bool,
    as_json: bool,
) -> None:
    """Change what is given."""
    if account is not None and all_accounts:
        raise click.UsageError("--account and --all-accounts contradict each other")
    if service is not None and all_services:
        raise click.UsageError("--service and --all-services contradict each other")
    with open_client() as api:
        budget = api.budgets.update(
            budget_id,
            name=name,
            amount=amount,
            period=period,
            alert_threshold_pct=alert_threshold_pct,
            account_id=None if all_accounts else (account_id_of(api, account) or UNSET),
            service=None if all_services else (UNSET if service is None else service),
        )
    print_result(budget, as_json, lambda: print_table([budget], _COLUMNS))


@budgets.command("remove")
@click.argument("budget_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@reports_errors
def budgets_remove(budget_id: int, yes: bool) -> None:
    """Remove a budget."""
    if not yes:
        click.confirm(f"Remove budget {budget_id}?", abort=True, err=True)
    with open_client() as api:
        api.budgets.delete(budget_id)
    click.echo(f"Budget {budget_id} removed.")


@budgets.command("status")
@click.argument("budget_id", type=int, required=False)
@json_option
@reports_errors
def budgets_status(budget_id: int | None, as_json: bool) -> None:
    """How every budget's period is going (or one budget's, in detail)."""
    with open_client() as api:
        if budget_id is not None:
            one = api.budgets.status(budget_id)

            def human() -> None:
                click.echo(f"{one.name} ({one.budget_id})")
                _print_status(one)

            print_result(one, as_json, human)
            return
        statuses = api.budgets.status_all()
    print_result(statuses, as_json, lambda: print_table(statuses, _STATUS_COLUMNS))
