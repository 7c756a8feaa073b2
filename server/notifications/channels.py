"""Notification channels: where an org's events go (a Slack webhook, a PagerDuty service,
an email list, ...).

A channel's config is checked by its type's model (server/providers/channels/) before it
is stored. The secret keys of a type (webhook URLs, tokens) are stored encrypted with the
server's key and never leave it: reads show `****` and the last four characters. A PATCH
merges into the stored config, so a secret left out, or sent back as its masked hint,
keeps its value.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.db import paging
from server.db.owned import check_name_free, flush_named, one_of_org
from server.http.errors import BadRequest
from server.keys import Keys
from server.notifications.models import NotificationChannel, NotificationRule
from server.orgs.models import Organization
from server.providers.channels import parse_config, secret_fields
from server.providers.channels.base import ChannelConfig, DeliveryError, Notice
from server.service_context import Context
from shared.api.common import Page, PageQuery
from shared.api.notifications import (
    ChannelCreate,
    ChannelRead,
    ChannelTestResult,
    ChannelType,
    ChannelUpdate,
)

MASK = "****"
NOUN = "Channel"


def hint(value: Any) -> Any:
    """`****ab12` for a secret (a list of secrets: one hint each); `****` when short."""
    if isinstance(value, list):
        return [hint(item) for item in value]
    text = str(value)
    return MASK + text[-4:] if len(text) >= 12 else MASK


def channel_read(channel: NotificationChannel, keys: Keys) -> ChannelRead:
    config = dict(channel.config)
    for name, value in stored_secrets(channel, keys).items():
        config[name] = hint(value)
    return ChannelRead(
        id=channel.id,
        name=channel.name,
        type=ChannelType(channel.type),
        config=config,
        enabled=channel.enabled,
        last_error=channel.last_error,
        last_error_at=channel.last_error_at,
        last_delivered_at=channel.last_delivered_at,
        created_at=channel.created_at,
        updated_at=channel.updated_at,
    )


def stored_secrets(channel: NotificationChannel, keys: Keys) -> dict[str, Any]:
    if not channel.secrets:
        return {}
    found: dict[str, Any] = json.loads(keys.decrypt(channel.secrets))
    return found


def full_config(channel: NotificationChannel, keys: Keys) -> ChannelConfig:
    """The channel's whole config, secrets decrypted, as its type's model: for sending."""
    return parse_config(channel.type, {**channel.config, **stored_secrets(channel, keys)})


def _validated(type_: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The config as the type's model reads it, or a 400 naming what is wrong."""
    try:
        config = parse_config(type_, raw)
    except ValueError as exc:
        raise BadRequest(f"body field 'config': {exc}") from exc
    return config.model_dump(mode="json", exclude_none=True)


def _store(channel: NotificationChannel, config: dict[str, Any], keys: Keys) -> None:
    secret_names = secret_fields(channel.type)
    channel.config = {k: v for k, v in config.items() if k not in secret_names}
    secrets = {k: v for k, v in config.items() if k in secret_names}
    channel.secrets = keys.encrypt(json.dumps(secrets)) if secrets else None


async def channel_of(db: AsyncSession, *, org_id: int, channel_id: int) -> NotificationChannel:
    """The channel `channel_id` of `org_id`; another org's is a 404."""
    return await one_of_org(db, NotificationChannel, org_id=org_id, id=channel_id, noun=NOUN)


async def list_channels(ctx: Context, *, query: PageQuery) -> Page[ChannelRead]:
    statement = (
        select(NotificationChannel)
        .where(NotificationChannel.org_id == ctx.auth.org_id)
        .order_by(NotificationChannel.name, NotificationChannel.id)
    )
    return await paging.page_of(
        ctx.db, statement, query, Page[ChannelRead], lambda row: channel_read(row, ctx.keys)
    )


async def get_channel(ctx: Context, *, channel_id: int) -> ChannelRead:
    channel = await channel_of(ctx.db, org_id=ctx.auth.org_id, channel_id=channel_id)
    return channel_read(channel, ctx.keys)


async def _check_name(ctx: Context, name: str, channel_id: int | None) -> None:
    await check_name_free(
        ctx.db, NotificationChannel, org_id=ctx.auth.org_id, name=name, noun=NOUN,
        other_than=channel_id,
    )  # fmt: skip


async def create_channel(ctx: Context, *, data: ChannelCreate) -> ChannelRead:
    config = _validated(data.type.value, data.config)
    await _check_name(ctx, data.name, None)
    channel = NotificationChannel(
        org_id=ctx.auth.org_id, name=data.name, type=data.type.value, enabled=data.enabled
    )
    _store(channel, config, ctx.keys)
    ctx.db.add(channel)
    await flush_named(ctx.db, name=data.name, noun=NOUN)
    await audit.record(
        ctx, action="channel.created", resource_type="notification_channel",
        resource_id=channel.id, detail=f"{channel.type} {channel.name!r}",
    )  # fmt: skip
    return channel_read(channel, ctx.keys)


def _merged(
    stored: dict[str, Any], secrets: dict[str, Any], given: dict[str, Any]
) -> dict[str, Any]:
    """The stored config (`stored`, secrets included) with `given` over it; a secret sent
    back as its hint is kept."""
    merged = dict(stored)
    for name, value in given.items():
        if name in secrets and value == hint(secrets[name]):
            continue
        merged[name] = value
    return merged


async def update_channel(ctx: Context, *, channel_id: int, data: ChannelUpdate) -> ChannelRead:
    """Change what is given. Enabling a channel clears the error that disabled it."""
    channel = await channel_of(ctx.db, org_id=ctx.auth.org_id, channel_id=channel_id)
    changed: list[str] = []
    if data.name is not None and data.name != channel.name:
        await _check_name(ctx, data.name, channel.id)
        channel.name = data.name
        changed.append("name")
    if data.config is not None:
        secrets = stored_secrets(channel, ctx.keys)
        before = {**channel.config, **secrets}
        config = _validated(channel.type, _merged(before, secrets, data.config))
        if config != before:
            _store(channel, config, ctx.keys)
            changed.append("config")
    if data.enabled is not None and data.enabled != channel.enabled:
        channel.enabled = data.enabled
        if data.enabled:
            channel.last_error = channel.last_error_at = None
        changed.append("enabled" if data.enabled else "disabled")
    if changed:
        await flush_named(ctx.db, name=channel.name, noun=NOUN)
        await audit.record(
            ctx, action="channel.updated", resource_type="notification_channel",
            resource_id=channel.id, detail=f"{channel.name!r}: {', '.join(changed)}",
        )  # fmt: skip
    return channel_read(channel, ctx.keys)


async def delete_channel(ctx: Context, *, channel_id: int) -> None:
    """Delete a channel and take it out of every rule; its delivery log stays, by name."""
    channel = await channel_of(ctx.db, org_id=ctx.auth.org_id, channel_id=channel_id)
    rules = await ctx.db.scalars(
        select(NotificationRule).where(NotificationRule.org_id == channel.org_id)
    )
    for rule in rules:
        if channel.id in rule.channel_ids:
            rule.channel_ids = [each for each in rule.channel_ids if each != channel.id]
        if channel.id in rule.escalation_channel_ids:
            rule.escalation_channel_ids = [
                each for each in rule.escalation_channel_ids if each != channel.id
            ]
    await ctx.db.delete(channel)
    await ctx.db.flush()
    await audit.record(
        ctx, action="channel.deleted", resource_type="notification_channel",
        resource_id=channel_id, detail=f"{channel.type} {channel.name!r}",
    )  # fmt: skip


async def test_channel(ctx: Context, *, channel_id: int) -> ChannelTestResult:
    """Send a test message now, past the outbox: the answer is the vendor's. A failure
    here disables nothing (the member is looking at it)."""
    channel = await channel_of(ctx.db, org_id=ctx.auth.org_id, channel_id=channel_id)
    channels = ctx.shared.channels
    if channels is None:  # pragma: no cover - every API process has them
        raise RuntimeError("this process sends no notifications")
    notice = Notice(
        event_type="channel.test",
        idempotency_id=f"test_{channel.id}_{int(time.time())}",
        dedup_key=f"channel-test-{channel.id}",
        title=f"Test message from Upmetr to {channel.name}",
        text="If you can read this, the channel works: incidents will reach you here.",
        severity="info",
        occurred_at=datetime.now(UTC),
        org_name=await _org_name(ctx),
        data={"channel": {"id": channel.id, "name": channel.name, "type": channel.type}},
    )
    started = time.perf_counter()
    try:
        sent = await channels.send(channel.type, notice, full_config(channel, ctx.keys))
    except DeliveryError as exc:
        result = ChannelTestResult(
            ok=False, status_code=exc.status_code, detail=exc.message, permanent=exc.permanent,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )  # fmt: skip
    else:
        result = ChannelTestResult(
            ok=True, status_code=sent.status_code, detail=sent.detail, permanent=False,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )  # fmt: skip
    await audit.record(
        ctx, action="channel.tested", resource_type="notification_channel",
        resource_id=channel.id, detail=f"{channel.name!r}: {'ok' if result.ok else 'failed'}",
    )  # fmt: skip
    return result


async def _org_name(ctx: Context) -> str:
    name = await ctx.db.scalar(select(Organization.name).where(Organization.id == ctx.auth.org_id))
    return name or ""
