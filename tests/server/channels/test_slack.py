"""Slack: an incoming webhook receives Block Kit (header, section with fields, context)."""

from __future__ import annotations

import pytest

from server.providers.channels import Channels, DeliveryError
from tests.server.channels.receivers import Receiver, config_for, make_notice


async def test_slack_posts_block_kit_with_a_text_fallback(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(200, text="ok")
    sent = await channels.send("slack", make_notice(), config_for("slack", receiver))
    assert sent.status_code == 200 and sent.detail == "ok"
    request = receiver.last
    assert request.method == "POST"
    assert request.path == "/services/T000/B000/XXXXSECRETXXXX"
    assert request.headers["Content-Type"] == "application/json"
    payload = request.json()
    assert payload["text"].startswith("[Critical] api.example.com is down")
    header, section, context = payload["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "[Critical] api.example.com is down"},
    }
    assert section["type"] == "section"
    # mrkdwn escapes &, < and > so a monitor's name never becomes a link or a mention.
    assert section["text"] == {
        "type": "mrkdwn",
        "text": "HTTP check failed: expected status 200, got 503 &lt;Service Unavailable&gt;.",
    }
    assert {"type": "mrkdwn", "text": "*Severity*\nCritical"} in section["fields"]
    assert {"type": "mrkdwn", "text": "*Monitor*\napi"} in section["fields"]
    assert {"type": "mrkdwn", "text": "*Organization*\nAcme &amp; Co"} in section["fields"]
    assert len(section["fields"]) <= 10
    assert context["type"] == "context"
    context_text = context["elements"][0]["text"]
    assert "2026-12-06T13:40:05Z" in context_text
    assert "<https://upmetr.example/incidents/42|Open in Upmetr>" in context_text


async def test_slack_header_stays_within_block_kit_limits(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(200, text="ok")
    facts = {f"Fact {n}": "x" for n in range(30)}
    await channels.send(
        "slack", make_notice(title="x" * 500, facts=facts), config_for("slack", receiver)
    )
    header, section, _ = receiver.last.json()["blocks"]
    assert len(header["text"]["text"]) == 150
    assert len(section["fields"]) == 10


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (400, "invalid_payload"),
        (403, "action_prohibited"),
        (404, "no_service"),
        (410, "channel_is_archived"),
    ],
)
async def test_slack_refusals_are_permanent_and_quote_slack(
    status: int, said: str, channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(status, text=said)
    with pytest.raises(DeliveryError) as raised:
        await channels.send("slack", make_notice(), config_for("slack", receiver))
    assert raised.value.permanent
    assert raised.value.message == f"Slack at 127.0.0.1 answered {status}: {said}"
