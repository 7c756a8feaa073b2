"""Slack: an incoming webhook (https://api.slack.com/messaging/webhooks) with Block Kit.

Slack answers 200 "ok"; a 400 `invalid_payload`, 403 `action_prohibited`, 404 `no_service`
(the webhook was removed) or 410 `channel_is_archived` will fail the same way again.
"""

from __future__ import annotations

from typing import Any

from server.providers.channels.base import ChannelConfig, ChannelEnv, Notice, Sent, config_of
from server.providers.channels.http import HttpChannel, WebhookUrl
from server.providers.channels.render import details, iso_z, plain_text, subject

# Block Kit's limits: a header's text 150 characters, a section's 3000, 10 fields of 2000.
HEADER_MAX, SECTION_MAX, FIELDS_MAX, FIELD_MAX = 150, 3000, 10, 2000


class SlackConfig(ChannelConfig):
    url: WebhookUrl


def mrkdwn(text: str, limit: int) -> str:
    """Text for Slack's mrkdwn: &, < and > escaped, as Slack asks, so nothing is a link."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped[:limit]


def blocks(notice: Notice) -> list[dict[str, Any]]:
    fields = [
        {"type": "mrkdwn", "text": mrkdwn(f"*{name}*\n{value}", FIELD_MAX)}
        for name, value in details(notice)[:FIELDS_MAX]
    ]
    context = [f"Upmetr · {mrkdwn(notice.org_name, 200)} · {iso_z(notice.occurred_at)}"]
    if notice.url:
        context.append(f"<{notice.url}|Open in Upmetr>")
    return [
        {"type": "header", "text": {"type": "plain_text", "text": subject(notice)[:HEADER_MAX]}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": mrkdwn(notice.text or notice.title, SECTION_MAX)},
            "fields": fields,
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]},
    ]


class SlackChannel(HttpChannel):
    type = "slack"
    vendor = "Slack"
    Config = SlackConfig
    SECRETS = frozenset({"url"})

    async def send(self, notice: Notice, config: ChannelConfig, env: ChannelEnv) -> Sent:
        settings = config_of(config, SlackConfig)
        # `text` is the fallback that notifications and screen readers show.
        payload = {"text": plain_text(notice)[:SECTION_MAX], "blocks": blocks(notice)}
        reply = await self.post(env, settings.url, json=payload)
        return Sent(reply.status, reply.text[:200] or None)
