"""The notification namespaces: `channels`, `notification_rules`, and `notifications` (the
caller's inbox and the organization's delivery log), all under `/notifications`.

Kept in the `endpoint` style of monitors.py: each call written once for both clients.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import Any

from shared.api.common import Page
from shared.api.incidents import Severity
from shared.api.notifications import (
    ChannelRead,
    ChannelTestResult,
    ChannelType,
    DeliveryRead,
    DeliveryStatus,
    NotificationRead,
    Preferences,
    RuleRead,
    UnreadCount,
)
from shared.client.call import Call, body, no_content, parse_as, query
from shared.client.namespace import M, Namespace, endpoint

CHANNELS = "/notifications/channels"
RULES = "/notifications/rules"


def _rule_body(
    *,
    events: Iterable[str] | None,
    channel_ids: Iterable[int] | None,
    escalation_channel_ids: Iterable[int] | None,
    **fields: Any,
) -> dict[str, Any]:
    """A rule's JSON body; iterables (a tuple of click options) become lists."""

    def listed(values: Iterable[Any] | None) -> builtins.list[Any] | None:
        return None if values is None else builtins.list(values)

    return body(
        events=listed(events),
        channel_ids=listed(channel_ids),
        escalation_channel_ids=listed(escalation_channel_ids),
        **fields,
    )


class Channels(Namespace[M]):
    """Where notifications go (`/notifications/channels`). Secrets in `config` are write-only:
    what comes back shows a masked hint (`****ab12`)."""

    @endpoint
    def list(self, *, page: int = 1, per_page: int = 50) -> Call[Page[ChannelRead]]:
        return Call(
            "GET", CHANNELS, parse_as(Page[ChannelRead]), params=query(page=page, per_page=per_page)
        )

    @endpoint
    def get(self, channel_id: int) -> Call[ChannelRead]:
        return Call("GET", f"{CHANNELS}/{int(channel_id)}", parse_as(ChannelRead))

    @endpoint
    def create(
        self,
        *,
        name: str,
        type: ChannelType | str,
        config: Mapping[str, Any],
        enabled: bool | None = None,
    ) -> Call[ChannelRead]:
        """`config`: the type's keys, as docs/channels.md lists them."""
        return Call(
            "POST",
            CHANNELS,
            parse_as(ChannelRead),
            json=body(name=name, type=type, config=dict(config), enabled=enabled),
        )

    @endpoint
    def update(
        self,
        channel_id: int,
        *,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
        enabled: bool | None = None,
    ) -> Call[ChannelRead]:
        """Change what is given; `config` is merged into the stored one (a secret left out
        keeps its value). Enabling a channel an error disabled clears its `last_error`."""
        return Call(
            "PATCH",
            f"{CHANNELS}/{int(channel_id)}",
            parse_as(ChannelRead),
            json=body(name=name, config=None if config is None else dict(config), enabled=enabled),
        )

    @endpoint
    def delete(self, channel_id: int) -> Call[None]:
        """Delete a channel; the server takes it out of every rule."""
        return Call("DELETE", f"{CHANNELS}/{int(channel_id)}", no_content)

    @endpoint
    def test(self, channel_id: int) -> Call[ChannelTestResult]:
        """Send a test message now; a failure is an answer (`ok` false), not an error."""
        return Call("POST", f"{CHANNELS}/{int(channel_id)}/test", parse_as(ChannelTestResult))


class NotificationRules(Namespace[M]):
    """Routing rules (`/notifications/rules`): which events go to which channels, and where
    an incident nobody acknowledged in time goes next."""

    @endpoint
    def list(self, *, page: int = 1, per_page: int = 50) -> Call[Page[RuleRead]]:
        return Call(
            "GET", RULES, parse_as(Page[RuleRead]), params=query(page=page, per_page=per_page)
        )

    @endpoint
    def get(self, rule_id: int) -> Call[RuleRead]:
        return Call("GET", f"{RULES}/{int(rule_id)}", parse_as(RuleRead))

    @endpoint
    def create(
        self,
        *,
        name: str,
        events: Iterable[str],
        channel_ids: Iterable[int],
        min_severity: Severity | str | None = None,
        enabled: bool | None = None,
        escalate_after_minutes: int | None = None,
        escalation_channel_ids: Iterable[int] | None = None,
    ) -> Call[RuleRead]:
        """`events`: event types (`incident.opened`), families (`budget.*`) or `*`."""
        return Call(
            "POST",
            RULES,
            parse_as(RuleRead),
            json=_rule_body(
                name=name,
                events=events,
                channel_ids=channel_ids,
                min_severity=min_severity,
                enabled=enabled,
                escalate_after_minutes=escalate_after_minutes,
                escalation_channel_ids=escalation_channel_ids,
            ),
        )

    @endpoint
    def update(
        self,
        rule_id: int,
        *,
        name: str | None = None,
        events: Iterable[str] | None = None,
        channel_ids: Iterable[int] | None = None,
        min_severity: Severity | str | None = None,
        enabled: bool | None = None,
        escalate_after_minutes: int | None = None,
        escalation_channel_ids: Iterable[int] | None = None,
    ) -> Call[RuleRead]:
        """Change what is given; None leaves a field as it is."""
        return Call(
            "PATCH",
            f"{RULES}/{int(rule_id)}",
            parse_as(RuleRead),
            json=_rule_body(
                name=name,
                events=events,
                channel_ids=channel_ids,
                min_severity=min_severity,
                enabled=enabled,
                escalate_after_minutes=escalate_after_minutes,
                escalation_channel_ids=escalation_channel_ids,
            ),
        )

    @endpoint
    def delete(self, rule_id: int) -> Call[None]:
        return Call("DELETE", f"{RULES}/{int(rule_id)}", no_content)


class Notifications(Namespace[M]):
    """The caller's inbox (`/notifications`) and preferences, and the organization's
    delivery log."""

    @endpoint
    def list(
        self, *, unread: bool | None = None, page: int = 1, per_page: int = 50
    ) -> Call[Page[NotificationRead]]:
        """Newest first; `unread=True`: only what is not read yet."""
        return Call(
            "GET",
            "/notifications",
            parse_as(Page[NotificationRead]),
            params=query(unread=unread, page=page, per_page=per_page),
        )

    @endpoint
    def unread_count(self) -> Call[UnreadCount]:
        return Call("GET", "/notifications/unread-count", parse_as(UnreadCount))

    @endpoint
    def read(self, notification_id: int) -> Call[NotificationRead]:
        """Mark one line read."""
        return Call(
            "POST", f"/notifications/{int(notification_id)}/read", parse_as(NotificationRead)
        )

    @endpoint
    def read_all(self) -> Call[UnreadCount]:
        """Mark the whole inbox read; answers what is left unread (none)."""
        return Call("POST", "/notifications/read-all", parse_as(UnreadCount))

    @endpoint
    def delete(self, notification_id: int) -> Call[None]:
        return Call("DELETE", f"/notifications/{int(notification_id)}", no_content)

    @endpoint
    def preferences(self) -> Call[Preferences]:
        """The caller's preferences: inbox and email per event, min severity, quiet hours."""
        return Call("GET", "/notifications/preferences", parse_as(Preferences))

    @endpoint
    def set_preferences(self, preferences: Preferences) -> Call[Preferences]:
        """Replace the caller's preferences (events left out keep their defaults)."""
        return Call(
            "PUT",
            "/notifications/preferences",
            parse_as(Preferences),
            json=preferences.model_dump(mode="json"),
        )

    @endpoint
    def deliveries(
        self,
        *,
        channel_id: int | None = None,
        event: str | None = None,
        status: DeliveryStatus | str | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> Call[Page[DeliveryRead]]:
        """The delivery log, newest first, each delivery with its attempts."""
        return Call(
            "GET",
            "/notifications/deliveries",
            parse_as(Page[DeliveryRead]),
            params=query(
                channel_id=channel_id, event=event, status=status, page=page, per_page=per_page
            ),
        )
