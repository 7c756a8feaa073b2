"""Webhook events: Stripe's signature check, and the event as plain data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe


class InvalidSignature(Exception):
    """The payload is not signed with the webhook secret, or is too old, or is not JSON."""


@dataclass(frozen=True)
class ProviderEvent:
    id: str
    type: str
    created_at: datetime
    object: dict[str, Any]  # the event's `data.object`: the object as of `created_at`
    payload: dict[str, Any]


def verify_event(
    payload: bytes, signature_header: str | None, secret: str, *, tolerance_seconds: int
) -> ProviderEvent:
    """The event of a webhook request, once its `Stripe-Signature` header is checked: an
    HMAC-SHA256 of "<t>.<payload>" with the endpoint's secret, and `t` within the tolerance
    (https://docs.stripe.com/webhooks#verify-manually)."""
    if not signature_header:
        raise InvalidSignature("The Stripe-Signature header is missing")
    try:
        stripe.Webhook.construct_event(
            payload.decode("utf-8"), signature_header, secret, tolerance=tolerance_seconds
        )
        data = json.loads(payload)
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignature(f"The signature does not match: {exc.user_message or exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidSignature("The payload is not JSON") from exc
    try:
        return ProviderEvent(
            id=str(data["id"]),
            type=str(data["type"]),
            created_at=datetime.fromtimestamp(int(data["created"]), UTC),
            object=dict(data["data"]["object"]),
            payload=data,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidSignature("The payload is not a Stripe event") from exc
