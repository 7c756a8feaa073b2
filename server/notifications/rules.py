"""Routing rules: which events go to which channels, from which severity on, and where an
incident nobody acknowledged in time escalates to (server/notifications/outbox.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.db import paging
from server.db.owned import check_name_free, flush_named, ids_of_org, one_of_org
from server.http.errors import BadRequest
from server.notifications.models import NotificationChannel, NotificationRule
from server.service_context import Context
from shared.api.common import Page, PageQuery
from shared.api.incidents import Severity
from shared.api.notifications import RuleCreate, RuleRead, RuleUpdate

NOUN = "Rule"


def rule_read(rule: NotificationRule) -> RuleRead:
    return RuleRead(
        id=rule.id,
        name=rule.name,
        events=list(rule.events),
        min_severity=Severity(rule.min_severity),
        channel_ids=list(rule.channel_ids),
        enabled=rule.enabled,
        escalate_after_minutes=rule.escalate_after_minutes,
        escalation_channel_ids=list(rule.escalation_channel_ids),
        created_at=rule.created_at,
        updated_at=rule.updated_at,
    )


async def rule_of(db: AsyncSession, *, org_id: int, rule_id: int) -> NotificationRule:
    return await one_of_org(db, NotificationRule, org_id=org_id, id=rule_id, noun=NOUN)


async def _check_channels(ctx: Context, field: str, ids: Iterable[int]) -> list[int]:
    return await ids_of_org(
        ctx.db, NotificationChannel, org_id=ctx.auth.org_id, ids=ids, field=field, noun="channel"
    )


async def _check_name(ctx: Context, name: str, rule_id: int | None) -> None:
    await check_name_free(
        ctx.db, NotificationRule, org_id=ctx.auth.org_id, name=name, noun=NOUN, other_than=rule_id
    )


def _check_escalation(minutes: int | None, channel_ids: list[int]) -> None:
    if channel_ids and minutes is None:
        raise BadRequest(
            "body field 'escalate_after_minutes': required when escalation_channel_ids are given"
        )
    if minutes is not None and not channel_ids:
        raise BadRequest(
            "body field 'escalation_channel_ids': required when escalate_after_minutes is given"
        )


async def list_rules(ctx: Context, *, query: PageQuery) -> Page[RuleRead]:
    statement = (
        select(NotificationRule)
        .where(NotificationRule.org_id == ctx.auth.org_id)
        .order_by(NotificationRule.name, NotificationRule.id)
    )
    return await paging.page_of(ctx.db, statement, query, Page[RuleRead], rule_read)


async def get_rule(ctx: Context, *, rule_id: int) -> RuleRead:
    return rule_read(await rule_of(ctx.db, org_id=ctx.auth.org_id, rule_id=rule_id))


async def create_rule(ctx: Context, *, data: RuleCreate) -> RuleRead:
    channel_ids = await _check_channels(ctx, "channel_ids", data.channel_ids)
    escalation_ids = await _check_channels(
        ctx, "escalation_channel_ids", data.escalation_channel_ids
    )
    _check_escalation(data.escalate_after_minutes, escalation_ids)
    await _check_name(ctx, data.name, None)
    rule = NotificationRule(
        org_id=ctx.auth.org_id, name=data.name, events=list(dict.fromkeys(data.events)),
        min_severity=data.min_severity.value, channel_ids=channel_ids, enabled=data.enabled,
        escalate_after_minutes=data.escalate_after_minutes,
        escalation_channel_ids=escalation_ids,
    )  # fmt: skip
    ctx.db.add(rule)
    await flush_named(ctx.db, name=data.name, noun=NOUN)
    await audit.record(
        ctx, action="notification_rule.created", resource_type="notification_rule",
        resource_id=rule.id, detail=f"{rule.name!r}: {', '.join(rule.events)}",
    )  # fmt: skip
    return rule_read(rule)


async def update_rule(ctx: Context, *, rule_id: int, data: RuleUpdate) -> RuleRead:
    rule = await rule_of(ctx.db, org_id=ctx.auth.org_id, rule_id=rule_id)
    changes: dict[str, Any] = {}
    for name, value in data.model_dump(exclude_unset=True).items():
        if name in ("channel_ids", "escalation_channel_ids"):
            value = await _check_channels(ctx, name, value)
        elif name == "events":
            value = list(dict.fromkeys(value))
        elif name == "min_severity":
            value = Severity(value).value
        changes[name] = value
    _check_escalation(
        changes.get("escalate_after_minutes", rule.escalate_after_minutes),
        changes.get("escalation_channel_ids", rule.escalation_channel_ids),
    )
    if "name" in changes:
        await _check_name(ctx, changes["name"], rule.id)
    changed = sorted(name for name, value in changes.items() if getattr(rule, name) != value)
    for name in changed:
        setattr(rule, name, changes[name])
    if changed:
        await flush_named(ctx.db, name=rule.name, noun=NOUN)
        await audit.record(
            ctx, action="notification_rule.updated", resource_type="notification_rule",
            resource_id=rule.id, detail=f"{rule.name!r}: {', '.join(changed)}",
        )  # fmt: skip
    return rule_read(rule)


async def delete_rule(ctx: Context, *, rule_id: int) -> None:
    rule = await rule_of(ctx.db, org_id=ctx.auth.org_id, rule_id=rule_id)
    await ctx.db.delete(rule)
    await ctx.db.flush()
    await audit.record(
        ctx, action="notification_rule.deleted", resource_type="notification_rule",
        resource_id=rule_id, detail=repr(rule.name),
    )  # fmt: skip
