"""Imports every domain's tables so `Base.metadata` is complete (Alembic, tests)."""

from server.audit.models import AuditLog
from server.auth.models import ApiKey, AuthSession, MfaBackupCode, OneTimeToken, RefreshToken
from server.billing.models import Plan
from server.db.base import Base
from server.incidents.models import Incident, IncidentEvent
from server.monitors.models import CheckResult, MaintenanceWindow, Monitor, MonitorRollup
from server.orgs.models import Membership, Organization
from server.users.models import Invitation, User

__all__ = [
    "ApiKey",
    "AuditLog",
    "AuthSession",
    "Base",
    "CheckResult",
    "Incident",
    "IncidentEvent",
    "Invitation",
    "MaintenanceWindow",
    "Membership",
    "MfaBackupCode",
    "Monitor",
    "MonitorRollup",
    "OneTimeToken",
    "Organization",
    "Plan",
    "RefreshToken",
    "User",
]
