"""`upmetr channels`, `upmetr rules`, `upmetr notifications` and `upmetr deliveries`:
where notifications go, which events go where, the caller's inbox and the delivery log."""

from __future__ import annotations

import base64
import json
import secrets
import sys
from collections.abc import Sequence
from operator import itemgetter
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
    print_table,
)
from console.cli.session import open_client, reports_errors
from shared.api.incidents import Severity
from shared.api.notifications import (
    AttemptRead,
    ChannelRead,
    ChannelType,
    DeliveryRead,
    DeliveryStatus,
    NotificationRead,
    RuleRead,
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

_RULE_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda r: r.id),
    ("name", lambda r: clip(r.name, 24)),
    ("enabled", lambda r: r.enabled),
    ("events", lambda r: ",".join(r.events)),
    ("min severity", lambda r: r.min_severity.value),
    ("channels", lambda r: ",".join(map(str, r.channel_ids))),
    ("escalation", lambda r: _escalation(r)),
]

_INBOX_COLUMNS: list[tuple[str, Any]] = [
    ("id", lambda n: n.id),
    ("state", lambda n: "read" if n.read else "unread"),
    ("severity", lambda n: n.severity.value),
    ("at", lambda n: n.created_at),
    ("title", lambda n: n.title),
]


def _escalation(rule: RuleRead) -> str | None:
    if rule.escalate_after_minutes is None:
        return None
    to = ",".join(map(str, rule.escalation_channel_ids)) or "-"
    return f"after {rule.escalate_after_minutes} min to {to}"


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


@channels.command("add")
@click.argument("channel_type", metavar="TYPE", type=TYPES)
@click.option("--name", required=True)
@click.option("--url", "urls", multiple=True, help="The webhook URL (apprise: each URL).")
@click.option("--to", multiple=True, help="email: an address; twilio: a number (repeatable).")
@click.option("--secret", help="webhook: whsec_...; made for you when left out.")
@click.option("--routing-key", help="pagerduty: the integration key.")
@click.option("--chat-id", help="telegram: the chat's id or @name.")
@click.option("--bot-token", help="telegram: the bot's token.")
@click.option("--config", "extra", multiple=True, metavar="KEY=VALUE", help="Any other key.")
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


def _switches_and_rm(group: click.Group, kind: str, namespace: str, on: str, off: str) -> None:
    """`enable ID`, `disable ID` and `rm ID [--yes]` of a group whose client namespace has
    `update(id, enabled=...)` and `delete(id)` (channels, rules)."""

    def switch(item_id: int, enabled: bool, as_json: bool) -> None:
        with open_client() as api:
            changed = getattr(api, namespace).update(item_id, enabled=enabled)
        state = "enabled" if enabled else "disabled"
        print_result(
            changed, as_json, lambda: click.echo(f"{kind} {item_id} {state}: {changed.name}")
        )

    @group.command("enable", help=on)
    @click.argument("item_id", metavar="ID", type=int)
    @json_option
    @reports_errors
    def enable(item_id: int, as_json: bool) -> None:
        switch(item_id, True, as_json)

    @group.command("disable", help=off)
    @click.argument("item_id", metavar="ID", type=int)
    @json_option
    @reports_errors
    def disable(item_id: int, as_json: bool) -> None:
        switch(item_id, False, as_json)

    @group.command("rm", help=f"Delete a {kind.lower()}.")
    @click.argument("item_id", metavar="ID", type=int)
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @reports_errors
    def remove(item_id: int, yes: bool) -> None:
        if not yes:
            click.confirm(f"Delete {kind.lower()} {item_id}?", abort=True, err=True)
        with open_client() as api:
            getattr(api, namespace).delete(item_id)
        click.echo(f"{kind} {item_id} deleted.")


_switches_and_rm(
    channels,
    "Channel",
    "channels",
    on="Switch a channel on (clears the error that switched it off).",
    off="Switch a channel off: nothing is sent to it until it is enabled.",
)


# -- rules --------------------------------------------------------------------------------


def _split(values: Sequence[str]) -> list[str]:
    """`--events a,b --events c` -> [a, b, c]."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@click.group()
def rules() -> None:
    """Routing rules: which events go to which channels, and escalation."""


@rules.command("list")
@page_options
@json_option
@reports_errors
def rules_list(page: int, per_page: int, as_json: bool) -> None:
    """The organization's routing rules, by name."""
    with open_client() as api:
        result = api.notification_rules.list(page=page, per_page=per_page)
    print_result(result, as_json, lambda: print_page(result, _RULE_COLUMNS))


@rules.command("add")
@click.option("--name", required=True)
@click.option(
    "--events", required=True, multiple=True, help="incident.opened,incident.resolved,budget.*"
)
@click.option("--channel", "channel_ids", type=int, multiple=True, required=True)
@click.option("--min-severity", type=SEVERITIES, help="Only events this severe or more.")
@click.option("--escalate-after", type=click.IntRange(1, 10080), metavar="MINUTES")
@click.option("--escalate-to", "escalation_channel_ids", type=int, multiple=True)
@json_option
@reports_errors
def rules_add(
    name: str,
    events: tuple[str, ...],
    channel_ids: tuple[int, ...],
    min_severity: str | None,
    escalate_after: int | None,
    escalation_channel_ids: tuple[int, ...],
    as_json: bool,
) -> None:
    """Add a rule: EVENTS go to each --channel; an incident nobody acknowledged within
    --escalate-after minutes goes to each --escalate-to channel too."""
    if escalation_channel_ids and escalate_after is None:
        raise click.UsageError("--escalate-to needs --escalate-after")
    with open_client() as api:
        rule = api.notification_rules.create(
            name=name,
            events=_split(events),
            channel_ids=channel_ids,
            min_severity=min_severity,
            escalate_after_minutes=escalate_after,
            escalation_channel_ids=escalation_channel_ids or None,
        )
    print_result(rule, as_json, lambda: click.echo(f"Rule {rule.id} added: {rule.name}."))


_switches_and_rm(
    rules, "Rule", "notification_rules", on="Switch a rule on.", off="Switch a rule off."
)


# -- the inbox and the delivery log -------------------------------------------------------


@click.group(invoke_without_command=True)
@click.option("--unread", is_flag=True, help="Only what is not read yet.")
@page_options
@json_option
@click.pass_context
@reports_errors
def notifications(
    ctx: click.Context, unread: bool, page: int, per_page: int, as_json: bool
) -> None:
    """Your inbox, newest first (`read ID`, `read-all`, `rm ID` act on it)."""
    if ctx.invoked_subcommand is not None:
        return
    with open_client() as api:
        result = api.notifications.list(unread=unread or None, page=page, per_page=per_page)
    print_result(result, as_json, lambda: print_page(result, _INBOX_COLUMNS, numbered=True))


@notifications.command("read")
@click.argument("notification_id", type=int)
@json_option
@reports_errors
def notifications_read(notification_id: int, as_json: bool) -> None:
    """Mark one line read."""
    with open_client() as api:
        line: NotificationRead = api.notifications.read(notification_id)
    print_result(line, as_json, lambda: click.echo(f"Notification {line.id} read: {line.title}"))


@notifications.command("read-all")
@json_option
@reports_errors
def notifications_read_all(as_json: bool) -> None:
    """Mark the whole inbox read."""
    with open_client() as api:
        left = api.notifications.read_all()
    print_result(left, as_json, lambda: click.echo("Every notification is read."))


@notifications.command("rm")
@click.argument("notification_id", type=int)
@reports_errors
def notifications_rm(notification_id: int) -> None:
    """Delete one line of your inbox."""
    with open_client() as api:
        api.notifications.delete(notification_id)
    click.echo(f"Notification {notification_id} deleted.")


def _outcome(attempt: AttemptRead) -> str:
    """`200`, `503 Service Unavailable`, or the error alone (a timeout has no status)."""
    parts = [str(attempt.status_code)] if attempt.status_code is not None else []
    if attempt.error:
        parts.append(attempt.error)
    return " ".join(parts) or ("ok" if attempt.ok else "failed")


def _attempt_rows(deliveries: Sequence[DeliveryRead]) -> list[dict[str, Any]]:
    """One row per attempt, the delivery's columns on its first; a delivery not yet tried
    has one row of its own."""
    rows: list[dict[str, Any]] = []
    for delivery in deliveries:
        head = {
            "id": delivery.id,
            "channel": clip(delivery.channel_name, 20),
            "event": delivery.event_type + (" (escalation)" if delivery.escalation else ""),
            "status": delivery.status.value,
        }
        blank = dict.fromkeys(head, "")
        attempts: list[AttemptRead | None] = [*delivery.attempt_log] or [None]
        for number, attempt in enumerate(attempts, start=1):
            rows.append(
                {
                    **(head if number == 1 else blank),
                    "attempt": number if attempt else None,
                    "at": attempt.attempted_at if attempt else None,
                    "result": clip(_outcome(attempt), 60) if attempt else None,
                }
            )
    return rows


@click.command("deliveries")
@click.option("--channel", "channel_id", type=int, help="Only this channel's deliveries.")
@click.option("--event", help="Only this event type (incident.opened).")
@click.option("--status", type=DELIVERY_STATUSES)
@page_options
@json_option
@reports_errors
def deliveries(
    channel_id: int | None,
    event: str | None,
    status: str | None,
    page: int,
    per_page: int,
    as_json: bool,
) -> None:
    """The delivery log, newest first: each delivery and each attempt's status code or error."""
    with open_client() as api:
        result = api.notifications.deliveries(
            channel_id=channel_id, event=event, status=status, page=page, per_page=per_page
        )

    def human() -> None:
        keys = ("id", "channel", "event", "status", "attempt", "at", "result")
        print_table(_attempt_rows(result.items), [(key, itemgetter(key)) for key in keys])
        shown = len(result.items)
        if result.total > shown:
            click.echo(f"({shown} of {result.total}; page {result.page}, --page for more)")

    print_result(result, as_json, human)
