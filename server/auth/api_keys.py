"""API keys: long-lived bearer tokens for scripts, scoped to one organization.

Any member may create keys up to their own role. Superadmins see and revoke every key of
the organization; other members only their own. Another organization's key is a 404.
The key is shown once; only its SHA-256 and last four characters are kept.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Select, select

from server.audit import service as audit
from server.auth.models import ApiKey
from server.auth.tokens import API_KEY_PREFIX, hash_secret, masked, new_secret
from server.http.errors import BadRequest, Forbidden, NotFound
from server.service_context import Context
from shared.api.auth import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from shared.api.common import Role


def _read(key: ApiKey) -> dict[str, object]:
    return {
        "id": key.id,
        "name": key.name,
        "role": Role(key.role),
        "hint": masked(key.last_four, API_KEY_PREFIX),
        "created_at": key.created_at,
        "expires_at": key.expires_at,
        "last_used_at": key.last_used_at,
    }


def _visible(ctx: Context) -> Select[ApiKey]:
    query = select(ApiKey).where(ApiKey.org_id == ctx.auth.org_id, ApiKey.revoked_at.is_(None))
    if ctx.auth.role is not Role.superadmin:
        query = query.where(ApiKey.user_id == ctx.auth.user_id)
    return query


async def list_keys(ctx: Context) -> list[ApiKeyRead]:
    keys = (await ctx.db.execute(_visible(ctx).order_by(ApiKey.id))).scalars().all()
    return [ApiKeyRead.model_validate(_read(key)) for key in keys]


async def create(ctx: Context, data: ApiKeyCreate) -> ApiKeyCreated:
    role = data.role or ctx.auth.role
    if not ctx.auth.role.at_least(role):
        raise Forbidden(f"An API key cannot have a higher role than yours ({ctx.auth.role})")
    if data.expires_at is not None and data.expires_at <= datetime.now(UTC):
        raise BadRequest("expires_at must be in the future")
    secret = new_secret(API_KEY_PREFIX)
    key = ApiKey(
        org_id=ctx.auth.org_id,
        user_id=ctx.auth.user_id,
        name=data.name,
        role=role.value,
        key_hash=hash_secret(secret),
        last_four=secret[-4:],
        created_at=datetime.now(UTC),
        expires_at=data.expires_at,
    )
    ctx.db.add(key)
    await ctx.db.flush()
    await audit.record(
        ctx,
        action="api_key.created",
        resource_type="api_key",
        resource_id=key.id,
        detail=f"{key.name} ({role})",
    )
    return ApiKeyCreated.model_validate({**_read(key), "key": secret})


async def revoke(ctx: Context, key_id: int) -> None:
    key = (await ctx.db.execute(_visible(ctx).where(ApiKey.id == key_id))).scalar_one_or_none()
    if key is None:
        raise NotFound("API key not found")
    key.revoked_at = datetime.now(UTC)
    await audit.record(
        ctx, action="api_key.revoked", resource_type="api_key", resource_id=key.id, detail=key.name
    )
