"""Webhook: Standard Webhooks headers and signature, verified here from the spec
(https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md),
not with the channel's own signer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from server.providers.channels import Channels, parse_config
from tests.server.channels.receivers import (
    WEBHOOK_SECRET,
    Received,
    Receiver,
    config_for,
    make_notice,
)


def verify(request: Received, secret: str) -> bool:
    """A receiver's check: HMAC-SHA256 over "id.timestamp.body" with the decoded key."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    message_id = request.headers["webhook-id"]
    timestamp = request.headers["webhook-timestamp"]
    signed = f"{message_id}.{timestamp}.{request.body.decode()}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    signatures = request.headers["webhook-signature"].split(" ")
    return any(
        version == "v1" and hmac.compare_digest(signature, expected)
        for version, _, signature in (entry.partition(",") for entry in signatures)
    )


async def test_webhook_is_signed_as_standard_webhooks_says(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(204)
    notice = make_notice()
    await channels.send("webhook", notice, config_for("webhook", receiver))
    request = receiver.last
    assert request.method == "POST" and request.path == "/hooks/upmetr"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["webhook-id"] == notice.idempotency_id
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 30
    assert request.headers["webhook-signature"].startswith("v1,")
    assert verify(request, WEBHOOK_SECRET)
    assert not verify(request, "whsec_" + base64.b64encode(b"another key 0123456789ab").decode())
    assert request.json() == {
        "type": "incident.opened",
        "timestamp": "2026-12-06T13:40:05Z",
        "data": {"incident": {"id": 42, "status": "open", "severity": "critical"}},
    }


async def test_webhook_keeps_its_id_across_retries(channels: Channels, receiver: Receiver) -> None:
    receiver.answer_next(503)
    notice = make_notice()
    config = config_for("webhook", receiver)
    with pytest.raises(Exception, match="answered 503"):
        await channels.send("webhook", notice, config)
    await channels.send("webhook", notice, config)
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == notice.idempotency_id
    assert verify(first, WEBHOOK_SECRET) and verify(second, WEBHOOK_SECRET)


async def test_webhook_sends_extra_headers_beside_the_signature(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(200)
    config = parse_config(
        "webhook",
        {
            "url": f"{receiver.url}/hooks",
            "secret": WEBHOOK_SECRET,
            "headers": {"Authorization": "Bearer receiver-token", "X-Team": "ops"},
        },
    )
    await channels.send("webhook", make_notice(), config)
    assert receiver.last.headers["Authorization"] == "Bearer receiver-token"
    assert receiver.last.headers["X-Team"] == "ops"
    assert verify(receiver.last, WEBHOOK_SECRET)


@pytest.mark.parametrize("header", ["webhook-signature", "Webhook-Id", "content-type"])
def test_extra_headers_cannot_replace_the_signature_ones(header: str) -> None:
    with pytest.raises(ValueError, match=f"config.headers: {header} is set by Upmetr"):
        parse_config(
            "webhook",
            {"url": "https://example.com/h", "secret": WEBHOOK_SECRET, "headers": {header: "x"}},
        )


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with whsec_"),
        ("whsec_not base64!", "must be whsec_ followed by base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "must hold 24 to 64 bytes"),
    ],
)
def test_webhook_secret_must_be_a_standard_webhooks_secret(secret: str, why: str) -> None:
    with pytest.raises(ValueError, match=f"config.secret: {why}") as raised:
        parse_config("webhook", {"url": "https://example.com/h", "secret": secret})
    assert secret not in str(raised.value)
