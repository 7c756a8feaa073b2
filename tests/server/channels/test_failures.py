"""What every HTTP channel does when the vendor cannot be reached or says no: the base
class's classification, tried through each channel type against one receiver."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.providers.channels import Channels, DeliveryError, secret_fields
from server.providers.channels.http import retry_after
from server.providers.outbound import TargetPolicy
from tests.server.channels.receivers import (
    HTTP_TYPES,
    Receiver,
    config_for,
    local_env,
    make_notice,
)


async def failure(channels: Channels, type: str, receiver: Receiver) -> DeliveryError:
    with pytest.raises(DeliveryError) as raised:
        await channels.send(type, make_notice(), config_for(type, receiver))
    return raised.value


@pytest.mark.parametrize("type", HTTP_TYPES)
async def test_default_policy_refuses_loopback_before_any_request(
    type: str, receiver: Receiver
) -> None:
    async with Channels(local_env(receiver, policy=TargetPolicy())) as channels:
        error = await failure(channels, type, receiver)
    assert error.permanent
    assert error.message == "blocked: 127.0.0.1 is a loopback address"
    assert receiver.requests == []


@pytest.mark.parametrize("type", HTTP_TYPES)
async def test_server_error_is_temporary(type: str, channels: Channels, receiver: Receiver) -> None:
    receiver.answer(500, text="upstream exploded")
    error = await failure(channels, type, receiver)
    assert not error.permanent
    assert error.status_code == 500
    assert "answered 500" in error.message and "127.0.0.1" in error.message


@pytest.mark.parametrize("type", HTTP_TYPES)
async def test_not_found_is_permanent(type: str, channels: Channels, receiver: Receiver) -> None:
    receiver.answer(404, text="no_service")
    error = await failure(channels, type, receiver)
    assert error.permanent
    assert error.status_code == 404


@pytest.mark.parametrize("type", HTTP_TYPES)
async def test_too_many_requests_is_temporary_and_keeps_retry_after(
    type: str, channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(429, text="slow down", headers={"Retry-After": "17"})
    error = await failure(channels, type, receiver)
    assert not error.permanent
    assert error.status_code == 429
    assert error.retry_after_seconds == 17.0


@pytest.mark.parametrize("type", ["slack", "pagerduty"])
async def test_request_timeout_and_too_early_are_temporary(
    type: str, channels: Channels, receiver: Receiver
) -> None:
    for status in (408, 425, 503):
        receiver.answer(status)
        assert not (await failure(channels, type, receiver)).permanent


@pytest.mark.parametrize("type", ["discord", "webhook"])
async def test_redirect_is_not_followed_and_is_permanent(
    type: str, channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(302, headers={"Location": "http://169.254.169.254/latest/meta-data"})
    error = await failure(channels, type, receiver)
    assert error.permanent
    assert "redirect" in error.message
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("type", HTTP_TYPES)
async def test_receiver_slower_than_the_timeout_is_a_temporary_failure(
    type: str, receiver: Receiver
) -> None:
    receiver.answer(200, delay_seconds=2.0)
    async with Channels(local_env(receiver, timeout_seconds=0.3)) as channels:
        error = await failure(channels, type, receiver)
    assert not error.permanent
    assert error.message.endswith("no answer from 127.0.0.1 within 0.3 s")


async def test_refused_connection_is_temporary(receiver: Receiver) -> None:
    config = config_for("slack", receiver)
    port = int(receiver.url.rsplit(":", 1)[1])
    config = config.model_copy(update={"url": f"http://127.0.0.1:{port}/x".replace(str(port), "1")})
    async with Channels(local_env(receiver)) as channels:
        with pytest.raises(DeliveryError) as raised:
            await channels.send("slack", make_notice(), config)
    assert not raised.value.permanent
    assert raised.value.message == "Slack: cannot connect to 127.0.0.1: connection refused"


@pytest.mark.parametrize("type", HTTP_TYPES)
async def test_no_error_text_holds_a_secret_even_when_the_vendor_echoes_it(
    type: str, channels: Channels, receiver: Receiver
) -> None:
    config = config_for(type, receiver)
    secrets = channels_secrets(type, config)
    receiver.answer(401, text="bad credentials: " + " ".join(secrets))
    error = await failure(channels, type, receiver)
    assert secrets
    for secret in secrets:
        assert secret not in error.message
        assert secret not in str(error)
    for path_part in receiver.last.path.split("/"):
        if len(path_part) > 12:  # tokens in a URL's path (Slack, Discord, Telegram)
            assert path_part not in error.message


def channels_secrets(type: str, config: object) -> list[str]:
    found: list[object] = []
    for name in secret_fields(type):
        value = getattr(config, name)
        found.extend(value.values() if isinstance(value, dict) else [value])
    return [str(value) for value in found if value]


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("Sun, 06 Dec 2026 13:41:00 GMT", 60.0),
        ("Sun, 06 Dec 2026 13:39:00 GMT", 0.0),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(
    header: str | None, seconds: float | None
) -> None:
    now = datetime(2026, 12, 6, 13, 40, tzinfo=UTC)
    assert retry_after(header, now=now) == seconds
