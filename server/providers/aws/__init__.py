"""Everything that talks to AWS goes through this package: the only boto3 import.

boto3 blocks, so every call runs in a worker thread (`run`); nothing here touches the event
loop or the database. Callers get plain dicts and dataclasses, and `AwsError` for failures,
with `permanent` telling a bad credential (stop, tell the user) from a hiccup (retry later).

session.py: credentials, cached sessions and clients, errors; discovery.py: connection
tests and resource listings; actions.py: start, stop, reboot; costs.py: Cost Explorer.
Callers use the names below (`from server.providers import aws; aws.discover(...)`).
"""

from server.providers.aws.actions import GONE_STATE, resource_action, resource_state
from server.providers.aws.costs import (
    COST_EXPLORER_REGION,
    COST_METRIC,
    cost_and_usage_page,
    is_organization_payer,
)
from server.providers.aws.discovery import (
    COSTS_NOT_CHECKED,
    GLOBAL_SERVICES,
    REGIONAL_SERVICES,
    SERVICE_TYPES,
    FeatureCheck,
    Identity,
    check_features,
    discover,
    enabled_regions,
    identity,
    is_credential_error,
)
from server.providers.aws.session import (
    AwsCredentials,
    AwsError,
    AwsTarget,
    client,
    explain,
    forget_clients,
    forget_role_session,
    run,
)

__all__ = [
    "COSTS_NOT_CHECKED",
    "COST_EXPLORER_REGION",
    "COST_METRIC",
    "GLOBAL_SERVICES",
    "GONE_STATE",
    "REGIONAL_SERVICES",
    "SERVICE_TYPES",
    "AwsCredentials",
    "AwsError",
    "AwsTarget",
    "FeatureCheck",
    "Identity",
    "check_features",
    "client",
    "cost_and_usage_page",
    "discover",
    "enabled_regions",
    "explain",
    "forget_clients",
    "forget_role_session",
    "identity",
    "is_credential_error",
    "is_organization_payer",
    "resource_action",
    "resource_state",
    "run",
]
