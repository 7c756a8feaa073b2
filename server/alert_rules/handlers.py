"""HTTP handlers for /alert-rules: parse -> call service -> serialize."""

from __future__ import annotations

from server.alert_rules import backtest as backtests
from server.alert_rules import live, overrides
from server.alert_rules import service as alert_rules
from server.http.routing import Call
from shared.api.alert_rules import AlertRuleRead, BacktestResult, OverrideRead
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
    await live.retire(call.ctx, rule_id=call.path["id"])


async def list_overrides(call: Call) -> list[OverrideRead]:
    """GET /alert-rules/{id}/overrides"""
    return await overrides.list_overrides(call.ctx, rule_id=call.path["id"])


async def set_override(call: Call) -> OverrideRead:
    """PUT /alert-rules/{id}/overrides/{agent_id}"""
    return await overrides.set_override(
        call.ctx, rule_id=call.path["id"], agent_id=call.path["agent_id"], data=call.body
    )


async def delete_override(call: Call) -> None:
    """DELETE /alert-rules/{id}/overrides/{agent_id}"""
    await overrides.delete_override(
        call.ctx, rule_id=call.path["id"], agent_id=call.path["agent_id"]
    )


async def backtest(call: Call) -> BacktestResult:
    """POST /alert-rules/{id}/backtest"""
    return await backtests.backtest(call.ctx, rule_id=call.path["id"], data=call.body)
