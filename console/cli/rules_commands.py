"""`upmetr rules`: routing rules, which events go to which channels, and escalation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from console.cli.cloud_format import clip
from console.cli.output import json_option, page_options, print_page, print_result
from console.cli.session import open_client, reports_errors
from console.cli.switches import switches_and_rm
from shared.api.incidents import Severity
from shared.api.notifications import RuleRead

SEVERITIES = click.Choice([severity.value for severity in Severity])

_RULE_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda r: r.id),
    ("name", lambda r: clip(r.name, 24)),
    ("enabled", lambda r: r.enabled),
    ("events", lambda r: ",".join(r.events)),
    ("min severity", lambda r: r.min_severity.value),
    ("channels", lambda r: ",".join(map(str, r.channel_ids))),
    ("escalation", lambda r: _escalation(r)),
]


def _escalation(rule: RuleRead) -> str | None:
    if rule.escalate_after_minutes is None:
        return None
    to = ",".join(map(str, rule.escalation_channel_ids)) or "-"
    return f"after {rule.escalate_after_minutes} min to {to}"


def _split(values: Sequence[str]) -> list[str]:
    """`--events a,b --events c` -> [a, b, c]."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@click.group()
def rules() -> None:
    """Routing rules: which events go to which channels, and escalation."""


@rules.command("list")
@page_options
@json_option
@reports_errors
def rules_list(page: int, per_page: int, as_json: bool) -> None:
    """The organization's routing rules, by name."""
    with open_client() as api:
        result = api.notification_rules.list(page=page, per_page=per_page)
    print_result(result, as_json, lambda: print_page(result, _RULE_COLUMNS))


@rules.command("add")
@click.option("--name", required=True)
@click.option(
    "--events", required=True, multiple=True, help="incident.opened,incident.resolved,budget.*"
)
@click.option("--channel", "channel_ids", type=int, multiple=True, required=True)
@click.option("--min-severity", type=SEVERITIES, help="Only events this severe or more.")
@click.option("--escalate-after", type=click.IntRange(1, 10080), metavar="MINUTES")
@click.option("--escalate-to", "escalation_channel_ids", type=int, multiple=True)
@json_option
@reports_errors
def rules_add(
    name: str,
    events: tuple[str, ...],
    channel_ids: tuple[int, ...],
    min_severity: str | None,
    escalate_after: int | None,
    escalation_channel_ids: tuple[int, ...],
    as_json: bool,
) -> None:
    """Add a rule: EVENTS go to each --channel; an incident nobody acknowledged within
    --escalate-after minutes goes to each --escalate-to channel too."""
    if escalation_channel_ids and escalate_after is None:
        raise click.UsageError("--escalate-to needs --escalate-after")
    with open_client() as api:
        rule = api.notification_rules.create(
            name=name,
            events=_split(events),
            channel_ids=channel_ids,
            min_severity=min_severity,
            escalate_after_minutes=escalate_after,
            escalation_channel_ids=escalation_channel_ids or None,
        )
    print_result(rule, as_json, lambda: click.echo(f"Rule {rule.id} added: {rule.name}."))


switches_and_rm(
    rules, "Rule", "notification_rules", on="Switch a rule on.", off="Switch a rule off."
)
