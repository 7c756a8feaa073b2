"""Alert rules: what an incident a trigger opens looks like, and who hears of it.

`decide(db, trigger)` runs when a monitor or a budget would open an incident:
1. The org's enabled rules of the trigger's type whose scope covers the target (a monitor
   or an agent by id or by one of its tags; an empty scope covers every target).
2. None: the trigger's own default severity, no rule.
3. Else the most severe rule (the first made, on a tie) sets the severity and is kept on
   the incident; its channels hear of the incident's changes (server/notifications/outbox.py).
4. A covering rule with a cooldown holds a new incident back while the target's last one
   of this trigger resolved on its own less than that long ago (a flapping target). One a
   member resolved does not count: resolving by hand resets the cooldown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.agents.models import Agent
from server.alert_rules.models import AlertRule
from server.audit import service as audit
from server.db import paging
from server.db.owned import check_name_free, flush_named, ids_of_org, one_of_org
from server.http.errors import BadRequest
from server.incidents.models import Incident
from server.monitors.models import Monitor
from server.notifications.models import NotificationChannel
from server.service_context import Context
from shared.api.alert_rules import (
    AGENT_TRIGGERS,
    MONITOR_TRIGGERS,
    RULE_TRIGGERS,
    AlertRuleCreate,
    AlertRuleRead,
    AlertRuleUpdate,
    Condition,
    Metric,
    Scope,
)
from shared.api.common import Page, PageQuery
from shared.api.incidents import Severity, TriggerType

NOUN = "Alert rule"
# What a rule's tags are matched against, by the target type of its trigger.
_TAGGED: dict[str, Any] = {"monitor": Monitor, "agent": Agent}
_RANK = {severity.value: rank for rank, severity in enumerate(Severity)}
_METRIC_FIELDS = ("metric", "condition", "threshold")


@dataclass(frozen=True)
class Decision:
    rule_id: int | None
    severity: str
    held_back: bool = False  # a cooldown holds the incident back


async def decide(
    db: AsyncSession, *, org_id: int, trigger_type: TriggerType, target_type: str,
    target_id: int, default_severity: str, now: datetime,
) -> Decision:  # fmt: skip
    """What the module's steps say of a trigger about to open an incident."""
    rules = list(
        await db.scalars(
            select(AlertRule)
            .where(
                AlertRule.org_id == org_id,
                AlertRule.trigger_type == trigger_type.value,
                AlertRule.enabled.is_(True),
            )
            .order_by(AlertRule.id)
        )
    )
    if not rules:
        return Decision(None, default_severity)
    tagged = _TAGGED[target_type]
    tags: list[str] = []
    if any(rule.scope.get("tags") for rule in rules):
        tags = await db.scalar(select(tagged.tags).where(tagged.id == target_id)) or []
    ids_key = f"{target_type}_ids"
    covering = [rule for rule in rules if _covers(rule.scope, ids_key, target_id, tags)]
    if not covering:
        return Decision(None, default_severity)
    chosen = max(covering, key=lambda rule: (_RANK[rule.severity], -rule.id))
    cooldown = max(rule.cooldown_minutes for rule in covering)
    held = cooldown > 0 and await _resolved_on_its_own_since(
        db, org_id, trigger_type, target_type, target_id, now - timedelta(minutes=cooldown)
    )
    return Decision(chosen.id, chosen.severity, held_back=held)


def _covers(scope: dict[str, Any], ids_key: str, target_id: int, tags: list[str]) -> bool:
    ids, wanted_tags = scope.get(ids_key) or [], scope.get("tags") or []
    if not ids and not wanted_tags:
        return True
    return target_id in ids or not set(tags).isdisjoint(wanted_tags)


def covers_agent(scope: dict[str, Any], agent_id: int, tags: list[str]) -> bool:
    """Whether a rule's scope covers an agent (by id or one of its tags; empty: all)."""
    return _covers(scope, "agent_ids", agent_id, tags)


async def _resolved_on_its_own_since(
    db: AsyncSession, org_id: int, trigger_type: TriggerType, target_type: str,
    target_id: int, since: datetime,
) -> bool:  # fmt: skip
    last = await db.scalar(
        select(Incident.resolved_automatically)
        .where(
            Incident.org_id == org_id,
            Incident.trigger_type == trigger_type.value,
            Incident.target_type == target_type,
            Incident.target_id == target_id,
            Incident.resolved_at.is_not(None),
            Incident.resolved_at >= since,
        )
        .order_by(Incident.resolved_at.desc())
        .limit(1)
    )
    return bool(last)


async def channels_of(db: AsyncSession, *, org_id: int, rule_id: int) -> set[int]:
    """The channels of an incident's rule (none once the rule is off or gone)."""
    found = await db.scalar(
        select(AlertRule.channel_ids).where(
            AlertRule.id == rule_id, AlertRule.org_id == org_id, AlertRule.enabled.is_(True)
        )
    )
    return set(found or [])


# The API


def rule_read(rule: AlertRule) -> AlertRuleRead:
    return AlertRuleRead(
        id=rule.id,
        name=rule.name,
        trigger_type=TriggerType(rule.trigger_type),
        metric=Metric(rule.metric) if rule.metric else None,
        condition=Condition(rule.condition) if rule.condition else None,
        threshold=rule.threshold,
        breach_count=rule.breach_count,
        recovery_count=rule.recovery_count,
        severity=Severity(rule.severity),
        cooldown_minutes=rule.cooldown_minutes,
        scope=Scope.model_validate(rule.scope),
        channel_ids=list(rule.channel_ids),
        enabled=rule.enabled,
        created_at=rule.created_at,
        updated_at=rule.updated_at,
    )


def _invalid(field: str, message: str) -> BadRequest:
    return BadRequest(f"body field '{field}': {message}")


async def _checked(ctx: Context, values: dict[str, Any]) -> dict[str, Any]:
    """The rule's fields as stored, or a 400 naming what does not fit its trigger type."""
    trigger = TriggerType(values["trigger_type"])
    if trigger not in RULE_TRIGGERS:
        kinds = ", ".join(kind.value for kind in RULE_TRIGGERS)
        raise _invalid("trigger_type", f"{trigger.value} rules are not taken; use one of {kinds}")
    metric_rule = trigger is TriggerType.infra_metric
    for name in _METRIC_FIELDS:
        if metric_rule and values.get(name) is None:
            raise _invalid(name, "a metric rule needs metric, condition and threshold")
        if not metric_rule and values.get(name) is not None:
            raise _invalid(name, "only metric rules (infra_metric) take it")
    scope = Scope.model_validate(values.get("scope") or {})
    if scope.agent_ids and trigger not in AGENT_TRIGGERS:
        raise _invalid("scope", "agent_ids are for agent_offline and infra_metric rules")
    if scope.monitor_ids and trigger not in MONITOR_TRIGGERS:
        raise _invalid(
            "scope", "monitor_ids are for monitor_down, monitor_degraded and ssl_expiring rules"
        )
    if trigger not in MONITOR_TRIGGERS | AGENT_TRIGGERS and scope.tags:
        raise _invalid("scope", "a budget rule covers every budget; leave its scope empty")
    await _own(ctx, "scope", Monitor, scope.monitor_ids, "monitor")
    await _own(ctx, "scope", Agent, scope.agent_ids, "agent")
    channel_ids = await _own(
        ctx, "channel_ids", NotificationChannel, values.get("channel_ids") or [], "channel"
    )
    return {
        **values,
        "trigger_type": trigger.value,
        "severity": Severity(values["severity"]).value,
        "scope": scope.model_dump(mode="json"),
        "channel_ids": channel_ids,
    }


async def _own(ctx: Context, field: str, model: Any, ids: list[int], noun: str) -> list[int]:
    return await ids_of_org(ctx.db, model, org_id=ctx.auth.org_id, ids=ids, field=field, noun=noun)


async def list_rules(ctx: Context, *, query: PageQuery) -> Page[AlertRuleRead]:
    statement = (
        select(AlertRule)
        .where(AlertRule.org_id == ctx.auth.org_id)
        .order_by(AlertRule.name, AlertRule.id)
    )
    return await paging.page_of(ctx.db, statement, query, Page[AlertRuleRead], rule_read)


async def rule_of(ctx: Context, rule_id: int) -> AlertRule:
    return await one_of_org(ctx.db, AlertRule, org_id=ctx.auth.org_id, id=rule_id, noun=NOUN)


async def get_rule(ctx: Context, *, rule_id: int) -> AlertRuleRead:
    return rule_read(await rule_of(ctx, rule_id))


def _rules_changed(ctx: Context) -> None:
    """Once this change commits, the org's agents' posts read its metric rules again (an
    API process that did not make the change does within live.SCOPES_SECONDS)."""
    runtime, org_id = ctx.runtime, ctx.auth.org_id
    if runtime is None:
        return

    def forget() -> None:
        runtime.metric_rule_scopes.pop(org_id, None)

    ctx.after_commit(forget)


async def create_rule(ctx: Context, *, data: AlertRuleCreate) -> AlertRuleRead:
    values = await _checked(ctx, data.model_dump(mode="json"))
    await check_name_free(
        ctx.db, AlertRule, org_id=ctx.auth.org_id, name=data.name, noun=NOUN, other_than=None
    )
    rule = AlertRule(org_id=ctx.auth.org_id, **values)
    ctx.db.add(rule)
    await flush_named(ctx.db, name=data.name, noun=NOUN)
    _rules_changed(ctx)
    await audit.record(
        ctx, action="alert_rule.created", resource_type="alert_rule", resource_id=rule.id,
        detail=f"{rule.name!r}: {rule.trigger_type} -> {rule.severity}",
    )  # fmt: skip
    return rule_read(rule)


async def update_rule(ctx: Context, *, rule_id: int, data: AlertRuleUpdate) -> AlertRuleRead:
    rule = await rule_of(ctx, rule_id)
    current = rule_read(rule).model_dump(mode="json")
    given = data.model_dump(mode="json", exclude_unset=True)
    values = await _checked(ctx, {**current, **given})
    if "name" in given:
        await check_name_free(
            ctx.db, AlertRule, org_id=ctx.auth.org_id, name=values["name"], noun=NOUN,
            other_than=rule.id,
        )  # fmt: skip
    changed = sorted(name for name in given if getattr(rule, name) != values[name])
    for name in changed:
        setattr(rule, name, values[name])
    if changed:
        await flush_named(ctx.db, name=rule.name, noun=NOUN)
        _rules_changed(ctx)
        await audit.record(
            ctx, action="alert_rule.updated", resource_type="alert_rule", resource_id=rule.id,
            detail=f"{rule.name!r}: {', '.join(changed)}",
        )  # fmt: skip
    return rule_read(rule)


async def toggle_rule(ctx: Context, *, rule_id: int) -> AlertRuleRead:
    rule = await rule_of(ctx, rule_id)
    rule.enabled = not rule.enabled
    await ctx.db.flush()
    _rules_changed(ctx)
    await audit.record(
        ctx, action="alert_rule.updated", resource_type="alert_rule", resource_id=rule.id,
        detail=f"{rule.name!r}: {'enabled' if rule.enabled else 'disabled'}",
    )  # fmt: skip
    return rule_read(rule)


async def delete_rule(ctx: Context, *, rule_id: int) -> None:
    rule = await rule_of(ctx, rule_id)
    await ctx.db.delete(rule)
    await ctx.db.flush()
    await audit.record(
        ctx, action="alert_rule.deleted", resource_type="alert_rule", resource_id=rule_id,
        detail=repr(rule.name),
    )  # fmt: skip
