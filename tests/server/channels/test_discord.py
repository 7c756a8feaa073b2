"""Discord: a webhook receives one embed, mentions off."""

from __future__ import annotations

import pytest

from server.providers.channels import Channels, DeliveryError
from tests.server.channels.receivers import Receiver, config_for, make_notice


async def test_discord_posts_an_embed_coloured_by_severity(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(204)
    sent = await channels.send("discord", make_notice(), config_for("discord", receiver))
    assert sent.status_code == 204
    request = receiver.last
    assert request.method == "POST"
    assert request.path == "/api/webhooks/123/SECRETdiscordTOKEN"
    payload = request.json()
    assert payload["allowed_mentions"] == {"parse": []}
    (embed,) = payload["embeds"]
    assert embed["title"] == "[Critical] api.example.com is down"
    assert embed["description"].startswith("HTTP check failed")
    assert embed["color"] == 0xD32F2F
    assert embed["timestamp"] == "2026-12-06T13:40:05Z"
    assert embed["url"] == "https://upmetr.example/incidents/42"
    assert {"name": "Monitor", "value": "api", "inline": True} in embed["fields"]


async def test_discord_colours_differ_per_severity(channels: Channels, receiver: Receiver) -> None:
    receiver.answer(204)
    colours = set()
    for severity in ("info", "warning", "error", "critical"):
        await channels.send(
            "discord", make_notice(severity=severity), config_for("discord", receiver)
        )
        colours.add(receiver.last.json()["embeds"][0]["color"])
    assert len(colours) == 4


async def test_discord_accepts_a_200_from_a_waiting_webhook(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(200, json={"id": "1"})
    sent = await channels.send("discord", make_notice(), config_for("discord", receiver))
    assert sent.status_code == 200


@pytest.mark.parametrize("status", [401, 404])
async def test_deleted_discord_webhook_is_permanent(
    status: int, channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(status, json={"message": "Unknown Webhook", "code": 10015})
    with pytest.raises(DeliveryError) as raised:
        await channels.send("discord", make_notice(), config_for("discord", receiver))
    assert raised.value.permanent
    assert raised.value.message == f"Discord at 127.0.0.1 answered {status}: Unknown Webhook"
