"""HTTP handlers for /alert-rules: parse -> call service -> serialize."""

from __future__ import annotations

from server.alert_rules import service as alert_rules
from server.http.routing import Call
from shared.api.alert_rules import AlertRuleRead
from shared.api.common import Page


async def list_rules(call: Call) -> Page[AlertRuleRead]:
    """GET /alert-rules"""
    return await alert_rules.list_rules(call.ctx, query=call.query)


async def create_rule(call: Call) -> AlertRuleRead:
    """POST /alert-rules"""
    return await alert_rules.create_rule(call.ctx, data=call.body)


async def get_rule(call: Call) -> AlertRuleRead:
    """GET /alert-rules/{id}"""
    return await alert_rules.get_rule(call.ctx, rule_id=call.path["id"])


async def update_rule(call: Call) -> AlertRuleRead:
    """PATCH /alert-rules/{id}"""
    return await alert_rules.update_rule(call.ctx, rule_id=call.path["id"], data=call.body)


async def toggle_rule(call: Call) -> AlertRuleRead:
    """POST /alert-rules/{id}/toggle"""
    return await alert_rules.toggle_rule(call.ctx, rule_id=call.path["id"])


async def delete_rule(call: Call) -> None:
    """DELETE /alert-rules/{id}"""
    await alert_rules.delete_rule(call.ctx, rule_id=call.path["id"])
