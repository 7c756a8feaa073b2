"""`upmetr costs summary|by-service|by-account|daily|forecast|sync|syncs`.

Amounts print rounded to cents; `--json` keeps the server's exact decimal strings.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from console.cli.cloud_format import (
    account_id_of,
    account_option,
    clip,
    follow_job,
    money,
    pct,
    sparkline,
    timeout_option,
    wait_option,
    when,
)
from console.cli.output import (
    json_option,
    options,
    print_fields,
    print_result,
    print_table,
)
from console.cli.session import open_client, reports_errors
from shared.api.costs import GroupBy

_range_options = options(
    click.option(
        "--start",
        type=click.DateTime(["%Y-%m-%d"]),
        metavar="YYYY-MM-DD",
        help="First day (default: the 1st of this month).",
    ),
    click.option(
        "--end",
        type=click.DateTime(["%Y-%m-%d"]),
        metavar="YYYY-MM-DD",
        help="Last day, inclusive (default: today).",
    ),
)

# What the by-service and by-account tables end with: a row's cost over the range.
_SHARE_COLUMNS: list[tuple[str, Any]] = [
    ("amount", lambda r: money(r.amount)),
    ("share", lambda r: pct(r.share_pct)),
    ("change", lambda r: pct(r.change_pct, signed=True) or "new"),
]


def _day(value: Any) -> date | None:
    return None if value is None else value.date()


@click.group()
def costs() -> None:
    """Cloud costs: month to date, breakdowns, forecast, and the sync with the provider."""


@costs.command("summary")
@account_option
@json_option
@reports_errors
def costs_summary(account: int | str | None, as_json: bool) -> None:
    """This month so far, last month, the month-end forecast and the daily average."""
    with open_client() as api:
        summary = api.costs.summary(account_id=account_id_of(api, account))

    def human() -> None:
        currency = summary.currency
        print_fields(
            [
                ("this month", money(summary.current_month, currency)),
                ("last month", money(summary.previous_month, currency)),
                (
                    "month-end forecast",
                    money(summary.forecast_month_end, currency) or "not enough data",
                ),
                ("daily average", money(summary.daily_average, currency) or "no complete day yet"),
                ("last synced", when(summary.last_synced_at) or "never"),
            ]
        )

    print_result(summary, as_json, human)


@costs.command("by-service")
@_range_options
@account_option
@json_option
@reports_errors
def costs_by_service(start: Any, end: Any, account: int | str | None, as_json: bool) -> None:
    """Cost per service over the range, largest first, with the change vs the range before."""
    with open_client() as api:
        rows = api.costs.by_service(
            start=_day(start), end=_day(end), account_id=account_id_of(api, account)
        )
    print_result(
        rows,
        as_json,
        lambda: print_table(rows, [("service", lambda r: clip(r.service, 40)), *_SHARE_COLUMNS]),
    )


@costs.command("by-account")
@_range_options
@json_option
@reports_errors
def costs_by_account(start: Any, end: Any, as_json: bool) -> None:
    """Cost per cloud account over the range, with the change vs the range before."""
    with open_client() as api:
        rows = api.costs.by_account(start=_day(start), end=_day(end))

    def human() -> None:
        account_columns: list[tuple[str, Any]] = [
            ("id", lambda r: r.account_id),
            ("account", lambda r: clip(r.name, 32)),
        ]
        print_table(rows, [*account_columns, *_SHARE_COLUMNS])

    print_result(rows, as_json, human)


@costs.command("daily")
@_range_options
@click.option(
    "--group-by",
    type=click.Choice([g.value for g in GroupBy]),
    default="service",
    show_default=True,
)
@account_option
@json_option
@reports_errors
def costs_daily(
    start: Any, end: Any, group_by: str, account: int | str | None, as_json: bool
) -> None:
    """Daily cost per service (or account), drawn as a sparkline of the range."""
    with open_client() as api:
        daily = api.costs.daily(
            start=_day(start),
            end=_day(end),
            group_by=group_by,
            account_id=account_id_of(api, account),
        )

    def human() -> None:
        if daily.days:
            click.echo(f"{daily.days[0]} to {daily.days[-1]}")
        labels = [clip(series.label, 30) or "" for series in daily.series]
        totals = [money(series.total, daily.currency) or "" for series in daily.series]
        # The sparkline takes what is left of 80 columns: the latest days when the range is long.
        used = max(map(len, labels), default=5) + max(map(len, totals), default=5) + 4
        days = max(10, 80 - used)
        print_table(
            range(len(daily.series)),
            [
                (daily.group_by.value, lambda i: labels[i]),
                ("total", lambda i: totals[i]),
                ("daily", lambda i: sparkline(daily.series[i].amounts[-days:])),
            ],
        )

    print_result(daily, as_json, human)


@costs.command("forecast")
@click.option("--days", type=click.Choice(["30", "90"]), default="30", show_default=True)
@account_option
@click.option("--points/--no-points", default=True, help="List the daily forecast.")
@json_option
@reports_errors
def costs_forecast(days: str, account: int | str | None, points: bool, as_json: bool) -> None:
    """Cost of the coming days, forecast from the synced history with an 80% interval."""
    with open_client() as api:
        forecast = api.costs.forecast(
            30 if days == "30" else 90, account_id=account_id_of(api, account)
        )

    def human() -> None:
        currency = forecast.currency
        lower, upper = money(forecast.total_lower, currency), money(forecast.total_upper, currency)
        if forecast.method == "not_enough_data":
            click.echo(
                f"Not enough data: {forecast.history_days} days of history, at least 7 needed."
            )
            return
        print_fields(
            [
                ("method", forecast.method.replace("_", " ")),
                ("history", f"{forecast.history_days} days"),
                (f"next {days} days", money(forecast.total, currency)),
                (
                    f"{forecast.interval_pct}% interval",
                    f"{lower} to {upper}",
                ),
            ]
        )
        if points:
            click.echo()
            print_table(
                forecast.points,
                [
                    ("date", lambda p: p.date),
                    ("mean", lambda p: money(p.mean, currency)),
                    ("lower", lambda p: money(p.lower, currency)),
                    ("upper", lambda p: money(p.upper, currency)),
                ],
            )

    print_result(forecast, as_json, human)


@costs.command("sync")
@wait_option
@timeout_option
@json_option
@reports_errors
def costs_sync(wait: bool, timeout: float, as_json: bool) -> None:
    """Re-read the previous and current month from the provider (a background job).

    Each Cost Explorer request costs $0.01; `upmetr costs syncs` shows how many a sync made.
    """
    with open_client() as api:
        accepted = api.costs.sync()
        follow_job(api, accepted.job_id, wait=wait, timeout=timeout, as_json=as_json)


@costs.command("syncs")
@json_option
@reports_errors
def costs_syncs(as_json: bool) -> None:
    """The last sync per account: status, rows, provider API calls and what they cost."""
    with open_client() as api:
        rows = api.costs.syncs()
    print_result(
        rows,
        as_json,
        lambda: print_table(
            rows,
            [
                ("account", lambda s: clip(s.account_name, 20)),
                ("status", lambda s: s.status),
                ("days", lambda s: f"{s.start_day:%m-%d}..{s.end_day:%m-%d}"),
                ("rows", lambda s: s.rows),
                ("calls", lambda s: s.api_calls),
                ("api cost", lambda s: money(s.api_cost)),
                ("finished", lambda s: when(s.finished_at)),
            ],
        ),
    )
