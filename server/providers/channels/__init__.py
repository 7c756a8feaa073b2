"""Notification channels: deliver ONE notice to one channel in the vendor's native format.

    async with Channels.from_settings(settings) as channels:
        config = parse_config("slack", {"url": "https://hooks.slack.com/services/..."})
        sent = await channels.send("slack", notice, config)  # or raises DeliveryError

The dispatcher owns one Channels per process (created and closed with the app, as the check
engine owns its Checker); the API uses `parse_config` to validate a channel's config (a
ValueError naming the field is its 400) and `secret_fields` to mask the write-only keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from server.providers.channels.apprise import AppriseChannel
from server.providers.channels.base import (
    Channel,
    ChannelConfig,
    ChannelEnv,
    DeliveryError,
    Notice,
    Sent,
    Severity,
)
from server.providers.channels.clickup import ClickUpChannel
from server.providers.channels.discord import DiscordChannel
from server.providers.channels.email import EmailChannel
from server.providers.channels.http import HttpSessions
from server.providers.channels.pagerduty import PagerDutyChannel
from server.providers.channels.slack import SlackChannel
from server.providers.channels.teams import TeamsChannel
from server.providers.channels.telegram import TelegramChannel
from server.providers.channels.twilio import TwilioChannel
from server.providers.channels.webhook import WebhookChannel
from server.providers.outbound import TargetPolicy

if TYPE_CHECKING:
    from server.config import Settings

__all__ = [
    "TYPES",
    "ChannelConfig",
    "ChannelEnv",
    "Channels",
    "DeliveryError",
    "Notice",
    "Sent",
    "Severity",
    "TargetPolicy",
    "parse_config",
    "secret_fields",
]

# In API.md's order (Notifications: the channel types).
_CHANNELS: dict[str, Channel] = {
    channel.type: channel
    for channel in (
        EmailChannel(),
        SlackChannel(),
        DiscordChannel(),
        TeamsChannel(),
        WebhookChannel(),
        PagerDutyChannel(),
        TelegramChannel(),
        TwilioChannel(),
        ClickUpChannel(),
        AppriseChannel(),
    )
}
TYPES: tuple[str, ...] = tuple(_CHANNELS)
REDACTED = "[secret]"


def _channel(type: str) -> Channel:
    try:
        return _CHANNELS[type]
    except KeyError:
        raise ValueError(f"unknown channel type {type!r}; one of: {', '.join(TYPES)}") from None


def _describe(error: Mapping[str, Any]) -> str:
    """One pydantic error as "config.url: must be an http:// or https:// URL with a host";
    never with the value given, which may be a secret."""
    where = ".".join(str(part) for part in ("config", *error["loc"]))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "is not a setting of this channel type"
    elif error["type"] == "string_pattern_mismatch":  # the regex says little to a person
        message = "does not have the expected form (docs/channels.md)"
    return f"{where}: {message}"


def parse_config(type: str, raw: Mapping[str, Any]) -> ChannelConfig:
    """The config of a `type` channel; ValueError naming each wrong field otherwise."""
    channel = _channel(type)
    try:
        return channel.Config.model_validate(dict(raw))
    except ValidationError as exc:
        raise ValueError("; ".join(_describe(error) for error in exc.errors())) from None


def secret_fields(type: str) -> frozenset[str]:
    """The config keys of `type` that are write-only: stored, used, never shown again."""
    return _channel(type).SECRETS


def redact(message: str, secrets: list[str]) -> str:
    for secret in secrets:
        if len(secret) >= 4:  # a one-letter "secret" would shred the sentence
            message = message.replace(secret, REDACTED)
    return message


class Channels:
    """Sends notices through every channel type over shared, pooled HTTP sessions."""

    def __init__(self, env: ChannelEnv):
        self.env = env

    @classmethod
    def from_settings(cls, settings: Settings, *, policy: TargetPolicy | None = None) -> Channels:
        """Channels as the server's settings say: its outbound policy (unless `policy` is
        given), each vendor's base URL, the timeout, SMTP or else the mail spool."""
        return cls(
            ChannelEnv(
                policy=policy or TargetPolicy.from_settings(settings),
                timeout_seconds=settings.channel_timeout_seconds,
                base_urls={
                    "pagerduty": settings.pagerduty_api_url,
                    "telegram": settings.telegram_api_url,
                    "twilio": settings.twilio_api_url,
                    "clickup": settings.clickup_api_url,
                },
                smtp={
                    "host": settings.smtp_host,
                    "port": settings.smtp_port,
                    "user": settings.smtp_user,
                    "password": settings.smtp_password,
                    "tls": settings.smtp_tls,
                    "from": settings.smtp_from,
                },
                data_dir=settings.data_dir,
                http=HttpSessions(),
            )
        )

    async def __aenter__(self) -> Channels:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self.env.http is not None:
            await self.env.http.aclose()

    async def send(self, type: str, notice: Notice, config: ChannelConfig) -> Sent:
        """Deliver `notice` once through a `type` channel; DeliveryError when it was not.

        1. `config` must be the type's own model (from `parse_config`).
        2. The channel sends in its vendor's format (timeouts, policy and the reading of the
           answer are the base class's); any other exception is a temporary DeliveryError,
           so a bug in one channel never crashes the dispatcher.
        3. No message leaves here holding a secret of the config: each is replaced by
           "[secret]", whatever a vendor or a library echoed.
        """
        channel = _channel(type)
        if not isinstance(config, channel.Config):
            raise TypeError(f"a {type} channel needs a {channel.Config.__name__}")
        try:
            sent = await channel.send(notice, config, self.env)
        except DeliveryError as exc:
            raise DeliveryError(
                redact(exc.message, channel.secret_values(config)),
                permanent=exc.permanent,
                status_code=exc.status_code,
                retry_after_seconds=exc.retry_after_seconds,
            ) from None
        except Exception as exc:
            message = redact(f"{type} channel failed: {exc!r}", channel.secret_values(config))
            raise DeliveryError(message, permanent=False) from None
        if sent.detail:
            return Sent(sent.status_code, redact(sent.detail, channel.secret_values(config)))
        return sent
