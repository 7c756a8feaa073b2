"""The shared types of every notification channel: what to tell (Notice), what came of it
(Sent or DeliveryError), and the one base class that owns timeouts, the outbound-target
policy and the reading of a vendor's answer.

A channel copies the shape of `discord.py` (a small member): subclass `HttpChannel`, name its
`type`, give its `Config` (a pydantic model; `SECRETS` names the write-only fields), and
implement `send()` in the vendor's native format with `self.post(...)`; the base class does
the rest.

`HttpChannel` (http.py) connects only where the outbound-target policy allows, bounds each
request by the timeout and reads the vendor's answer into a Reply or a DeliveryError.

The dispatcher (server/engines/dispatch.py) decides when and whether to send; a channel
only sends, once, and says whether a failure is worth retrying (Gatus' alerting providers
and healthchecks' transports split the work the same way).
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from server.providers.outbound import TargetPolicy

if TYPE_CHECKING:
    from server.providers.channels.http import HttpSessions

Severity = Literal["info", "warning", "error", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error", "critical")


@dataclass(frozen=True, kw_only=True)
class Notice:
    """One event as every channel renders it.

    `idempotency_id` is the same on every attempt of one delivery (Standard Webhooks'
    `webhook-id`, an email's Message-ID); `dedup_key` groups the events of one subject
    (an incident: its trigger, acknowledgement and resolution share it, as PagerDuty's
    Events API v2 `dedup_key` requires).
    """

    event_type: str  # "incident.opened", "incident.acknowledged", ..., "channel.test"
    idempotency_id: str
    dedup_key: str
    title: str
    text: str  # a plain paragraph
    severity: Severity
    occurred_at: datetime  # UTC
    org_name: str
    status: str | None = None  # an incident's status after the event
    url: str | None = None  # where a person reads more (the server's public URL)
    # A status page subscriber's one-click unsubscribe link (RFC 8058); email only.
    unsubscribe_url: str | None = None
    facts: Mapping[str, str] = field(default_factory=dict)  # "Monitor": "api", ...
    data: Mapping[str, Any] = field(default_factory=dict)  # the event's JSON (webhook `data`)


@dataclass(frozen=True)
class Sent:
    """A delivery the vendor accepted: its HTTP status (None for SMTP) and what it said."""

    status_code: int | None = None
    detail: str | None = None


class DeliveryError(Exception):
    """A delivery that failed. `permanent` failures (a revoked webhook, a bad token, a
    refused target) disable the channel; the others are retried with backoff."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status_code: int | None = None,
        retry_after_seconds: float | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status_code = status_code
        # What the vendor asked for (HTTP Retry-After, Telegram's parameters.retry_after):
        # the dispatcher waits at least this long before the next attempt.
        self.retry_after_seconds = retry_after_seconds

    def __reduce__(self) -> tuple[Any, ...]:  # keyword-only arguments survive a pickle
        return (
            _delivery_error,
            (self.message, self.permanent, self.status_code, self.retry_after_seconds),
        )


def _delivery_error(
    message: str, permanent: bool, status_code: int | None, retry_after_seconds: float | None
) -> DeliveryError:
    return DeliveryError(
        message,
        permanent=permanent,
        status_code=status_code,
        retry_after_seconds=retry_after_seconds,
    )


class ChannelConfig(BaseModel):
    """A channel's settings; unknown keys are refused so a typo is a 400, not a silence."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


C = TypeVar("C", bound=ChannelConfig)


@dataclass(frozen=True, kw_only=True)
class ChannelEnv:
    """What the server gives every channel: where it may connect, how long it may take,
    each vendor's API base URL (configurable so tests reach 127.0.0.1) and SMTP settings."""

    policy: TargetPolicy
    timeout_seconds: float = 10.0
    base_urls: Mapping[str, str] = field(default_factory=dict)  # "pagerduty": "https://..."
    smtp: Mapping[str, Any] = field(default_factory=dict)  # host, port, user, password, tls, from
    # Where email goes when SMTP is not configured (smtp host None): the server's mail spool.
    data_dir: Path | None = None
    # The pooled HTTP sessions of a `Channels`; None opens one session per request.
    http: HttpSessions | None = None

    def base_url(self, channel: str, default: str) -> str:
        return self.base_urls.get(channel, default).rstrip("/")


class Channel(ABC):
    type: ClassVar[str]
    Config: ClassVar[builtins.type[ChannelConfig]]  # `type` is the attribute above
    SECRETS: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    async def send(self, notice: Notice, config: ChannelConfig, env: ChannelEnv) -> Sent:
        """Deliver `notice` once; raise DeliveryError when it was not delivered."""

    def secret_values(self, config: ChannelConfig) -> list[str]:
        """The config's secret values, longest first, to be kept out of every message."""
        found: list[str] = []
        for name in self.SECRETS:
            value = getattr(config, name, None)
            if isinstance(value, Mapping):
                value = list(value.values())
            values = value if isinstance(value, list | tuple) else [value]
            found.extend(str(item) for item in values if item)
        return sorted(found, key=len, reverse=True)


def config_of(config: ChannelConfig, model: type[C]) -> C:
    """`config` as the channel's own model (the facade parsed it with that model)."""
    if not isinstance(config, model):
        raise TypeError(f"expected a {model.__name__}, got {type(config).__name__}")
    return config
