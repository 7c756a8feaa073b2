"""Alert rules: which severity an incident opens with, and which channels hear of it,
for monitors going down or degraded, certificates expiring and budgets passing a limit.

Metric rules (infra_metric, cloudwatch_metric, agent_offline) come with the agents; their
fields (`metric`, `condition`, `threshold`, `breach_count`, `recovery_count`) are part of
the shape already.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from shared.api.common import ApiModel, Name, ReadModel, UpdateModel, UtcDatetime
from shared.api.incidents import Severity, TriggerType
from shared.api.monitors import Tag

# The kinds a rule takes today: the monitor and budget triggers.
RULE_TRIGGERS = (
    TriggerType.monitor_down,
    TriggerType.monitor_degraded,
    TriggerType.ssl_expiring,
    TriggerType.budget_threshold,
    TriggerType.budget_exceeded,
)
MONITOR_TRIGGERS = frozenset(RULE_TRIGGERS[:3])


class Condition(StrEnum):
    above = "above"
    below = "below"
    equals = "equals"


class Scope(ApiModel):
    """Which targets a rule covers; empty covers them all. A monitor is covered when its id
    is listed or it has one of the tags."""

    agent_ids: list[int] = Field(default_factory=list, max_length=500)
    monitor_ids: list[int] = Field(default_factory=list, max_length=500)
    tags: list[Tag] = Field(default_factory=list, max_length=50)


class AlertRuleCreate(ApiModel):
    name: Name
    trigger_type: TriggerType
    metric: str | None = Field(None, max_length=64, description="Metric rules only.")
    condition: Condition | None = Field(None, description="Metric rules only.")
    threshold: float | None = Field(None, description="Metric rules only.")
    breach_count: int = Field(2, ge=1, le=100, description="Metric rules only.")
    recovery_count: int = Field(2, ge=1, le=100, description="Metric rules only.")
    severity: Severity = Severity.critical
    cooldown_minutes: int = Field(
        0, ge=0, le=10080,
        description="After an incident of a target resolved on its own, none opens again "
        "for it this long (a flapping guard); resolving one by hand resets it.",
    )  # fmt: skip
    scope: Scope = Field(default_factory=Scope)
    channel_ids: list[int] = Field(default_factory=list, max_length=20)
    enabled: bool = True


class AlertRuleUpdate(UpdateModel):
    not_null = frozenset(
        {"name", "breach_count", "recovery_count", "severity", "cooldown_minutes", "scope",
         "channel_ids", "enabled"}
    )  # fmt: skip

    name: Name | None = None
    metric: str | None = Field(None, max_length=64)
    condition: Condition | None = None
    threshold: float | None = None
    breach_count: int | None = Field(None, ge=1, le=100)
    recovery_count: int | None = Field(None, ge=1, le=100)
    severity: Severity | None = None
    cooldown_minutes: int | None = Field(None, ge=0, le=10080)
    scope: Scope | None = None
    channel_ids: list[int] | None = Field(None, max_length=20)
    enabled: bool | None = None


class AlertRuleRead(ReadModel):
    id: int
    name: str
    trigger_type: TriggerType
    metric: str | None
    condition: Condition | None
    threshold: float | None
    breach_count: int
    recovery_count: int
    severity: Severity
    cooldown_minutes: int
    scope: Scope
    channel_ids: list[int]
    enabled: bool
    created_at: UtcDatetime
    updated_at: UtcDatetime
