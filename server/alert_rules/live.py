"""Metric rules, live: an agent's fresh samples judged as they are posted.

`evaluate(ctx, agent, samples, containers_at)` runs in the transaction that stores them:
1. The org's enabled `infra_metric` rules that cover the agent (by id or tag; an empty
   scope covers every agent), with the agent's override applied: its own threshold, or
   the rule off for it.
2. For each sample, oldest first, each rule judges each of its targets in the sample (the
   host; each mount for disk_pct; each container reported with the sample for container
   rules) with `evaluator.step`, from the target's stored `AlertState`.
3. `open` opens an incident whose target is that state row (so one per rule and target,
   held by the incidents' unique index), with the rule's severity and channels; `resolve`
   resolves it. An incident a member resolved already resets the cooldown instead.
Values are judged as they are stored (`storage.stored`), so a backtest over stored samples
(server/alert_rules/backtest.py) sees exactly the same numbers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select

from server.agents.models import Agent
from server.alert_rules.evaluator import Judgement, RuleTerms, Verdict, step
from server.alert_rules.models import AlertOverride, AlertRule, AlertState
from server.alert_rules.service import Decision, covers_agent, delete_rule, rule_of
from server.incidents import service as incidents
from server.incidents.models import Incident
from server.metrics.models import HOST_COLUMNS, SERIES_SCALE
from server.metrics.storage import epoch, host_values, stored
from server.service_context import Context
from shared.api.agents import ContainerStats, Sample
from shared.api.alert_rules import Condition, Metric
from shared.api.incidents import TriggerType

HOST = "host"
TARGET_TYPE = "alert_state"
_CONTAINER_METRICS = {
    Metric.container_cpu_pct: "cpu_pct",
    Metric.container_mem_pct: "mem_pct",
}


@dataclass(frozen=True)
class MetricRule:
    id: int
    name: str
    metric: Metric
    severity: str
    terms: RuleTerms


def targets(
    metric: Metric, sample: Sample, containers: Sequence[ContainerStats]
) -> list[tuple[str, float]]:
    """(target, value as stored) of a rule's metric in a sample and its containers."""
    if metric is Metric.disk_pct:
        scale = SERIES_SCALE["disk_pct"]
        return [(disk.mount, stored(disk.pct, scale)) for disk in sample.disk]
    if metric in _CONTAINER_METRICS:
        field, scale = _CONTAINER_METRICS[metric], SERIES_SCALE[metric.value]
        values = [(c.name, getattr(c, field)) for c in containers]
        return [(name, stored(value, scale)) for name, value in values if value is not None]
    value = host_values(sample)[metric.value]
    return [] if value is None else [(HOST, stored(value, HOST_COLUMNS[metric.value][1]))]


def terms_of(rule: AlertRule, override: AlertOverride | None) -> RuleTerms:
    own = override.threshold if override is not None else None
    return RuleTerms(
        condition=Condition(rule.condition or ""),  # a metric rule always has one
        threshold=own if own is not None else float(rule.threshold or 0),
        breach_count=rule.breach_count,
        recovery_count=rule.recovery_count,
        cooldown=timedelta(minutes=rule.cooldown_minutes),
    )


# How long an organization's enabled metric rules, by id and scope, are taken as read: every
# agent post would ask otherwise. A rule change in this process drops them at once
# (service._rules_changed); one made by another API process applies within this time.
SCOPES_SECONDS = 2.0


async def rules_for(ctx: Context, agent: Agent) -> list[MetricRule]:
    """Step 1 of the module. The rules whose scope covers the agent are read anew, with the
    agent's overrides: a rule deleted meanwhile is not judged."""
    covering = [
        rule_id
        for rule_id, scope in await _scopes(ctx, agent.org_id)
        if covers_agent(scope, agent.id, agent.tags)
    ]
    if not covering:
        return []
    found = await ctx.db.execute(
        select(AlertRule, AlertOverride)
        .outerjoin(
            AlertOverride,
            (AlertOverride.rule_id == AlertRule.id) & (AlertOverride.agent_id == agent.id),
        )
        .where(AlertRule.id.in_(covering), AlertRule.enabled.is_(True))
        .order_by(AlertRule.id)
    )
    return [
        MetricRule(rule.id, rule.name, Metric(rule.metric), rule.severity,
                   terms_of(rule, override))
        for rule, override in found
        if rule.metric and (override is None or override.enabled)
    ]  # fmt: skip


async def _scopes(ctx: Context, org_id: int) -> list[tuple[int, dict[str, Any]]]:
    """(id, scope) of the org's enabled metric rules, remembered SCOPES_SECONDS."""
    remembered = ctx.runtime.metric_rule_scopes if ctx.runtime else {}
    until, scopes = remembered.get(org_id, (0.0, []))
    if until > time.monotonic():
        return scopes
    found = await ctx.db.execute(
        select(AlertRule.id, AlertRule.scope).where(
            AlertRule.org_id == org_id,
            AlertRule.trigger_type == TriggerType.infra_metric.value,
            AlertRule.enabled.is_(True),
        )
    )
    scopes = [(rule_id, scope) for rule_id, scope in found]
    remembered[org_id] = (time.monotonic() + SCOPES_SECONDS, scopes)
    return scopes


@dataclass(frozen=True)
class Judging:
    """What judging an agent's samples needs: its rules and their states by target."""

    rules: list[MetricRule]
    states: dict[tuple[int, str], AlertState]


async def judging(ctx: Context, agent: Agent) -> Judging:
    """Step 1 of the module, and the states of those rules for the agent."""
    rules = await rules_for(ctx, agent)
    if not rules:
        return Judging([], {})
    states = await ctx.db.scalars(
        select(AlertState).where(
            AlertState.agent_id == agent.id, AlertState.rule_id.in_([rule.id for rule in rules])
        )
    )
    return Judging(rules, {(state.rule_id, state.target): state for state in states})


async def evaluate(
    ctx: Context, agent: Agent, found: Judging, samples: Sequence[Sample],
    containers_at: dict[int, Sequence[ContainerStats]],
) -> None:  # fmt: skip
    """Steps 2 and 3 of the module."""
    rules, states = found.rules, found.states
    if not rules or not samples:
        return
    for sample in sorted(samples, key=lambda each: each.ts):
        containers = containers_at.get(epoch(sample.ts), ())
        for rule in rules:
            for target, value in targets(rule.metric, sample, containers):
                state = states.get((rule.id, target))
                if state is None:
                    state = AlertState(rule_id=rule.id, agent_id=agent.id, target=target)
                    ctx.db.add(state)
                    states[(rule.id, target)] = state
                await _judge(ctx, agent, rule, state, sample.ts, value)


async def _judge(
    ctx: Context, agent: Agent, rule: MetricRule, state: AlertState, ts: datetime, value: float
) -> None:
    before = Judgement(state.breaches or 0, state.recoveries or 0, state.opened_at, state.peak,
                       state.quiet_until)  # fmt: skip
    after, verdict = step(rule.terms, before, ts, value)
    state.breaches, state.recoveries = after.breaches, after.recoveries
    state.opened_at, state.peak, state.quiet_until = after.opened_at, after.peak, after.quiet_until
    state.last_ts = ts
    if verdict is None:
        return
    if state.id is None:
        await ctx.db.flush()
    trigger = incidents.Trigger(agent.org_id, TriggerType.infra_metric, TARGET_TYPE, state.id)
    where = agent.name if state.target == HOST else f"{agent.name} {state.target}"
    words = f"{rule.metric.value} {rule.terms.condition.value} {rule.terms.threshold:g}"
    if verdict is Verdict.open:
        await incidents.open_incident(
            ctx, title=f"{where}: {words} ({value:g})", severity=rule.severity,
            description=f"Alert rule {rule.name!r}: {words} for {rule.terms.breach_count} "
            f"samples in a row on {where}; now {value:g}.",
            trigger=trigger, decision=Decision(rule.id, rule.severity),
        )  # fmt: skip
        return
    resolved = await incidents.resolve_trigger(
        ctx, trigger, note=f"{rule.metric.value} back to {value:g}"
    )
    if resolved is None:  # a member resolved it already: that resets the cooldown
        state.quiet_until = None


async def resolve_incidents_of_states(
    ctx: Context, *, org_id: int, states: Select[int], note: str
) -> None:
    """Resolve the unresolved incidents of the alert states `states` selects: about to be
    deleted, no sample would resolve them."""
    open_ones = await ctx.db.scalars(
        select(Incident.target_id).where(
            Incident.org_id == org_id,
            Incident.target_type == TARGET_TYPE,
            Incident.status != "resolved",
            Incident.target_id.in_(states),
        )
    )
    for state_id in list(open_ones):
        trigger = incidents.Trigger(org_id, TriggerType.infra_metric, TARGET_TYPE, state_id or 0)
        await incidents.resolve_trigger(ctx, trigger, note=note)


async def retire(ctx: Context, *, rule_id: int) -> None:
    """Delete an alert rule; a metric rule's unresolved incidents resolve first."""
    rule = await rule_of(ctx, rule_id)
    if rule.trigger_type == TriggerType.infra_metric.value:
        await resolve_incidents_of_states(
            ctx, org_id=rule.org_id, note=f"alert rule {rule.name!r} deleted",
            states=select(AlertState.id).where(AlertState.rule_id == rule.id),
        )  # fmt: skip
    await delete_rule(ctx, rule_id=rule_id)
