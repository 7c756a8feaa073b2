"""Telegram: a bot's `sendMessage` (https://core.telegram.org/bots/api#sendmessage) in HTML.

Telegram answers `{"ok": true, "result": ...}`, or `{"ok": false, "error_code",
"description", "parameters": {"retry_after", "migrate_to_chat_id"}}` with the error code as
the HTTP status: 401 (a revoked token), 400 "chat not found" or 403 "bot was blocked" are
permanent; 429 waits `retry_after` seconds.
"""

from __future__ import annotations

import html
from typing import Any

from multidict import CIMultiDictProxy
from pydantic import Field

from server.providers.channels.base import (
    ChannelConfig,
    ChannelEnv,
    DeliveryError,
    Notice,
    Sent,
    config_of,
)
from server.providers.channels.http import HttpChannel
from server.providers.channels.render import details, iso_z, subject

DEFAULT_URL = "https://api.telegram.org"
TEXT_MAX = 4096  # a message's limit, after entities are parsed


class TelegramConfig(ChannelConfig):
    # From @BotFather: "123456789:AA...". Never shown again, and never in an error.
    bot_token: str = Field(pattern=r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$")
    # A user, group or channel id ("-1001234567890") or a public channel's "@name".
    chat_id: str = Field(pattern=r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$")


def message_html(notice: Notice) -> str:
    """The notice in Telegram's HTML subset (<b>, <a>), every text escaped."""
    lines = [f"<b>{html.escape(subject(notice))}</b>", "", html.escape(notice.text), ""]
    lines.extend(f"<b>{html.escape(n)}:</b> {html.escape(v)}" for n, v in details(notice))
    lines.append(f"<b>Time:</b> {iso_z(notice.occurred_at)}")
    if notice.url:
        lines.append(f'<a href="{html.escape(notice.url, quote=True)}">Open in Upmetr</a>')
    return "\n".join(lines)[:TEXT_MAX]


class TelegramChannel(HttpChannel):
    type = "telegram"
    vendor = "Telegram"
    Config = TelegramConfig
    SECRETS = frozenset({"bot_token"})

    async def send(self, notice: Notice, config: ChannelConfig, env: ChannelEnv) -> Sent:
        settings = config_of(config, TelegramConfig)
        url = f"{env.base_url('telegram', DEFAULT_URL)}/bot{settings.bot_token}/sendMessage"
        payload = {
            "chat_id": settings.chat_id,
            "text": message_html(notice),
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
        reply = await self.post(env, url, json=payload)
        answer = reply.json()
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            raise self.refusal(reply.status, reply.headers, reply.body, "Telegram")
        message_id = (answer.get("result") or {}).get("message_id")
        return Sent(reply.status, f"message {message_id}" if message_id else None)

    def refusal(
        self, status: int, headers: CIMultiDictProxy[str], body: bytes, host: str
    ) -> DeliveryError:
        """Telegram's own error: its description, and `parameters.retry_after` for a 429."""
        error = super().refusal(status, headers, body, host)
        answer: Any = self.parse_json(body)
        if not isinstance(answer, dict):
            return error
        parameters = answer.get("parameters")
        if not isinstance(parameters, dict):
            parameters = {}
        message = (
            f"Telegram answered {answer.get('error_code', status)}: {answer.get('description')}"
        )
        if parameters.get("migrate_to_chat_id"):
            message += f" (the chat is now {parameters['migrate_to_chat_id']}: update chat_id)"
        retry = parameters.get("retry_after")
        return DeliveryError(
            message,
            permanent=error.permanent,
            status_code=error.status_code,
            retry_after_seconds=float(retry) if retry else error.retry_after_seconds,
        )
