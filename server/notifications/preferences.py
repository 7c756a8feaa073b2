"""Each member's notification preferences: what they are told in the inbox and by email,
from which severity on, and their quiet hours (server/notifications/quiet.py)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.notifications.models import NotificationPreference
from server.service_context import Context
from shared.api.notifications import Preferences, PreferencesChange


async def preferences_of(db: AsyncSession, user_ids: Iterable[int]) -> dict[int, Preferences]:
    """The members' stored preferences (a member who never chose has none here)."""
    rows = await db.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id.in_(list(user_ids)))
    )
    return {row.user_id: Preferences.model_validate(row.preferences) for row in rows}


async def get_preferences(ctx: Context) -> Preferences:
    found = await preferences_of(ctx.db, [ctx.auth.user_id])
    return found.get(ctx.auth.user_id, Preferences()).completed()


async def put_preferences(ctx: Context, *, data: PreferencesChange) -> Preferences:
    """Replace the caller's preferences (events left out go back to their defaults)."""
    stored = data.model_dump(mode="json", exclude_unset=False)
    row = await ctx.db.get(NotificationPreference, ctx.auth.user_id)
    if row is None:
        ctx.db.add(NotificationPreference(user_id=ctx.auth.user_id, preferences=stored))
    else:
        row.preferences = stored
    await ctx.db.flush()
    quiet = data.quiet_hours
    await audit.record(
        ctx, action="notification_preferences.updated", resource_type="user",
        resource_id=ctx.auth.user_id,
        detail=f"min severity {data.min_severity.value}; quiet hours "
        + (f"{quiet.start}-{quiet.end} {quiet.timezone}" if quiet.enabled else "off"),
    )  # fmt: skip
    return Preferences.model_validate(stored).completed()
