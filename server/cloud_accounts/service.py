"""Cloud accounts: create, change, delete, test and discover, with credentials kept secret.

Credentials are stored as JSON encrypted with the server's Fernet key and never leave the
server; responses carry `credentials_hint` only. Every change, test and discovery request
is audited (without the secret). Other domains read an account's credentials through
`credentials_of` / `aws_target`.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.billing.plans import check_limit
from server.cloud_accounts.models import CloudAccount
from server.cloud_accounts.providers import (
    ConnectionReport,
    Provider,
    ProviderUnavailable,
    auth_method,
    credentials_hint,
    provider_for,
)
from server.config import Settings
from server.db import paging
from server.http.errors import BadRequest, Conflict, NotFound
from server.jobs import service as jobs
from server.keys import Keys
from server.providers import aws
from server.service_context import Context, Wake
from shared.api.billing import Limit
from shared.api.cloud_accounts import (
    AccountStatus,
    CloudAccountCreate,
    CloudAccountRead,
    CloudAccountUpdate,
    ConnectionTestRequest,
    ConnectionTestResult,
    Credentials,
    PermissionCheck,
)
from shared.api.common import Page, PageQuery
from shared.api.jobs import JobAccepted, JobKind

RESOURCE = "cloud_account"


def account_read(account: CloudAccount) -> CloudAccountRead:
    return CloudAccountRead.model_validate(account)


def _provider(settings: Settings, name: str) -> Provider:
    try:
        return provider_for(name, settings)
    except ProviderUnavailable as exc:
        raise BadRequest(str(exc)) from exc


def _plain(credentials: Credentials) -> dict[str, str]:
    return {key: str(value) for key, value in credentials.model_dump().items()}


def _seal(keys: Keys, credentials: dict[str, str]) -> str:
    return keys.encrypt(json.dumps(credentials, separators=(",", ":")))


def credentials_of(keys: Keys, account: CloudAccount) -> dict[str, str]:
    """The account's decrypted credentials, for provider calls only (never a response)."""
    values: dict[str, str] = json.loads(keys.decrypt(account.credentials))
    return values


def aws_target(settings: Settings, keys: Keys, account: CloudAccount) -> aws.AwsTarget:
    """Where an AWS account's calls go, for the resource actions and cost sync."""
    return aws.AwsTarget(
        credentials=aws.AwsCredentials.from_dict(credentials_of(keys, account)),
        endpoint_url=settings.aws_endpoint_url,
        max_attempts=settings.aws_max_attempts,
    )


async def account_of(db: AsyncSession, *, org_id: int, account_id: int) -> CloudAccount:
    """The account `account_id` of `org_id`; another organization's is a 404 too."""
    account = await db.scalar(
        select(CloudAccount).where(CloudAccount.id == account_id, CloudAccount.org_id == org_id)
    )
    if account is None:
        raise NotFound("Cloud account not found")
    return account


async def list_accounts(
    db: AsyncSession, *, org_id: int, query: PageQuery
) -> Page[CloudAccountRead]:
    statement = (
        select(CloudAccount)
        .where(CloudAccount.org_id == org_id)
        .order_by(CloudAccount.name, CloudAccount.id)
    )
    return await paging.page_of(db, statement, query, Page[CloudAccountRead], account_read)


async def _name_taken(db: AsyncSession, *, org_id: int, name: str, but: int | None) -> bool:
    found = await db.scalar(
        select(CloudAccount.id).where(
            CloudAccount.org_id == org_id,
            # SQLite's lower() on both sides: it folds ASCII only, and Python's lower() of a
            # name like "Ⱥ" never matched the stored one, so a duplicate reached the unique
            # index (a 500) instead of this 409.
            func.lower(CloudAccount.name) == func.lower(name),
            CloudAccount.id != (but or 0),
        )
    )
    return found is not None


async def create(ctx: Context, *, data: CloudAccountCreate) -> CloudAccountRead:
    """1. Refuse a provider not served yet (400) and a name already used (409).
    2. Refuse one account more than the plan allows (403 naming the limit).
    3. Store the credentials encrypted; the account is `pending` until tested."""
    org_id = ctx.auth.org_id
    _provider(ctx.settings, data.provider.value)
    if await _name_taken(ctx.db, org_id=org_id, name=data.name, but=None):
        raise Conflict(f"name: a cloud account named {data.name!r} already exists")
    count = await ctx.db.scalar(
        select(func.count()).select_from(CloudAccount).where(CloudAccount.org_id == org_id)
    )
    await check_limit(ctx.db, org_id, Limit.cloud_accounts, current=count or 0)
    credentials = _plain(data.credentials)
    account = CloudAccount(
        org_id=org_id,
        name=data.name,
        provider=data.provider.value,
        auth_method=auth_method(credentials),
        credentials=_seal(ctx.keys, credentials),
        credentials_hint=credentials_hint(credentials),
        default_region=data.default_region,
        regions=list(dict.fromkeys(data.regions or [])),
        cloudwatch_enabled=data.cloudwatch_enabled,
        status=AccountStatus.pending.value,
    )
    ctx.db.add(account)
    await ctx.db.flush()
    await audit.record(
        ctx, action="cloud_account.created", resource_type=RESOURCE, resource_id=account.id,
        detail=f"{account.provider} {account.auth_method} {account.credentials_hint}: {data.name}",
    )  # fmt: skip
    return account_read(account)


async def update(ctx: Context, *, account_id: int, data: CloudAccountUpdate) -> CloudAccountRead:
    """Change what is given. New credentials replace the old ones (whose cached session is
    dropped) and put the account back to `pending` until tested."""
    account = await account_of(ctx.db, org_id=ctx.auth.org_id, account_id=account_id)
    changed: list[str] = []
    if data.name is not None and data.name != account.name:
        if await _name_taken(ctx.db, org_id=account.org_id, name=data.name, but=account.id):
            raise Conflict(f"name: a cloud account named {data.name!r} already exists")
        account.name = data.name
        changed.append("name")
    if data.credentials is not None:
        provider = _provider(ctx.settings, account.provider)
        provider.forget(credentials_of(ctx.keys, account))
        credentials = _plain(data.credentials)
        account.credentials = _seal(ctx.keys, credentials)
        account.auth_method = auth_method(credentials)
        account.credentials_hint = credentials_hint(credentials)
        account.status = AccountStatus.pending.value
        account.status_detail = None
        changed.append("credentials")
    if data.default_region is not None and data.default_region != account.default_region:
        account.default_region = data.default_region
        changed.append("default_region")
    if data.regions is not None and data.regions != account.regions:
        account.regions = list(dict.fromkeys(data.regions))
        changed.append("regions")
    if (
        data.cloudwatch_enabled is not None
        and data.cloudwatch_enabled != account.cloudwatch_enabled
    ):
        account.cloudwatch_enabled = data.cloudwatch_enabled
        changed.append("cloudwatch_enabled")
    if changed:
        account.updated_at = datetime.now(UTC)
        await ctx.db.flush()
        await audit.record(
            ctx, action="cloud_account.updated", resource_type=RESOURCE,
            resource_id=account.id, detail="changed: " + ", ".join(changed),
        )  # fmt: skip
    return account_read(account)


async def remove(ctx: Context, *, account_id: int) -> None:
    """Delete the account; its resources, cost rows and jobs go with it (foreign keys
    cascade, SQLite has them on: server/db/engine.py)."""
    account = await account_of(ctx.db, org_id=ctx.auth.org_id, account_id=account_id)
    # A provider no longer served, or a key changed: nothing is cached then.
    with contextlib.suppress(BadRequest, ValueError):
        _provider(ctx.settings, account.provider).forget(credentials_of(ctx.keys, account))
    name, hint = account.name, account.credentials_hint
    await ctx.db.execute(delete(CloudAccount).where(CloudAccount.id == account.id))
    ctx.db.expunge(account)
    await audit.record(
        ctx, action="cloud_account.deleted", resource_type=RESOURCE, resource_id=account_id,
        detail=f"{name} ({hint}) with its resources and cost rows",
    )  # fmt: skip


def _result(report: ConnectionReport) -> ConnectionTestResult:
    return ConnectionTestResult(
        ok=report.ok,
        account_id=report.account_id,
        detail=report.detail,
        permissions=[
            PermissionCheck(feature=p.feature, ok=p.ok, detail=p.detail, checked=p.checked)
            for p in report.permissions
        ],
    )


async def test_unsaved(ctx: Context, *, data: ConnectionTestRequest) -> ConnectionTestResult:
    """Try credentials before saving them; nothing is stored but an audit entry."""
    provider = _provider(ctx.settings, data.provider.value)
    credentials = _plain(data.credentials)
    report = await provider.test_connection(credentials, region=data.default_region)
    await audit.record(
        ctx, action="cloud_account.tested", resource_type=RESOURCE,
        detail=f"unsaved {data.provider.value} {credentials_hint(credentials)}: "
        + ("ok" if report.ok else report.detail),
    )  # fmt: skip
    return _result(report)


def apply_report(account: CloudAccount, report: ConnectionReport, now: datetime) -> None:
    """What a test says about the account: `ok` once its identity is proven (missing
    permissions are in the detail), `error` when it cannot connect."""
    account.last_tested_at = now
    account.status = (AccountStatus.ok if report.account_id else AccountStatus.error).value
    account.status_detail = report.detail[:2000]
    if report.account_id:
        account.external_account_id = report.account_id


async def test_saved(ctx: Context, *, account_id: int) -> ConnectionTestResult:
    account = await account_of(ctx.db, org_id=ctx.auth.org_id, account_id=account_id)
    provider = _provider(ctx.settings, account.provider)
    report = await provider.test_connection(
        credentials_of(ctx.keys, account), region=account.default_region
    )
    apply_report(account, report, datetime.now(UTC))
    await ctx.db.flush()
    await audit.record(
        ctx, action="cloud_account.tested", resource_type=RESOURCE, resource_id=account.id,
        detail="ok" if report.ok else report.detail,
    )  # fmt: skip
    return _result(report)


async def discover(ctx: Context, *, account_id: int) -> JobAccepted:
    """Queue a discovery run (202); one already queued or running is answered instead."""
    account = await account_of(ctx.db, org_id=ctx.auth.org_id, account_id=account_id)
    _provider(ctx.settings, account.provider)
    job, new = await jobs.enqueue(
        ctx.db, org_id=account.org_id, kind=JobKind.discovery, account_id=account.id,
        requested_by_id=ctx.auth.user_id,
    )  # fmt: skip
    if new:
        await audit.record(
            ctx, action="cloud_account.discovery_requested", resource_type=RESOURCE,
            resource_id=account.id, detail=f"job {job.id}",
        )  # fmt: skip
        ctx.publish_after_commit(jobs.event_data(job))
    ctx.wake(Wake.discovery)
    return JobAccepted(job_id=job.id)
