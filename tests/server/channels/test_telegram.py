"""Telegram: a bot's sendMessage in HTML, and Telegram's own error answers read properly."""

from __future__ import annotations

import pytest

from server.providers.channels import Channels, DeliveryError
from tests.server.channels.receivers import TELEGRAM_TOKEN, Receiver, config_for, make_notice

OK = {"ok": True, "result": {"message_id": 77, "chat": {"id": -1001234567890}}}


async def test_telegram_sends_escaped_html_to_the_chat(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(200, json=OK)
    sent = await channels.send("telegram", make_notice(), config_for("telegram", receiver))
    assert sent.status_code == 200 and sent.detail == "message 77"
    request = receiver.last
    assert request.method == "POST"
    assert request.path == f"/bot{TELEGRAM_TOKEN}/sendMessage"
    payload = request.json()
    assert payload["chat_id"] == "-1001234567890"
    assert payload["parse_mode"] == "HTML"
    assert payload["disable_web_page_preview"] is True
    text = payload["text"]
    assert text.startswith("<b>[Critical] api.example.com is down</b>")
    assert "got 503 &lt;Service Unavailable&gt;." in text
    assert "<b>Organization:</b> Acme &amp; Co" in text
    assert '<a href="https://upmetr.example/incidents/42">Open in Upmetr</a>' in text


async def test_telegram_flood_control_keeps_its_retry_after(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(
        429,
        json={
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 35",
            "parameters": {"retry_after": 35},
        },
    )
    with pytest.raises(DeliveryError) as raised:
        await channels.send("telegram", make_notice(), config_for("telegram", receiver))
    assert not raised.value.permanent
    assert raised.value.retry_after_seconds == 35.0
    assert raised.value.message == "Telegram answered 429: Too Many Requests: retry after 35"


@pytest.mark.parametrize(
    ("status", "description"),
    [
        (401, "Unauthorized"),
        (400, "Bad Request: chat not found"),
        (403, "Forbidden: bot was blocked by the user"),
    ],
)
async def test_telegram_refusals_are_permanent(
    status: int, description: str, channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(status, json={"ok": False, "error_code": status, "description": description})
    with pytest.raises(DeliveryError) as raised:
        await channels.send("telegram", make_notice(), config_for("telegram", receiver))
    assert raised.value.permanent
    assert raised.value.message == f"Telegram answered {status}: {description}"
    assert TELEGRAM_TOKEN not in str(raised.value)


async def test_telegram_says_where_a_migrated_group_went(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(
        400,
        json={
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: group chat was upgraded to a supergroup chat",
            "parameters": {"migrate_to_chat_id": -1009876543210},
        },
    )
    with pytest.raises(DeliveryError) as raised:
        await channels.send("telegram", make_notice(), config_for("telegram", receiver))
    assert "(the chat is now -1009876543210: update chat_id)" in raised.value.message


async def test_telegram_ok_false_in_a_200_is_not_a_delivery(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(200, json={"ok": False, "error_code": 400, "description": "Bad Request"})
    with pytest.raises(DeliveryError, match="Telegram answered 400: Bad Request"):
        await channels.send("telegram", make_notice(), config_for("telegram", receiver))
