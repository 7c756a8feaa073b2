"""Apprise: any Apprise URL, run in a thread, each service's outcome in the detail; tried
with Apprise's own `json://` service against the receiver."""

from __future__ import annotations

import pytest

from server.providers.channels import Channels, DeliveryError, parse_config
from server.providers.channels.apprise import looks_like_a_host
from server.providers.outbound import TargetPolicy
from tests.server.channels.receivers import Receiver, local_env, make_notice


def json_url(receiver: Receiver, path: str = "/apprise") -> str:
    return receiver.url.replace("http://", "json://") + path


async def test_apprise_posts_through_its_json_service(
    channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(200, text="ok")
    config = parse_config("apprise", {"urls": [json_url(receiver)]})
    sent = await channels.send("apprise", make_notice(), config)
    assert sent.detail == "json: ok"
    request = receiver.last
    assert request.method == "POST" and request.path == "/apprise"
    payload = request.json()
    assert payload["title"] == "[Critical] api.example.com is down"
    assert payload["message"].startswith("[Critical] api.example.com is down")
    assert "Monitor: api" in payload["message"]
    assert payload["type"] == "failure"


async def test_apprise_tells_each_services_outcome(channels: Channels, receiver: Receiver) -> None:
    receiver.answer_next(500)
    receiver.answer(200)
    config = parse_config(
        "apprise", {"urls": [json_url(receiver, "/first"), json_url(receiver, "/second")]}
    )
    sent = await channels.send("apprise", make_notice(severity="info"), config)
    assert sent.detail == "json: failed; json: ok"
    assert receiver.last.json()["type"] == "info"


async def test_apprise_all_failed_is_temporary(channels: Channels, receiver: Receiver) -> None:
    receiver.answer(503)
    config = parse_config("apprise", {"urls": [json_url(receiver)]})
    with pytest.raises(DeliveryError) as raised:
        await channels.send("apprise", make_notice(), config)
    assert not raised.value.permanent
    assert raised.value.message == "Apprise: json: failed"


async def test_apprise_does_not_follow_redirects(channels: Channels, receiver: Receiver) -> None:
    receiver.answer(302, headers={"Location": "http://169.254.169.254/latest/meta-data"})
    config = parse_config("apprise", {"urls": [json_url(receiver)]})
    with pytest.raises(DeliveryError, match="json: failed"):
        await channels.send("apprise", make_notice(), config)
    assert len(receiver.requests) == 1


async def test_apprise_target_refused_by_the_policy_is_permanent_and_not_sent(
    receiver: Receiver,
) -> None:
    config = parse_config("apprise", {"urls": [json_url(receiver)]})
    async with Channels(local_env(receiver, policy=TargetPolicy())) as channels:
        with pytest.raises(DeliveryError) as raised:
            await channels.send("apprise", make_notice(), config)
    assert raised.value.permanent
    assert raised.value.message == "blocked: json: 127.0.0.1 is a loopback address"
    assert receiver.requests == []


async def test_apprise_name_resolving_to_a_refused_address_is_refused(receiver: Receiver) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    config = parse_config("apprise", {"urls": [f"json://localhost:{port}/x"]})
    async with Channels(local_env(receiver, policy=TargetPolicy())) as channels:
        with pytest.raises(DeliveryError, match=r"^blocked: json: \S+ is a loopback address$"):
            await channels.send("apprise", make_notice(), config)
    assert receiver.requests == []


async def test_apprise_error_never_shows_a_url(receiver: Receiver) -> None:
    secret_url = receiver.url.replace("http://", "json://user:s3cretPassw0rd@") + "/token123456"
    config = parse_config("apprise", {"urls": [secret_url]})
    async with Channels(local_env(receiver, policy=TargetPolicy())) as channels:
        with pytest.raises(DeliveryError) as raised:
            await channels.send("apprise", make_notice(), config)
    assert "s3cretPassw0rd" not in raised.value.message
    assert "token123456" not in raised.value.message


def test_a_url_apprise_cannot_read_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValueError) as raised:
        parse_config("apprise", {"urls": ["nosuchservice://secret-token-value"]})
    message = str(raised.value)
    assert message.startswith("config.urls.0: Apprise cannot read this nosuchservice:// URL")
    assert "secret-token-value" not in message


def test_apprise_reads_vendor_urls() -> None:
    config = parse_config(
        "apprise",
        {"urls": ["slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ", "ntfy://ntfy.sh/upmetr"]},
    )
    assert len(config.urls) == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("host", "looked_up"),
    [("T1JJ3T3L2", False), ("ntfy.example.com", True), ("localhost", True), ("10.1.2.3", True)],
)
def test_only_hosts_are_looked_up_never_tokens(host: str, looked_up: bool) -> None:
    assert looks_like_a_host(host) is looked_up
