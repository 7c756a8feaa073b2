"""PagerDuty: Events API v2 events, one dedup_key from trigger to resolve."""

from __future__ import annotations

import pytest

from server.providers.channels import Channels, DeliveryError, parse_config
from tests.server.channels.receivers import PAGERDUTY_KEY, Receiver, config_for, make_notice

ACCEPTED = {"status": "success", "message": "Event processed", "dedup_key": "incident-42"}


async def test_one_dedup_key_carries_an_incident_from_trigger_to_resolve(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(202, json=ACCEPTED)
    config = config_for("pagerduty", receiver)
    for event_type in ("incident.opened", "incident.acknowledged", "incident.resolved"):
        sent = await channels.send("pagerduty", make_notice(event_type=event_type), config)
        assert sent.status_code == 202 and sent.detail == "Event processed"
    trigger, acknowledge, resolve = (request.json() for request in receiver.requests)
    assert {request.path for request in receiver.requests} == {"/v2/enqueue"}
    assert trigger["event_action"] == "trigger"
    assert trigger["routing_key"] == PAGERDUTY_KEY
    assert trigger["dedup_key"] == "incident-42"
    payload = trigger["payload"]
    assert payload["summary"] == "[Critical] api.example.com is down"
    assert payload["source"] == "https://api.example.com/health"
    assert payload["severity"] == "critical"
    assert payload["timestamp"] == "2026-12-06T13:40:05Z"
    assert payload["custom_details"]["Monitor"] == "api"
    assert trigger["links"] == [
        {"href": "https://upmetr.example/incidents/42", "text": "Open in Upmetr"}
    ]
    # Acknowledge and resolve carry only the key, the action and the dedup_key.
    assert acknowledge == {
        "routing_key": PAGERDUTY_KEY,
        "event_action": "acknowledge",
        "dedup_key": "incident-42",
    }
    assert resolve == {**acknowledge, "event_action": "resolve"}


@pytest.mark.parametrize("event_type", ["incident.escalated", "budget.exceeded", "channel.test"])
async def test_other_events_trigger(
    event_type: str, channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(202, json=ACCEPTED)
    notice = make_notice(event_type=event_type, severity="warning")
    await channels.send("pagerduty", notice, config_for("pagerduty", receiver))
    event = receiver.last.json()
    assert event["event_action"] == "trigger"
    assert event["payload"]["severity"] == "warning"


async def test_invalid_event_is_permanent_with_pagerdutys_words(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(
        400,
        json={
            "status": "invalid event",
            "message": "Event object is invalid",
            "errors": ["'routing_key' is invalid"],
        },
    )
    with pytest.raises(DeliveryError) as raised:
        await channels.send("pagerduty", make_notice(), config_for("pagerduty", receiver))
    assert raised.value.permanent
    assert raised.value.message.startswith(
        "PagerDuty at 127.0.0.1 answered 400: Event object is invalid; "
    )
    assert PAGERDUTY_KEY not in raised.value.message


def test_routing_key_must_be_32_characters() -> None:
    with pytest.raises(ValueError, match=r"^config\.routing_key: does not have the expected form"):
        parse_config("pagerduty", {"routing_key": "short"})
