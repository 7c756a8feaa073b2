"""Webhook: a JSON POST signed as Standard Webhooks says (https://www.standardwebhooks.com,
spec/standard-webhooks.md), so a receiver verifies it with any of their libraries.

Headers: `webhook-id` (the delivery's idempotency id, the same on every retry, for the
receiver to drop duplicates), `webhook-timestamp` (this attempt's Unix seconds, against
replays) and `webhook-signature`: `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")),
the key being the base64 after the secret's `whsec_` prefix. The body is
`{"type": event type, "timestamp": ISO 8601, "data": the event}`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from server.providers.channels.base import ChannelConfig, ChannelEnv, Notice, Sent, config_of
from server.providers.channels.http import HttpChannel, WebhookUrl
from server.providers.channels.render import iso_z

SECRET_PREFIX = "whsec_"
# The headers the signature rests on: extra headers never replace them.
RESERVED_HEADERS = frozenset(
    {"webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "content-length"}
    | {"host", "transfer-encoding", "connection"}
)


def _signing_key(secret: str) -> str:
    """The secret must be `whsec_` + base64 of 24 to 64 random bytes (the spec's range)."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"must start with {SECRET_PREFIX}")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"must be {SECRET_PREFIX} followed by base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError("must hold 24 to 64 bytes of key (32 is usual)")
    return secret


class WebhookConfig(ChannelConfig):
    url: WebhookUrl
    secret: Annotated[str, AfterValidator(_signing_key)]
    headers: dict[str, Annotated[str, Field(max_length=1000)]] = Field(
        default_factory=dict, max_length=20
    )

    @field_validator("headers")
    @classmethod
    def _no_reserved_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not name or not name.isascii() or any(c in name for c in " :\r\n\t"):
                raise ValueError(f"{name!r} is not a header name")
            if "\r" in value or "\n" in value:
                raise ValueError(f"the value of {name} holds a line break")
            if name.lower() in RESERVED_HEADERS:
                raise ValueError(f"{name} is set by Upmetr and cannot be replaced")
        return headers


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class WebhookChannel(HttpChannel):
    type = "webhook"
    vendor = "Webhook"
    Config = WebhookConfig
    # Extra headers usually carry a receiver's credentials (Authorization), so they are
    # write-only too; the URL is shown, as it tells where the events go.
    SECRETS = frozenset({"secret", "headers"})

    async def send(self, notice: Notice, config: ChannelConfig, env: ChannelEnv) -> Sent:
        settings = config_of(config, WebhookConfig)
        document = {
            "type": notice.event_type,
            "timestamp": iso_z(notice.occurred_at),
            "data": dict(notice.data),
        }
        body = json.dumps(document, separators=(",", ":"), default=str).encode()
        timestamp = int(time.time())
        headers = {
            **settings.headers,
            "content-type": "application/json",
            "webhook-id": notice.idempotency_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(settings.secret, notice.idempotency_id, timestamp, body),
        }
        reply = await self.post(env, settings.url, data=body, headers=headers)
        return Sent(reply.status)
