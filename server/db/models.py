"""Imports every domain's tables so `Base.metadata` is complete (Alembic, tests)."""

from server.agents.models import Agent, AgentContainer
from server.alert_rules.models import AlertOverride, AlertRule, AlertState
from server.audit.models import AuditLog
from server.auth.models import ApiKey, AuthSession, MfaBackupCode, OneTimeToken, RefreshToken
from server.billing.models import (
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Plan,
    Subscription,
    WebhookEvent,
)
from server.budgets.models import Budget
from server.cloud_accounts.models import CloudAccount
from server.costs.models import CostAccountDay, CostDaily, CostServiceDay, CostSync
from server.db.base import Base
from server.events.models import LiveEvent
from server.incidents.models import Incident, IncidentEvent
from server.jobs.models import Job
from server.metrics.models import (
    agent_rollup,
    agent_sample,
    metric_block,
    series_rollup,
    series_sample,
)
from server.monitors.models import CheckResult, MaintenanceWindow, Monitor, MonitorRollup
from server.notifications.models import (
    DeliveryAttempt,
    Notification,
    NotificationChannel,
    NotificationDelivery,
    NotificationEvent,
    NotificationPreference,
    NotificationRule,
)
from server.orgs.models import Membership, Organization
from server.resources.models import SEARCH_TABLE, Resource, ResourceAction, ResourceTag
from server.status_pages.models import (
    Announcement,
    AnnouncementStep,
    StatusPage,
    StatusPageMonitor,
    StatusSubscriber,
)
from server.users.models import Invitation, SshKey, User


def described_by_models(name: str | None, type_: str, _parents: object = None) -> bool:
    """Whether Alembic compares `name` with the models: not the full-text index and its
    shadow tables (resource_search_data, ...) on SQLite, nor the trigram indexes that stand
    for them on PostgreSQL, which migrations create as raw SQL."""
    if name is None:
        return True
    if type_ == "index":
        return not name.endswith("_trgm")
    if type_ != "table":
        return True
    return name != SEARCH_TABLE and not name.startswith(f"{SEARCH_TABLE}_")


__all__ = [
    "Agent",
    "AgentContainer",
    "AlertOverride",
    "AlertRule",
    "AlertState",
    "Announcement",
    "AnnouncementStep",
    "ApiKey",
    "AuditLog",
    "AuthSession",
    "Base",
    "Budget",
    "CheckResult",
    "CloudAccount",
    "CostAccountDay",
    "CostDaily",
    "CostServiceDay",
    "CostSync",
    "DeliveryAttempt",
    "Incident",
    "IncidentEvent",
    "Invitation",
    "Invoice",
    "InvoiceCounter",
    "InvoiceLine",
    "Job",
    "LiveEvent",
    "MaintenanceWindow",
    "Membership",
    "MfaBackupCode",
    "Monitor",
    "MonitorRollup",
    "Notification",
    "NotificationChannel",
    "NotificationDelivery",
    "NotificationEvent",
    "NotificationPreference",
    "NotificationRule",
    "OneTimeToken",
    "Organization",
    "Plan",
    "RefreshToken",
    "Resource",
    "ResourceAction",
    "ResourceTag",
    "SshKey",
    "StatusPage",
    "StatusPageMonitor",
    "StatusSubscriber",
    "Subscription",
    "User",
    "WebhookEvent",
    "agent_rollup",
    "agent_sample",
    "described_by_models",
    "metric_block",
    "series_rollup",
    "series_sample",
]
