"""`upmetr monitors ...`: list, show, create, update, delete, pause, resume, check-now, uptime."""

from __future__ import annotations

from typing import Any

import click

from console.cli.output import json_option, print_fields, print_result, print_table
from console.cli.session import open_client, reports_errors
from shared.api.monitors import DnsRecordType, HttpMethod, MonitorRead, MonitorStatus, MonitorType

TYPES = click.Choice([kind.value for kind in MonitorType])
STATUSES = click.Choice([status.value for status in MonitorStatus])
METHODS = click.Choice([method.value for method in HttpMethod], case_sensitive=False)
RECORDS = click.Choice([record.value for record in DnsRecordType], case_sensitive=False)


def _pct(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}%"


def _parse_headers(values: tuple[str, ...]) -> list[dict[str, str]] | None:
    if not values:
        return None
    headers = []
    for text in values:
        name, sep, value = text.partition(":")
        if not sep or not name.strip():
            raise click.BadParameter(f"{text!r} is not 'Name: value'", param_hint="--header")
        headers.append({"name": name.strip(), "value": value.strip()})
    return headers


def _settings_options(command: Any) -> Any:
    """The options create and update share (all optional; update sends only those given)."""
    options = [
        click.option("--url", help="http, keyword, json: the URL to request."),
        click.option("--host", help="tcp, dns: host name or IP."),
        click.option("--port", type=int, help="tcp: port."),
        click.option("--method", type=METHODS, help="HTTP method."),
        click.option("--header", "headers", multiple=True, help="'Name: value' (repeatable)."),
        click.option("--body", help="Request body."),
        click.option("--expected-status", type=int, help="Expected HTTP status (200)."),
        click.option("--keyword", help="keyword: text to look for in the body."),
        click.option("--keyword-absent", is_flag=True, default=None, help="Up when absent."),
        click.option("--json-path", help="json: path to read, e.g. $.status."),
        click.option("--expected-value", help="json: value expected at the path."),
        click.option("--record-type", "dns_record_type", type=RECORDS, help="dns: record type."),
        click.option("--dns-expected", help="dns: expected answer."),
        click.option("--resolver", "dns_resolver", help="dns: resolver IP."),
        click.option("--interval", "interval_seconds", type=int, help="Seconds between checks."),
        click.option("--timeout", "timeout_seconds", type=int, help="Seconds per attempt."),
        click.option("--failure-threshold", type=int, help="Down checks before an incident."),
        click.option("--recovery-threshold", type=int, help="Up checks before recovery."),
        click.option("--degraded-ms", "degraded_threshold_ms", type=int, help="Slow above."),
        click.option("--ssl-expiry-days", type=int, help="Warn this many days before expiry."),
        click.option("--grace", "heartbeat_grace_seconds", type=int, help="heartbeat: grace."),
        click.option("--tag", "tags", multiple=True, help="Tag (repeatable)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _settings(options: dict[str, Any]) -> dict[str, Any]:
    options = dict(options)
    options["headers"] = _parse_headers(options.pop("headers", ()))
    options["tags"] = list(options["tags"]) or None
    if options.pop("keyword_absent", None):
        options["keyword_present"] = False
    if options.get("method"):
        options["method"] = options["method"].upper()
    if options.get("dns_record_type"):
        options["dns_record_type"] = options["dns_record_type"].upper()
    return {key: value for key, value in options.items() if value is not None}


def _show(monitor: MonitorRead) -> None:
    target = monitor.url or (f"{monitor.host}:{monitor.port}" if monitor.port else monitor.host)
    pairs: list[tuple[str, Any]] = [
        ("id", monitor.id),
        ("name", monitor.name),
        ("type", monitor.type.value),
        ("target", target or monitor.heartbeat_url),
        ("status", monitor.status.value),
        ("interval", f"{monitor.interval_seconds}s"),
        ("last check", monitor.last_checked_at),
        ("response", f"{monitor.last_response_ms} ms" if monitor.last_response_ms else None),
        ("uptime 24h", _pct(monitor.uptime_24h)),
        ("uptime 7d", _pct(monitor.uptime_7d)),
        ("uptime 30d", _pct(monitor.uptime_30d)),
        ("ssl expires", monitor.ssl_expires_at),
        ("tags", ", ".join(monitor.tags) or None),
    ]
    if monitor.heartbeat_url:
        pairs.append(("ping url", monitor.heartbeat_url))
        pairs.append(("last ping", monitor.last_ping_at))
    print_fields(pairs)


@click.group()
def monitors() -> None:
    """Uptime monitors."""


@monitors.command("list")
@click.option("--type", "type_", type=TYPES, help="Only this type.")
@click.option("--status", type=STATUSES, help="Only this status.")
@click.option("--tag", help="Only monitors with this tag.")
@click.option("-q", "--query", "q", help="Matches name, URL or host.")
@click.option("--page", type=int, default=1, show_default=True)
@click.option("--per-page", type=int, default=50, show_default=True)
@json_option
@reports_errors
def list_monitors(
    type_: str | None,
    status: str | None,
    tag: str | None,
    q: str | None,
    page: int,
    per_page: int,
    as_json: bool,
) -> None:
    """Monitors with their status and 24 h uptime."""
    with open_client() as api:
        result = api.monitors.list(
            page=page, per_page=per_page, type=type_, status=status, tag=tag, q=q
        )

    def human() -> None:
        print_table(
            result.items,
            [
                ("id", lambda m: m.id),
                ("name", lambda m: m.name),
                ("type", lambda m: m.type.value),
                ("status", lambda m: m.status.value),
                ("uptime 24h", lambda m: _pct(m.uptime_24h)),
                ("target", lambda m: m.url or m.host),
            ],
        )
        if result.total > len(result.items):
            click.echo(f"({len(result.items)} of {result.total}; see --page)")

    print_result(result, as_json, human)


@monitors.command()
@click.argument("monitor_id", type=int)
@json_option
@reports_errors
def show(monitor_id: int, as_json: bool) -> None:
    """One monitor: status, last check, uptime, SSL expiry."""
    with open_client() as api:
        monitor = api.monitors.get(monitor_id)
    print_result(monitor, as_json, lambda: _show(monitor))


@monitors.command()
@click.option("--name", required=True, help="Monitor name.")
@click.option("--type", "type_", type=TYPES, required=True, help="What to check.")
@_settings_options
@click.option("--paused", is_flag=True, help="Create it paused.")
@json_option
@reports_errors
def create(name: str, type_: str, paused: bool, as_json: bool, **options: Any) -> None:
    """Create a monitor (checked at once unless --paused)."""
    settings = _settings(options)
    if paused:
        settings["paused"] = True
    with open_client() as api:
        monitor = api.monitors.create(name=name, type=type_, **settings)

    def human() -> None:
        click.echo(f"Created monitor {monitor.id} ({monitor.type.value}).")
        if monitor.heartbeat_url:
            click.echo(f"Ping URL: {monitor.heartbeat_url}")

    print_result(monitor, as_json, human)


@monitors.command()
@click.argument("monitor_id", type=int)
@click.option("--name", help="New name.")
@_settings_options
@json_option
@reports_errors
def update(monitor_id: int, name: str | None, as_json: bool, **options: Any) -> None:
    """Change the options given; the others stay as they are."""
    changes = _settings(options)
    if name is not None:
        changes["name"] = name
    if not changes:
        raise click.UsageError("nothing to change: give at least one option")
    with open_client() as api:
        monitor = api.monitors.update(monitor_id, **changes)
    print_result(monitor, as_json, lambda: click.echo(f"Updated monitor {monitor.id}."))


@monitors.command()
@click.argument("monitor_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@reports_errors
def delete(monitor_id: int, yes: bool) -> None:
    """Delete a monitor with its history."""
    if not yes:
        click.confirm(f"Delete monitor {monitor_id} and its history?", abort=True)
    with open_client() as api:
        api.monitors.delete(monitor_id)
    click.echo(f"Deleted monitor {monitor_id}.")


@monitors.command()
@click.argument("monitor_id", type=int)
@json_option
@reports_errors
def pause(monitor_id: int, as_json: bool) -> None:
    """Stop checking a monitor."""
    with open_client() as api:
        monitor = api.monitors.pause(monitor_id)
    print_result(monitor, as_json, lambda: click.echo(f"Paused monitor {monitor.id}."))


@monitors.command()
@click.argument("monitor_id", type=int)
@json_option
@reports_errors
def resume(monitor_id: int, as_json: bool) -> None:
    """Check a paused monitor again (at once)."""
    with open_client() as api:
        monitor = api.monitors.resume(monitor_id)
    print_result(monitor, as_json, lambda: click.echo(f"Resumed monitor {monitor.id}."))


@monitors.command("check-now")
@click.argument("monitor_id", type=int)
@json_option
@reports_errors
def check_now(monitor_id: int, as_json: bool) -> None:
    """Run one check now and show its result (it counts like a scheduled one)."""
    with open_client() as api:
        result = api.monitors.check_now(monitor_id)

    def human() -> None:
        timing = "" if result.response_time_ms is None else f" in {result.response_time_ms} ms"
        code = "" if result.status_code is None else f" (HTTP {result.status_code})"
        click.echo(
            f"{result.status.value}{code}{timing}" + (f": {result.error}" if result.error else "")
        )

    print_result(result, as_json, human)


@monitors.command()
@click.argument("monitor_id", type=int)
@click.option("--days", type=click.IntRange(1, 400), default=30, show_default=True)
@json_option
@reports_errors
def uptime(monitor_id: int, days: int, as_json: bool) -> None:
    """Uptime per day (UTC), from the daily rollups."""
    with open_client() as api:
        result = api.monitors.uptime_daily(monitor_id, days=days)
    print_result(
        result,
        as_json,
        lambda: print_table(
            result,
            [
                ("date", lambda d: d.date),
                ("uptime", lambda d: _pct(d.uptime_pct)),
                ("checks", lambda d: d.checks),
                ("failures", lambda d: d.failures),
                ("downtime s", lambda d: d.downtime_seconds),
                ("avg ms", lambda d: d.avg_response_ms),
            ],
        ),
    )
