"""The `alert_rules` namespace (`/alert-rules`): the severity and channels of the incidents
monitors and budgets open. Kept in the `endpoint` style of monitors.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.api.alert_rules import AlertRuleRead
from shared.api.common import Page
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
    ) -> Call[AlertRuleRead]:
        """`scope`: `{"monitor_ids": [...], "tags": [...]}`; empty covers every target."""
        fields = _fields(
            scope, channel_ids, name=name, trigger_type=trigger_type, severity=severity,
            cooldown_minutes=cooldown_minutes, enabled=enabled,
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
    ) -> Call[AlertRuleRead]:
        """Change what is given; None leaves a field as it is."""
        fields = _fields(
            scope, channel_ids, name=name, severity=severity,
            cooldown_minutes=cooldown_minutes, enabled=enabled,
        )  # fmt: skip
        return Call("PATCH", f"{RULES}/{int(rule_id)}", parse_as(AlertRuleRead), json=fields)

    @endpoint
    def toggle(self, rule_id: int) -> Call[AlertRuleRead]:
        return Call("POST", f"{RULES}/{int(rule_id)}/toggle", parse_as(AlertRuleRead))

    @endpoint
    def delete(self, rule_id: int) -> Call[None]:
        return Call("DELETE", f"{RULES}/{int(rule_id)}", no_content)
