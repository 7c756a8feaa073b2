"""Twilio: one SMS per number through the Messages API, form-encoded, basic auth."""

from __future__ import annotations

import base64

import pytest

from server.providers.channels import ChannelConfig, Channels, DeliveryError, parse_config
from tests.server.channels.receivers import (
    TWILIO_SID,
    TWILIO_TOKEN,
    Receiver,
    config_for,
    make_notice,
)


def two_numbers(receiver: Receiver) -> ChannelConfig:
    config = config_for("twilio", receiver)
    return config.model_copy(update={"to_numbers": ["+14155552671", "+447700900123"]})


async def test_twilio_sends_one_form_encoded_message_per_number(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(201, json={"sid": "SM0123", "status": "queued"})
    sent = await channels.send("twilio", make_notice(), two_numbers(receiver))
    assert sent.status_code == 201
    assert sent.detail == "+14155552671: SM0123; +447700900123: SM0123"
    first, second = receiver.requests
    for request in (first, second):
        assert request.method == "POST"
        assert request.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        expected = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        assert request.headers["Authorization"] == f"Basic {expected}"
    assert first.form()["To"] == "+14155552671" and second.form()["To"] == "+447700900123"
    form = first.form()
    assert form["From"] == "+15005550006"
    assert form["Body"].startswith("[Critical] api.example.com is down\n")
    assert form["Body"].endswith("\nhttps://upmetr.example/incidents/42")


async def test_twilio_body_stays_within_two_segments_and_keeps_the_link(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(201, json={"sid": "SM1"})
    await channels.send("twilio", make_notice(text="y" * 2000), config_for("twilio", receiver))
    body = receiver.last.form()["Body"]
    assert len(body) == 320
    assert body.endswith("…\nhttps://upmetr.example/incidents/42")


async def test_twilio_tries_every_number_and_reports_each(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer_next(
        400, json={"code": 21211, "message": "The 'To' number is not a valid phone number."}
    )
    receiver.answer(201, json={"sid": "SM2"})
    with pytest.raises(DeliveryError) as raised:
        await channels.send("twilio", make_notice(), two_numbers(receiver))
    assert raised.value.permanent
    assert len(receiver.requests) == 2
    assert raised.value.message == (
        "+447700900123: SM2; +14155552671: Twilio at 127.0.0.1 answered 400: "
        "The 'To' number is not a valid phone number."
    )


async def test_twilio_failure_is_temporary_when_one_number_may_succeed_later(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer_next(400, json={"code": 21211, "message": "not a valid phone number"})
    receiver.answer_next(503, headers={"Retry-After": "5"})
    with pytest.raises(DeliveryError) as raised:
        await channels.send("twilio", make_notice(), two_numbers(receiver))
    assert not raised.value.permanent
    assert raised.value.retry_after_seconds == 5.0


@pytest.mark.parametrize(
    ("field", "value"),
    [("account_sid", "AB123"), ("from_number", "5550006"), ("to_numbers", ["+1 415 555"])],
)
def test_twilio_config_wants_a_sid_and_e164_numbers(field: str, value: object) -> None:
    raw = {
        "account_sid": TWILIO_SID,
        "auth_token": TWILIO_TOKEN,
        "from_number": "+15005550006",
        "to_numbers": ["+14155552671"],
        field: value,
    }
    with pytest.raises(ValueError, match=f"config.{field}"):
        parse_config("twilio", raw)
