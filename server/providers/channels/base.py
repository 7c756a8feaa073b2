"""The shared types of every notification channel: what to tell (Notice), what came of it
(Sent or DeliveryError), and the one base class that owns timeouts, the outbound-target
policy and the reading of a vendor's answer.

A channel copies the shape of `discord.py` (a small member): subclass `Channel`, name its
`type`, give its `Config` (a pydantic model; `SECRETS` names the write-only fields), and
implement `send()` in the vendor's native format; the base class does the rest.

The dispatcher (server/engines/dispatch.py) decides when and whether to send; a channel
only sends, once, and says whether a failure is worth retrying (Gatus' alerting providers
and healthchecks' transports split the work the same way).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from server.providers.outbound import TargetPolicy

Severity = Literal["info", "warning", "error", "critical"]


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

    def __init__(self, message: str, *, permanent: bool, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status_code = status_code


class ChannelConfig(BaseModel):
    """A channel's settings; unknown keys are refused so a typo is a 400, not a silence."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


@dataclass(frozen=True, kw_only=True)
class ChannelEnv:
    """What the server gives every channel: where it may connect, how long it may take,
    each vendor's API base URL (configurable so tests reach 127.0.0.1) and SMTP settings."""

    policy: TargetPolicy
    timeout_seconds: float = 10.0
    base_urls: Mapping[str, str] = field(default_factory=dict)  # "pagerduty": "https://..."
    smtp: Mapping[str, Any] = field(default_factory=dict)  # host, port, user, password, tls, from


class Channel(ABC):
    type: ClassVar[str]
    Config: ClassVar[type[ChannelConfig]]
    SECRETS: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    async def send(self, notice: Notice, config: ChannelConfig, env: ChannelEnv) -> Sent:
        """Deliver `notice` once; raise DeliveryError when it was not delivered."""
