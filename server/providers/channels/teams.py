"""Microsoft Teams: a Workflows (Power Automate) webhook posting an Adaptive Card.

The Office 365 connectors' incoming webhooks are retired; a Teams "Post to a channel when a
webhook request is received" workflow takes a message whose attachment is an Adaptive Card
(https://learn.microsoft.com/en-us/connectors/teams/ and adaptivecards.io, schema 1.4,
the version Teams renders everywhere). It answers 202 Accepted (200 on some flows).
"""

from __future__ import annotations

from typing import Any

from server.providers.channels.base import (
    ChannelConfig,
    ChannelEnv,
    Notice,
    Sent,
    Severity,
    config_of,
)
from server.providers.channels.http import HttpChannel, WebhookUrl
from server.providers.channels.render import details, iso_z, subject

# TextBlock colours (Adaptive Cards: Default, Accent, Good, Warning, Attention, ...).
COLOURS: dict[Severity, str] = {
    "info": "Accent",
    "warning": "Warning",
    "error": "Attention",
    "critical": "Attention",
}


class TeamsConfig(ChannelConfig):
    url: WebhookUrl


def adaptive_card(notice: Notice) -> dict[str, Any]:
    facts = [{"title": name, "value": value} for name, value in details(notice)]
    facts.append({"title": "Time", "value": iso_z(notice.occurred_at)})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": subject(notice),
                "weight": "Bolder",
                "size": "Medium",
                "color": COLOURS[notice.severity],
                "wrap": True,
            },
            {"type": "TextBlock", "text": notice.text, "wrap": True},
            {"type": "FactSet", "facts": facts},
        ],
    }
    if notice.url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in Upmetr", "url": notice.url}]
    return card


class TeamsChannel(HttpChannel):
    type = "teams"
    vendor = "Teams"
    Config = TeamsConfig
    SECRETS = frozenset({"url"})

    async def send(self, notice: Notice, config: ChannelConfig, env: ChannelEnv) -> Sent:
        settings = config_of(config, TeamsConfig)
        payload = {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": adaptive_card(notice),
                }
            ],
        }
        reply = await self.post(env, settings.url, json=payload)
        return Sent(reply.status)
