"""The `alert_rules` namespace (`/alert-rules`): the severity and channels of the incidents
monitors, budgets and agents open; metric rules' per-agent overrides and backtests. Kept in
the `endpoint` style of monitors.py."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from shared.api.alert_rules import (
    AlertRuleRead,
    BacktestResult,
    Condition,
    Metric,
    OverrideRead,
)
from shared.api.common import Page, jsonable
from shared.api.incidents import Severity, TriggerType
from shared.client.call import Call, body, no_content, parse_as, query
from shared.client.namespace import M, Namespace, endpoint

RULES = "/alert-rules"


def _fields(
    scope: Mapping[str, Any] | None, channel_ids: Iterable[int] | None, **fields: Any
) -> dict[str, Any]:
    return body(
        scope=None if scope is None else dict(scope),
        channel_ids=None if channel_ids is None else list(channel_ids),
        **fields,
    )


class AlertRules(Namespace[M]):
    @endpoint
    def list(self, *, page: int = 1, per_page: int = 50) -> Call[Page[AlertRuleRead]]:
        return Call(
            "GET", RULES, parse_as(Page[AlertRuleRead]), params=query(page=page, per_page=per_page)
        )

    @endpoint
    def get(self, rule_id: int) -> Call[AlertRuleRead]:
        return Call("GET", f"{RULES}/{int(rule_id)}", parse_as(AlertRuleRead))

    @endpoint
    def create(
        self,
        *,
        name: str,
        trigger_type: TriggerType | str,
        severity: Severity | str | None = None,
        cooldown_minutes: int | None = None,
        scope: Mapping[str, Any] | None = None,
        channel_ids: Iterable[int] | None = None,
        enabled: bool | None = None,
        metric: Metric | str | None = None,
        condition: Condition | str | None = None,
        threshold: float | None = None,
        breach_count: int | None = None,
        recovery_count: int | None = None,
    ) -> Call[AlertRuleRead]:
        """`scope`: `{"monitor_ids": [...], "agent_ids": [...], "tags": [...]}`; empty covers
        every target. `metric`, `condition`, `threshold` and the counts: infra_metric only."""
        fields = _fields(
            scope, channel_ids, name=name, trigger_type=trigger_type, severity=severity,
            cooldown_minutes=cooldown_minutes, enabled=enabled, metric=metric,
            condition=condition, threshold=threshold, breach_count=breach_count,
            recovery_count=recovery_count,
        )  # fmt: skip
        return Call("POST", RULES, parse_as(AlertRuleRead), json=fields)

    @endpoint
    def update(
        self,
        rule_id: int,
        *,
        name: str | None = None,
        severity: Severity | str | None = None,
        cooldown_minutes: int | None = None,
        scope: Mapping[str, Any] | None = None,
        channel_ids: Iterable[int] | None = None,
        enabled: bool | None = None,
        metric: Metric | str | None = None,
        condition: Condition | str | None = None,
        threshold: float | None = None,
        breach_count: int | None = None,
        recovery_count: int | None = None,
    ) -> Call[AlertRuleRead]:
        """Change what is given; None leaves a field as it is."""
        fields = _fields(
            scope, channel_ids, name=name, severity=severity,
            cooldown_minutes=cooldown_minutes, enabled=enabled, metric=metric,
            condition=condition, threshold=threshold, breach_count=breach_count,
            recovery_count=recovery_count,
        )  # fmt: skip
        return Call("PATCH", f"{RULES}/{int(rule_id)}", parse_as(AlertRuleRead), json=fields)

    @endpoint
    def toggle(self, rule_id: int) -> Call[AlertRuleRead]:
        return Call("POST", f"{RULES}/{int(rule_id)}/toggle", parse_as(AlertRuleRead))

    @endpoint
    def delete(self, rule_id: int) -> Call[None]:
        return Call("DELETE", f"{RULES}/{int(rule_id)}", no_content)

    @endpoint
    def overrides(self, rule_id: int) -> Call[builtins.list[OverrideRead]]:
        """A metric rule's per-agent exceptions."""
        return Call(
            "GET",
            f"{RULES}/{int(rule_id)}/overrides",
            parse_as(builtins.list[OverrideRead]),
        )

    @endpoint
    def set_override(
        self, rule_id: int, agent_id: int, *, threshold: float | None = None, enabled: bool = True
    ) -> Call[OverrideRead]:
        """Set (replace) an agent's exception: its own `threshold` (None keeps the rule's),
        or the rule off for it (`enabled=False`)."""
        return Call(
            "PUT",
            f"{RULES}/{int(rule_id)}/overrides/{int(agent_id)}",
            parse_as(OverrideRead),
            # threshold is sent even when None: a PUT replaces, so null means the rule's.
            json={"threshold": threshold, "enabled": enabled},
        )

    @endpoint
    def delete_override(self, rule_id: int, agent_id: int) -> Call[None]:
        return Call("DELETE", f"{RULES}/{int(rule_id)}/overrides/{int(agent_id)}", no_content)

    @endpoint
    def backtest(
        self,
        rule_id: int,
        *,
        from_: datetime,
        to: datetime,
        agent_ids: Iterable[int] | None = None,
    ) -> Call[BacktestResult]:
        """The incidents the rule would have opened over stored metrics; sends nothing."""
        # `from` is a Python keyword, so it cannot be one of body()'s keyword arguments.
        fields = {
            "from": jsonable(from_),
            **body(to=to, agent_ids=None if agent_ids is None else builtins.list(agent_ids)),
        }
        return Call(
            "POST", f"{RULES}/{int(rule_id)}/backtest", parse_as(BacktestResult), json=fields
        )
