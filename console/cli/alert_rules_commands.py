"""`upmetr alert-rules`: the severity and channels of the incidents monitors, budgets and
agents open (the most severe covering rule decides; see docs/notifications.md), and metric
rules (`infra_metric`): their per-agent overrides and a backtest over stored metrics."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from console.cli.agents_commands import AGENT, agent_id_of
from console.cli.cloud_format import clip
from console.cli.output import (
    json_option,
    page_options,
    print_page,
    print_result,
    print_table,
    when,
)
from console.cli.session import open_client, reports_errors
from console.cli.switches import switches_and_rm
from shared.api.alert_rules import RULE_TRIGGERS, AlertRuleRead, BacktestResult, Condition, Metric
from shared.api.incidents import Severity

TRIGGERS = click.Choice([trigger.value for trigger in RULE_TRIGGERS])
SEVERITIES = click.Choice([severity.value for severity in Severity])
METRICS = click.Choice([metric.value for metric in Metric])
CONDITIONS = click.Choice([condition.value for condition in Condition])
_AGO = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class Moment(click.ParamType):
    """A time: ISO 8601 (UTC unless it names a zone), `now`, or a span ago (`90m`, `24h`,
    `7d`). Resolved against the clock when the command runs."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        now = datetime.now(UTC)
        if text == "now":
            return now
        ago = _AGO.match(text)
        if ago:
            return now - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"{text!r} is not ISO 8601, now, or a span ago like 24h", param, ctx)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _scope(rule: AlertRuleRead) -> str:
    parts = [f"#{each}" for each in rule.scope.monitor_ids]
    parts += [f"agent:{each}" for each in rule.scope.agent_ids]
    parts += [f"tag:{tag}" for tag in rule.scope.tags]
    return ",".join(parts) or "all"


def condition_of(rule: AlertRuleRead) -> str | None:
    """`cpu_pct above 90 x3` for a metric rule (x: checks in a row that open an incident)."""
    if rule.metric is None or rule.condition is None or rule.threshold is None:
        return None
    return f"{rule.metric.value} {rule.condition.value} {rule.threshold:g} x{rule.breach_count}"


_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda r: r.id),
    ("name", lambda r: clip(r.name, 24)),
    ("enabled", lambda r: r.enabled),
    ("trigger", lambda r: r.trigger_type.value),
    ("severity", lambda r: r.severity.value),
    ("scope", _scope),
    ("channels", lambda r: ",".join(map(str, r.channel_ids)) or "-"),
    ("cooldown", lambda r: f"{r.cooldown_minutes} min" if r.cooldown_minutes else "-"),
    ("condition", condition_of),
]


@click.group("alert-rules")
def alert_rules() -> None:
    """Alert rules: the severity and channels of incidents; metric rules for agents."""


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
@click.option("--agent", "agents", type=AGENT, multiple=True, help="Only this agent (id or name).")
@click.option("--tag", "tags", multiple=True, help="Only monitors or agents with this tag.")
@click.option("--channel", "channel_ids", type=int, multiple=True, help="Also tell this channel.")
@click.option("--cooldown", type=click.IntRange(0, 10080), metavar="MINUTES")
@click.option("--metric", type=METRICS, help="infra_metric: what to watch.")
@click.option("--condition", type=CONDITIONS, help="infra_metric: above, below or equals.")
@click.option("--threshold", type=float, help="infra_metric: the value to compare with.")
@click.option(
    "--breach-count",
    type=click.IntRange(1, 100),
    help="infra_metric: samples in a row to open (2).",
)
@click.option(
    "--recovery-count",
    type=click.IntRange(1, 100),
    help="infra_metric: samples in a row to resolve (2).",
)
@json_option
@reports_errors
def alert_rules_add(
    name: str,
    trigger_type: str,
    severity: str | None,
    monitor_ids: tuple[int, ...],
    agents: tuple[int | str, ...],
    tags: tuple[str, ...],
    channel_ids: tuple[int, ...],
    cooldown: int | None,
    metric: str | None,
    condition: str | None,
    threshold: float | None,
    breach_count: int | None,
    recovery_count: int | None,
    as_json: bool,
) -> None:
    """Add a rule: a TRIGGER incident of the targets it covers (all, or each --monitor or
    --agent and those with a --tag) opens with --severity and is told to each --channel.

    An infra_metric rule opens incidents itself: when --metric is --condition --threshold
    for --breach-count samples in a row, until --recovery-count samples are fine again."""
    with open_client() as api:
        agent_ids = [agent_id_of(api, agent) for agent in agents]
        scope = {"monitor_ids": list(monitor_ids), "agent_ids": agent_ids, "tags": list(tags)}
        rule = api.alert_rules.create(
            name=name, trigger_type=trigger_type, severity=severity, scope=scope,
            channel_ids=channel_ids, cooldown_minutes=cooldown, metric=metric,
            condition=condition, threshold=threshold, breach_count=breach_count,
            recovery_count=recovery_count,
        )  # fmt: skip
    print_result(rule, as_json, lambda: click.echo(f"Alert rule {rule.id} added: {rule.name}."))


def _backtest(result: BacktestResult, names: dict[int, str]) -> None:
    span = f"{when(result.from_)} to {when(result.to)} UTC"
    count = len(result.incidents)
    click.echo(
        f"Rule {result.rule_id} over {span}: {result.samples} samples judged, "
        f"{count} incident{'' if count == 1 else 's'} would have opened."
    )
    if not result.incidents:
        return
    click.echo()
    print_table(
        result.incidents,
        [
            ("agent", lambda i: names.get(i.agent_id, f"#{i.agent_id}")),
            ("target", lambda i: clip(i.target, 30)),
            ("opened", lambda i: i.opened_at),
            ("resolved", lambda i: i.resolved_at or "still open"),
            ("lasted", lambda i: _lasted(i.opened_at, i.resolved_at or result.to)),
            ("peak", lambda i: f"{i.peak_value:g}"),
        ],
    )


def _lasted(start: datetime, end: datetime) -> str:
    minutes = max(0, int((end - start).total_seconds() // 60))
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


@alert_rules.command("backtest")
@click.argument("rule_id", metavar="ID", type=int)
@click.option("--from", "from_", type=Moment(), default="24h", show_default=True,
              help="Start: ISO 8601, or a span ago (90m, 24h, 7d).")  # fmt: skip
@click.option("--to", type=Moment(), default="now", show_default=True, help="End, likewise.")
@click.option("--agent", "agents", type=AGENT, multiple=True,
              help="Only this agent (default: every agent the rule covers).")  # fmt: skip
@json_option
@reports_errors
def alert_rules_backtest(
    rule_id: int, from_: datetime, to: datetime, agents: tuple[int | str, ...], as_json: bool
) -> None:
    """What a metric rule would have opened over stored metrics, with its counts, cooldown
    and overrides; nothing is sent."""
    if from_ >= to:
        raise click.BadParameter("--from must be before --to", param_hint="--from")
    with open_client() as api:
        agent_ids = [agent_id_of(api, agent) for agent in agents]
        result = api.alert_rules.backtest(rule_id, from_=from_, to=to, agent_ids=agent_ids or None)
        names: dict[int, str] = {}
        if result.incidents and not as_json:  # names for people; ids are enough in JSON
            names = {a.id: a.name for a in api.agents.list(per_page=200).items}
    print_result(result, as_json, lambda: _backtest(result, names))


@alert_rules.command("overrides")
@click.argument("rule_id", metavar="ID", type=int)
@json_option
@reports_errors
def alert_rules_overrides(rule_id: int, as_json: bool) -> None:
    """A metric rule's per-agent exceptions."""
    with open_client() as api:
        found = api.alert_rules.overrides(rule_id)
    print_result(
        found,
        as_json,
        lambda: print_table(
            found,
            [
                ("agent", lambda o: o.agent_id),
                ("name", lambda o: clip(o.agent_name, 24)),
                ("enabled", lambda o: o.enabled),
                ("threshold", lambda o: "rule's" if o.threshold is None else f"{o.threshold:g}"),
                ("updated", lambda o: o.updated_at),
            ],
        ),
    )


@alert_rules.command("override")
@click.argument("rule_id", metavar="ID", type=int)
@click.argument("agent", type=AGENT)
@click.option("--threshold", type=float, help="This agent's threshold (default: the rule's).")
@click.option("--disable", is_flag=True, help="Switch the rule off for this agent.")
@json_option
@reports_errors
def alert_rules_override(
    rule_id: int, agent: int | str, threshold: float | None, disable: bool, as_json: bool
) -> None:
    """Set an agent's exception to a metric rule (replacing the one it had)."""
    if threshold is None and not disable:
        raise click.UsageError("give --threshold, --disable or both")
    with open_client() as api:
        found = api.alert_rules.set_override(
            rule_id, agent_id_of(api, agent), threshold=threshold, enabled=not disable
        )

    def human() -> None:
        what = "off" if not found.enabled else f"threshold {found.threshold:g}"
        click.echo(f"Rule {rule_id} for {found.agent_name}: {what}.")

    print_result(found, as_json, human)


@alert_rules.command("override-rm")
@click.argument("rule_id", metavar="ID", type=int)
@click.argument("agent", type=AGENT)
@reports_errors
def alert_rules_override_rm(rule_id: int, agent: int | str) -> None:
    """Remove an agent's exception: the rule applies to it as to the others."""
    with open_client() as api:
        agent_id = agent_id_of(api, agent)
        api.alert_rules.delete_override(rule_id, agent_id)
    click.echo(f"Rule {rule_id} applies to agent {agent_id} as to the others again.")


switches_and_rm(
    alert_rules, "Alert rule", "alert_rules", on="Switch a rule on.", off="Switch a rule off."
)
