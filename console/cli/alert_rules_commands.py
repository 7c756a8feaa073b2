"""`upmetr alert-rules`: the severity and channels of the incidents monitors and budgets
open (the most severe covering rule decides; see docs/notifications.md)."""

from __future__ import annotations

from typing import Any

import click

from console.cli.cloud_format import clip
from console.cli.output import json_option, page_options, print_page, print_result
from console.cli.session import open_client, reports_errors
from console.cli.switches import switches_and_rm
from shared.api.alert_rules import RULE_TRIGGERS, AlertRuleRead
from shared.api.incidents import Severity

TRIGGERS = click.Choice([trigger.value for trigger in RULE_TRIGGERS])
SEVERITIES = click.Choice([severity.value for severity in Severity])


def _scope(rule: AlertRuleRead) -> str:
    parts = [f"#{each}" for each in rule.scope.monitor_ids]
    parts += [f"tag:{tag}" for tag in rule.scope.tags]
    return ",".join(parts) or "all"


_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda r: r.id),
    ("name", lambda r: clip(r.name, 24)),
    ("enabled", lambda r: r.enabled),
    ("trigger", lambda r: r.trigger_type.value),
    ("severity", lambda r: r.severity.value),
    ("scope", _scope),
    ("channels", lambda r: ",".join(map(str, r.channel_ids)) or "-"),
    ("cooldown", lambda r: f"{r.cooldown_minutes} min" if r.cooldown_minutes else "-"),
]


@click.group("alert-rules")
def alert_rules() -> None:
    """Alert rules: the severity and channels of monitor and budget incidents."""


@alert_rules.command("list")
@page_options
@json_option
@reports_errors
def alert_rules_list(page: int, per_page: int, as_json: bool) -> None:
    """The organization's alert rules, by name."""
    with open_client() as api:
        result = api.alert_rules.list(page=page, per_page=per_page)
    print_result(result, as_json, lambda: print_page(result, _COLUMNS))


@alert_rules.command("add")
@click.option("--name", required=True)
@click.option("--trigger", "trigger_type", type=TRIGGERS, required=True)
@click.option("--severity", type=SEVERITIES, help="The incident's severity (default critical).")
@click.option("--monitor", "monitor_ids", type=int, multiple=True, help="Only this monitor.")
@click.option("--tag", "tags", multiple=True, help="Only monitors with this tag.")
@click.option("--channel", "channel_ids", type=int, multiple=True, help="Also tell this channel.")
@click.option("--cooldown", type=click.IntRange(0, 10080), metavar="MINUTES")
@json_option
@reports_errors
def alert_rules_add(
    name: str,
    trigger_type: str,
    severity: str | None,
    monitor_ids: tuple[int, ...],
    tags: tuple[str, ...],
    channel_ids: tuple[int, ...],
    cooldown: int | None,
    as_json: bool,
) -> None:
    """Add a rule: a TRIGGER incident of the monitors it covers (all, or each --monitor
    and those with a --tag) opens with --severity and is told to each --channel."""
    scope = {"monitor_ids": list(monitor_ids), "tags": list(tags)}
    with open_client() as api:
        rule = api.alert_rules.create(
            name=name, trigger_type=trigger_type, severity=severity, scope=scope,
            channel_ids=channel_ids, cooldown_minutes=cooldown,
        )  # fmt: skip
    print_result(rule, as_json, lambda: click.echo(f"Alert rule {rule.id} added: {rule.name}."))


switches_and_rm(
    alert_rules, "Alert rule", "alert_rules", on="Switch a rule on.", off="Switch a rule off."
)
