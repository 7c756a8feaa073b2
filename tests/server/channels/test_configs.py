"""The facade the API and the dispatcher use: types, config parsing, secrets, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import Settings
from server.providers.channels import TYPES, Channels, parse_config, secret_fields
from tests.server.channels.receivers import (
    PAGERDUTY_KEY,
    WEBHOOK_SECRET,
    Receiver,
    config_for,
    make_notice,
)


def test_types_are_the_ten_of_the_api_in_its_order() -> None:
    assert TYPES == (
        "email",
        "slack",
        "discord",
        "teams",
        "webhook",
        "pagerduty",
        "telegram",
        "twilio",
        "clickup",
        "apprise",
    )


def test_every_type_names_its_write_only_keys() -> None:
    assert {type: secret_fields(type) for type in TYPES} == {
        "email": frozenset(),
        "slack": {"url"},
        "discord": {"url"},
        "teams": {"url"},
        "webhook": {"secret", "headers"},
        "pagerduty": {"routing_key"},
        "telegram": {"bot_token"},
        "twilio": {"auth_token"},
        "clickup": {"api_token"},
        "apprise": {"urls"},
    }


def test_unknown_type_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown channel type 'sms'; one of: email, slack"):
        parse_config("sms", {})
    with pytest.raises(ValueError, match="unknown channel type"):
        secret_fields("sms")


def test_unknown_key_is_refused_by_name() -> None:
    with pytest.raises(
        ValueError, match=r"^config\.chanel: is not a setting of this channel type$"
    ):
        parse_config("slack", {"url": "https://hooks.slack.com/services/x", "chanel": "#ops"})


def test_missing_keys_are_each_named() -> None:
    with pytest.raises(ValueError) as raised:
        parse_config("twilio", {"account_sid": "AC" + "0" * 32})
    message = str(raised.value)
    for field in ("auth_token", "from_number", "to_numbers"):
        assert f"config.{field}: Field required" in message


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.slack.com/x",
        "hooks.slack.com/services/x",
        "https://:443",
        "javascript:alert(1)",
    ],
)
def test_webhook_urls_must_be_http_with_a_host(url: str) -> None:
    with pytest.raises(
        ValueError, match=r"^config\.url: must be an http:// or https:// URL with a host$"
    ) as raised:
        parse_config("discord", {"url": url})
    assert "hooks.slack.com" not in str(raised.value)


def test_a_bad_secret_is_never_repeated_in_the_error() -> None:
    token = "123456789:short"
    with pytest.raises(ValueError) as raised:
        parse_config("telegram", {"bot_token": token, "chat_id": "42"})
    assert (
        str(raised.value) == "config.bot_token: does not have the expected form (docs/channels.md)"
    )


async def test_a_config_of_another_type_is_refused(channels: Channels, receiver: Receiver) -> None:
    with pytest.raises(TypeError, match="a discord channel needs a DiscordConfig"):
        await channels.send("discord", make_notice(), config_for("slack", receiver))
    assert receiver.requests == []


async def test_channels_from_settings_use_the_vendor_urls_and_timeout(
    receiver: Receiver, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        pagerduty_api_url=receiver.url + "/",
        channel_timeout_seconds=3.5,
        allow_private_targets=True,
    )
    receiver.answer(202, json={"status": "success", "message": "Event processed"})
    async with Channels.from_settings(settings) as channels:
        assert channels.env.timeout_seconds == 3.5
        assert channels.env.policy.allow_private
        assert channels.env.data_dir == tmp_path
        config = parse_config("pagerduty", {"routing_key": PAGERDUTY_KEY})
        await channels.send("pagerduty", make_notice(), config)
    assert receiver.last.path == "/v2/enqueue"


def test_vendor_urls_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPMETR_TELEGRAM_API_URL", "http://127.0.0.1:9/telegram")
    monkeypatch.setenv("UPMETR_CHANNEL_TIMEOUT_SECONDS", "2.5")
    settings = Settings()
    assert settings.telegram_api_url == "http://127.0.0.1:9/telegram"
    assert settings.channel_timeout_seconds == 2.5
    assert Settings.model_fields["pagerduty_api_url"].default == "https://events.pagerduty.com"
    assert Settings.model_fields["clickup_api_url"].default == "https://api.clickup.com"
    assert Settings.model_fields["twilio_api_url"].default == "https://api.twilio.com"


def test_parsed_config_keeps_the_values(receiver: Receiver) -> None:
    config = parse_config(
        "webhook", {"url": "https://example.com/hooks", "secret": WEBHOOK_SECRET, "headers": {}}
    )
    assert config.model_dump() == {
        "url": "https://example.com/hooks",
        "secret": WEBHOOK_SECRET,
        "headers": {},
    }
