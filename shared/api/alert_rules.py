"""Alert rules: which severity an incident opens with, and which channels hear of it,
for monitors going down or degraded, certificates expiring, budgets passing a limit, agents
going offline, and agent metrics crossing a threshold (`infra_metric` rules, which open
incidents themselves and can be backtested over stored metrics).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from shared.api.common import ApiModel, Name, ReadModel, UpdateModel, UtcDatetime
from shared.api.incidents import Severity, TriggerType
from shared.api.monitors import Tag

# The kinds a rule takes (cloudwatch_metric comes with CloudWatch metrics).
RULE_TRIGGERS = (
    TriggerType.monitor_down,
    TriggerType.monitor_degraded,
    TriggerType.ssl_expiring,
    TriggerType.budget_threshold,
    TriggerType.budget_exceeded,
    TriggerType.agent_offline,
    TriggerType.infra_metric,
)
MONITOR_TRIGGERS = frozenset(RULE_TRIGGERS[:3])
AGENT_TRIGGERS = frozenset({TriggerType.agent_offline, TriggerType.infra_metric})


class Metric(StrEnum):
    """What an infra_metric rule watches. A disk rule judges each mount, a container rule
    each container, of every agent it covers."""

    cpu_pct = "cpu_pct"
    mem_pct = "mem_pct"
    disk_pct = "disk_pct"
    load1 = "load1"
    net_errors_per_min = "net_errors_per_min"
    container_cpu_pct = "container_cpu_pct"
    container_mem_pct = "container_mem_pct"


class Condition(StrEnum):
    above = "above"
    below = "below"
    equals = "equals"


class Scope(ApiModel):
    """Which targets a rule covers; empty covers them all. A monitor (or an agent) is
    covered when its id is listed or it has one of the tags."""

    agent_ids: list[int] = Field(default_factory=list, max_length=500)
    monitor_ids: list[int] = Field(default_factory=list, max_length=500)
    tags: list[Tag] = Field(default_factory=list, max_length=50)


class AlertRuleCreate(ApiModel):
    name: Name
    trigger_type: TriggerType
    metric: Metric | None = Field(None, description="Metric rules only.")
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
    metric: Metric | None = None
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
    metric: Metric | None
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


class OverrideSet(ApiModel):
    """One agent's exception to a metric rule: its own threshold, or the rule off for it."""

    threshold: float | None = Field(None, description="null keeps the rule's threshold")
    enabled: bool = True


class OverrideRead(ReadModel):
    agent_id: int
    agent_name: str
    threshold: float | None
    enabled: bool
    updated_at: UtcDatetime


class BacktestRequest(ApiModel):
    from_: UtcDatetime = Field(alias="from")
    to: UtcDatetime
    agent_ids: list[int] = Field(
        default_factory=list, max_length=500, description="default: every agent the rule covers"
    )

    model_config = {**ApiModel.model_config, "populate_by_name": True}


class BacktestIncident(ReadModel):
    agent_id: int
    target: str = Field(description="host, a disk's mount, or a container's name")
    opened_at: UtcDatetime
    resolved_at: UtcDatetime | None = Field(description="null when still open at `to`")
    peak_value: float = Field(description="the worst value while it was open")


class BacktestResult(ReadModel):
    rule_id: int
    from_: UtcDatetime = Field(alias="from")
    to: UtcDatetime
    samples: int = Field(description="samples judged")
    incidents: list[BacktestIncident]

    model_config = {**ReadModel.model_config, "populate_by_name": True}
