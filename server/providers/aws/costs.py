"""Cost Explorer: daily costs, and whether an account pays for an AWS organization."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from server.providers.aws.discovery import caller_identity
from server.providers.aws.session import AwsTarget, client, run

# GetCostAndUsage is billed per request ($0.01 each); Organizations and STS calls are free.
# https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetCostAndUsage.html
# Cost Explorer is a global service answered from us-east-1.
COST_EXPLORER_REGION = "us-east-1"
COST_METRIC = "UnblendedCost"
_NO_ORGANIZATION = {
    "AWSOrganizationsNotInUseException",
    "AccessDeniedException",
    "AccessDenied",
}


def _is_organization_payer(target: AwsTarget) -> bool:
    # Identity first: refused credentials fail here with STS's clear error codes.
    identity = caller_identity(target, COST_EXPLORER_REGION)
    organizations = client(target, "organizations", COST_EXPLORER_REGION)
    try:
        organization = organizations.describe_organization()["Organization"]
    except ClientError as exc:
        # Not in an organization, or not allowed to ask (a member account usually is not):
        # either way its own costs are all Cost Explorer shows it.
        if exc.response.get("Error", {}).get("Code") in _NO_ORGANIZATION:
            return False
        raise
    return bool(organization.get("MasterAccountId") == identity.account_id)


async def is_organization_payer(target: AwsTarget) -> bool:
    """Whether the account is the management (payer) account of an AWS organization, whose
    Cost Explorer shows every member account's costs: DescribeOrganization names it as the
    master. Two free calls (Organizations, STS)."""
    return await run(_is_organization_payer, target)


def _cost_and_usage(
    target: AwsTarget, start: str, end: str, group_by: list[str], token: str | None
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "TimePeriod": {"Start": start, "End": end},
        "Granularity": "DAILY",
        "Metrics": [COST_METRIC],
        "GroupBy": [{"Type": "DIMENSION", "Key": key} for key in group_by],
    }
    if token:
        params["NextPageToken"] = token
    explorer = client(target, "ce", COST_EXPLORER_REGION)
    answer: dict[str, Any] = explorer.get_cost_and_usage(**params)
    return answer


async def cost_and_usage_page(
    target: AwsTarget, *, start: str, end: str, group_by: list[str], token: str | None = None
) -> dict[str, Any]:
    """One page of daily unblended costs from `start` to `end` (ISO days, end exclusive),
    grouped by the dimensions in `group_by` (at most two, e.g. LINKED_ACCOUNT and SERVICE):
    Cost Explorer's answer as is ({"ResultsByTime": [...], "NextPageToken"?}). One billed
    request; the caller loops on NextPageToken."""
    return await run(_cost_and_usage, target, start, end, group_by, token)
