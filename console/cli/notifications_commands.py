"""`upmetr channels`: where notifications go (console/cli/rules_commands.py says which
events go where; console/cli/inbox_commands.py has the inbox and the delivery log)."""

from __future__ import annotations

import base64
import json
import secrets
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from console.cli.cloud_format import clip
from console.cli.output import (
    json_option,
    page_options,
    print_fields,
    print_json,
    print_page,
    print_result,
)
from console.cli.session import open_client, reports_errors
from console.cli.switches import switches_and_rm
from shared.api.incidents import Severity
from shared.api.notifications import (
    ChannelRead,
    ChannelType,
    DeliveryStatus,
)

TYPES = click.Choice([channel_type.value for channel_type in ChannelType])
SEVERITIES = click.Choice([severity.value for severity in Severity])
DELIVERY_STATUSES = click.Choice([status.value for status in DeliveryStatus])
# Standard Webhooks: a secret is `whsec_` and the base64 of 24 to 64 random bytes.
WEBHOOK_SECRET_BYTES = 32


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(WEBHOOK_SECRET_BYTES)).decode()


def _last_result(channel: ChannelRead) -> str | None:
    return None if channel.last_error is None else clip(channel.last_error, 40)


_CHANNEL_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda c: c.id),
    ("name", lambda c: clip(c.name, 24)),
    ("type", lambda c: c.type.value),
    ("enabled", lambda c: c.enabled),
    ("last delivered", lambda c: c.last_delivered_at),
    ("last error", _last_result),
]


def _config_pairs(pairs: Sequence[str]) -> dict[str, Any]:
    """`KEY=VALUE` options; a value written as a JSON list or object is taken as one."""
    config: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--config")
        parsed: Any = value
        if value[:1] in "[{":
            try:
                parsed = json.loads(value)
            except ValueError as exc:
                raise click.BadParameter(f"{key}: {exc}", param_hint="--config") from exc
        config[key] = parsed
    return config


def channel_config(
    channel_type: str,
    *,
    urls: Sequence[str],
    to: Sequence[str],
    secret: str | None,
    routing_key: str | None,
    chat_id: str | None,
    bot_token: str | None,
    extra: Sequence[str],
) -> dict[str, Any]:
    """The config the options name, in the type's own keys (docs/channels.md)."""
    config: dict[str, Any] = {}
    if urls:
        if channel_type == ChannelType.apprise:
            config["urls"] = list(urls)
        elif len(urls) > 1:
            raise click.BadParameter("one URL for this type", param_hint="--url")
        else:
            config["url"] = urls[0]
    if to:
        config["to_numbers" if channel_type == ChannelType.twilio else "to"] = list(to)
    named = {"secret": secret, "routing_key": routing_key, "chat_id": chat_id}
    config |= {key: value for key, value in named.items() if value is not None}
    if bot_token is not None:
        config["bot_token"] = bot_token
    return config | _config_pairs(extra)


def _print_channel(channel: ChannelRead) -> None:
    print_fields(
        [
            ("id", channel.id),
            ("name", channel.name),
            ("type", channel.type.value),
            ("enabled", channel.enabled),
            *((f"config {key}", jsonish(value)) for key, value in channel.config.items()),
            ("last delivered", channel.last_delivered_at),
            ("last error", channel.last_error),
            ("last error at", channel.last_error_at),
        ]
    )


def jsonish(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# -- channels -----------------------------------------------------------------------------


@click.group()
def channels() -> None:
    """Notification channels: email, Slack, Discord, Teams, webhooks, PagerDuty and more."""


@channels.command("list")
@page_options
@json_option
@reports_errors
def channels_list(page: int, per_page: int, as_json: bool) -> None:
    """The organization's channels, by name."""
    with open_client() as api:
        result = api.channels.list(page=page, per_page=per_page)
    print_result(result, as_json, lambda: print_page(result, _CHANNEL_COLUMNS))


@channels.command("show")
@click.argument("channel_id", type=int)
@json_option
@reports_errors
def channels_show(channel_id: int, as_json: bool) -> None:
    """One channel, its config (secrets masked) and how its last delivery went."""
    with open_client() as api:
        channel = api.channels.get(channel_id)
    print_result(channel, as_json, lambda: _print_channel(channel))


def config_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options that name a channel's config keys, shared by `add` and `update`."""
    options = [
        click.option("--url", "urls", multiple=True, help="The webhook URL (apprise: each URL)."),
        click.option("--to", multiple=True, help="email: an address; twilio: a number."),
        click.option("--secret", help="webhook: whsec_...; made for you when left out."),
        click.option("--routing-key", help="pagerduty: the integration key."),
        click.option("--chat-id", help="telegram: the chat's id or @name."),
        click.option("--bot-token", help="telegram: the bot's token."),
        click.option("--config", "extra", multiple=True, metavar="KEY=VALUE", help="Any key."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@channels.command("add")
@click.argument("channel_type", metavar="TYPE", type=TYPES)
@click.option("--name", required=True)
@config_options
@click.option("--disabled", is_flag=True, help="Add it switched off.")
@json_option
@reports_errors
def channels_add(
    channel_type: str,
    name: str,
    urls: tuple[str, ...],
    to: tuple[str, ...],
    secret: str | None,
    routing_key: str | None,
    chat_id: str | None,
    bot_token: str | None,
    extra: tuple[str, ...],
    disabled: bool,
    as_json: bool,
) -> None:
    """Add a channel of TYPE (docs/channels.md lists each type's keys).

    A webhook channel without --secret gets a new one, printed once: the server never
    shows it again.
    """
    config = channel_config(
        channel_type,
        urls=urls,
        to=to,
        secret=secret,
        routing_key=routing_key,
        chat_id=chat_id,
        bot_token=bot_token,
        extra=extra,
    )
    generated = None
    if channel_type == ChannelType.webhook and "secret" not in config:
        generated = config["secret"] = new_webhook_secret()
    with open_client() as api:
        channel = api.channels.create(
            name=name, type=channel_type, config=config, enabled=False if disabled else None
        )
    if as_json:
        shown = channel.model_dump(mode="json")
        print_json(shown if generated is None else {**shown, "generated_secret": generated})
        return
    click.echo(f"Channel {channel.id} added: {channel.name} ({channel.type.value}).")
    if generated is not None:
        click.echo(f"Signing secret: {generated}")
        click.echo("Keep it now: it is shown this once, the server never shows it again.")


@channels.command("update")
@click.argument("channel_id", type=int)
@click.option("--name", help="A new name.")
@config_options
@json_option
@reports_errors
def channels_update(
    channel_id: int,
    name: str | None,
    urls: tuple[str, ...],
    to: tuple[str, ...],
    secret: str | None,
    routing_key: str | None,
    chat_id: str | None,
    bot_token: str | None,
    extra: tuple[str, ...],
    as_json: bool,
) -> None:
    """Change a channel's name or the config keys given; the others, secrets included,
    keep their values."""
    with open_client() as api:
        channel_type = api.channels.get(channel_id).type.value
        config = channel_config(
            channel_type, urls=urls, to=to, secret=secret, routing_key=routing_key,
            chat_id=chat_id, bot_token=bot_token, extra=extra,
        )  # fmt: skip
        if not config and name is None:
            raise click.UsageError("name a change: --name, or a config option")
        channel = api.channels.update(channel_id, name=name, config=config or None)
    print_result(channel, as_json, lambda: _print_channel(channel))


@channels.command("test")
@click.argument("channel_id", type=int)
@json_option
@reports_errors
def channels_test(channel_id: int, as_json: bool) -> None:
    """Send a test message now and print the vendor's answer; exit 1 when it failed."""
    with open_client() as api:
        result = api.channels.test(channel_id)

    def human() -> None:
        click.echo(f"Test message {'delivered' if result.ok else 'failed'}.")
        print_fields(
            [
                ("status code", result.status_code),
                ("answer", result.detail),
                ("permanent", result.permanent if not result.ok else None),
                ("took (ms)", round(result.duration_ms)),
            ]
        )

    print_result(result, as_json, human)
    if not result.ok:
        sys.exit(1)


switches_and_rm(
    channels,
    "Channel",
    "channels",
    on="Switch a channel on (clears the error that switched it off).",
    off="Switch a channel off: nothing is sent to it until it is enabled.",
)
