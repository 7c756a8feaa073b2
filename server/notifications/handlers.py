"""HTTP handlers for /notifications: parse -> call service -> serialize."""

from __future__ import annotations

from server.http.routing import Call
from server.notifications import channels, inbox, preferences, rules
from shared.api.common import Page
from shared.api.notifications import (
    ChannelRead,
    ChannelTestResult,
    DeliveryRead,
    NotificationRead,
    Preferences,
    RuleRead,
    UnreadCount,
)


async def list_channels(call: Call) -> Page[ChannelRead]:
    """GET /notifications/channels"""
    return await channels.list_channels(call.ctx, query=call.query)


async def create_channel(call: Call) -> ChannelRead:
    """POST /notifications/channels"""
    return await channels.create_channel(call.ctx, data=call.body)


async def get_channel(call: Call) -> ChannelRead:
    """GET /notifications/channels/{id}"""
    return await channels.get_channel(call.ctx, channel_id=call.path["id"])


async def update_channel(call: Call) -> ChannelRead:
    """PATCH /notifications/channels/{id}"""
    return await channels.update_channel(call.ctx, channel_id=call.path["id"], data=call.body)


async def delete_channel(call: Call) -> None:
    """DELETE /notifications/channels/{id}"""
    await channels.delete_channel(call.ctx, channel_id=call.path["id"])


async def test_channel(call: Call) -> ChannelTestResult:
    """POST /notifications/channels/{id}/test"""
    return await channels.test_channel(call.ctx, channel_id=call.path["id"])


async def list_rules(call: Call) -> Page[RuleRead]:
    """GET /notifications/rules"""
    return await rules.list_rules(call.ctx, query=call.query)


async def create_rule(call: Call) -> RuleRead:
    """POST /notifications/rules"""
    return await rules.create_rule(call.ctx, data=call.body)


async def get_rule(call: Call) -> RuleRead:
    """GET /notifications/rules/{id}"""
    return await rules.get_rule(call.ctx, rule_id=call.path["id"])


async def update_rule(call: Call) -> RuleRead:
    """PATCH /notifications/rules/{id}"""
    return await rules.update_rule(call.ctx, rule_id=call.path["id"], data=call.body)


async def delete_rule(call: Call) -> None:
    """DELETE /notifications/rules/{id}"""
    await rules.delete_rule(call.ctx, rule_id=call.path["id"])


async def list_deliveries(call: Call) -> Page[DeliveryRead]:
    """GET /notifications/deliveries"""
    return await inbox.list_deliveries(call.ctx, query=call.query)


async def list_inbox(call: Call) -> Page[NotificationRead]:
    """GET /notifications"""
    return await inbox.list_inbox(call.ctx, query=call.query)


async def unread_count(call: Call) -> UnreadCount:
    """GET /notifications/unread-count"""
    return await inbox.unread_count(call.ctx)


async def mark_read(call: Call) -> NotificationRead:
    """POST /notifications/{id}/read"""
    return await inbox.mark_read(call.ctx, notification_id=call.path["id"])


async def mark_all_read(call: Call) -> UnreadCount:
    """POST /notifications/read-all"""
    return await inbox.mark_all_read(call.ctx)


async def delete_notification(call: Call) -> None:
    """DELETE /notifications/{id}"""
    await inbox.delete_line(call.ctx, notification_id=call.path["id"])


async def get_preferences(call: Call) -> Preferences:
    """GET /notifications/preferences"""
    return await preferences.get_preferences(call.ctx)


async def put_preferences(call: Call) -> Preferences:
    """PUT /notifications/preferences"""
    return await preferences.put_preferences(call.ctx, data=call.body)
