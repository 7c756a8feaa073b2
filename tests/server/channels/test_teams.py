"""Microsoft Teams: a Workflows webhook receives a message holding an Adaptive Card 1.4."""

from __future__ import annotations

from server.providers.channels import Channels
from tests.server.channels.receivers import Receiver, config_for, make_notice


async def test_teams_posts_an_adaptive_card_in_a_message(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(202)
    sent = await channels.send("teams", make_notice(), config_for("teams", receiver))
    assert sent.status_code == 202
    request = receiver.last
    assert request.path == "/workflows/abc/triggers/manual/paths/invoke"
    assert request.query == {"sig": "SECRETsig"}
    payload = request.json()
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    title, text, facts = card["body"]
    assert title["type"] == "TextBlock" and title["text"] == "[Critical] api.example.com is down"
    assert title["color"] == "Attention"
    assert text["type"] == "TextBlock" and text["wrap"] is True
    assert facts["type"] == "FactSet"
    assert {"title": "Monitor", "value": "api"} in facts["facts"]
    assert {"title": "Time", "value": "2026-12-06T13:40:05Z"} in facts["facts"]
    assert card["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Open in Upmetr",
            "url": "https://upmetr.example/incidents/42",
        }
    ]


async def test_teams_card_has_no_action_without_a_link(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(200)
    await channels.send("teams", make_notice(url=None), config_for("teams", receiver))
    card = receiver.last.json()["attachments"][0]["content"]
    assert "actions" not in card
