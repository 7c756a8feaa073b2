"""Discord: a channel webhook (https://discord.com/developers/docs/resources/webhook) with
one embed. The smallest HTTP channel; copy its shape.

Discord answers 204 (200 with `?wait=true`); 401 or 404 means the webhook was deleted.
`allowed_mentions: {parse: []}` keeps an "@everyone" in a monitor's name from pinging a server.
"""

from __future__ import annotations

from server.providers.channels.base import ChannelConfig, ChannelEnv, Notice, Sent, config_of
from server.providers.channels.http import HttpChannel, WebhookUrl
from server.providers.channels.render import SEVERITY_COLOURS, details, iso_z, subject

# An embed's limits: title 256, description 4096, 25 fields of name 256 and value 1024.
TITLE_MAX, DESCRIPTION_MAX, FIELDS_MAX, NAME_MAX, VALUE_MAX = 256, 4096, 25, 256, 1024


class DiscordConfig(ChannelConfig):
    url: WebhookUrl


class DiscordChannel(HttpChannel):
    type = "discord"
    vendor = "Discord"
    Config = DiscordConfig
    SECRETS = frozenset({"url"})

    async def send(self, notice: Notice, config: ChannelConfig, env: ChannelEnv) -> Sent:
        settings = config_of(config, DiscordConfig)
        embed = {
            "title": subject(notice)[:TITLE_MAX],
            "description": notice.text[:DESCRIPTION_MAX],
            "color": SEVERITY_COLOURS[notice.severity],
            "fields": [
                {"name": name[:NAME_MAX], "value": value[:VALUE_MAX] or "-", "inline": True}
                for name, value in details(notice)[:FIELDS_MAX]
            ],
            "timestamp": iso_z(notice.occurred_at),
            "footer": {"text": "Upmetr"},
        }
        if notice.url:
            embed["url"] = notice.url
        payload = {"username": "Upmetr", "embeds": [embed], "allowed_mentions": {"parse": []}}
        reply = await self.post(env, settings.url, json=payload)
        return Sent(reply.status)
