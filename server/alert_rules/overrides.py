"""Per-agent overrides of a metric rule: the agent's own threshold, or the rule off for it."""

from __future__ import annotations

from sqlalchemy import delete, select

from server.agents.models import Agent
from server.alert_rules.models import AlertOverride, AlertRule
from server.alert_rules.service import NOUN, rule_of
from server.audit import service as audit
from server.db.owned import one_of_org
from server.http.errors import BadRequest, NotFound
from server.service_context import Context
from shared.api.alert_rules import OverrideRead, OverrideSet
from shared.api.incidents import TriggerType


async def _metric_rule(ctx: Context, rule_id: int) -> AlertRule:
    rule = await rule_of(ctx, rule_id)
    if rule.trigger_type != TriggerType.infra_metric.value:
        raise BadRequest(
            f"{NOUN} {rule_id} is not a metric rule (infra_metric); it has no overrides"
        )
    return rule


def _read(override: AlertOverride, agent_name: str) -> OverrideRead:
    return OverrideRead(
        agent_id=override.agent_id, agent_name=agent_name, threshold=override.threshold,
        enabled=override.enabled, updated_at=override.updated_at,
    )  # fmt: skip


async def list_overrides(ctx: Context, *, rule_id: int) -> list[OverrideRead]:
    rule = await _metric_rule(ctx, rule_id)
    rows = await ctx.db.execute(
        select(AlertOverride, Agent.name)
        .join(Agent, Agent.id == AlertOverride.agent_id)
        .where(AlertOverride.rule_id == rule.id)
        .order_by(Agent.name)
    )
    return [_read(override, name) for override, name in rows.all()]


async def set_override(
    ctx: Context, *, rule_id: int, agent_id: int, data: OverrideSet
) -> OverrideRead:
    rule = await _metric_rule(ctx, rule_id)
    agent = await one_of_org(ctx.db, Agent, org_id=ctx.auth.org_id, id=agent_id, noun="Agent")
    override = await ctx.db.get(AlertOverride, (rule.id, agent.id))
    if override is None:
        override = AlertOverride(rule_id=rule.id, agent_id=agent.id)
        ctx.db.add(override)
    override.threshold, override.enabled = data.threshold, data.enabled
    await ctx.db.flush()
    what = (
        "off"
        if not data.enabled
        else f"threshold {data.threshold:g}"
        if data.threshold is not None
        else "the rule's threshold"
    )
    await audit.record(
        ctx, action="alert_rule.override_set", resource_type="alert_rule", resource_id=rule.id,
        detail=f"{rule.name!r} on agent {agent.name!r}: {what}",
    )  # fmt: skip
    return _read(override, agent.name)


async def delete_override(ctx: Context, *, rule_id: int, agent_id: int) -> None:
    rule = await _metric_rule(ctx, rule_id)
    result = await ctx.db.execute(
        delete(AlertOverride).where(
            AlertOverride.rule_id == rule.id, AlertOverride.agent_id == agent_id
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("Override not found")
    await audit.record(
        ctx, action="alert_rule.override_deleted", resource_type="alert_rule",
        resource_id=rule.id, detail=f"{rule.name!r} on agent {agent_id}",
    )  # fmt: skip
