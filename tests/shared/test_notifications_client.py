"""The notification namespaces (`channels`, `notification_rules`, `notifications`) against a
real server on 127.0.0.1, with a vendor stand-in on 127.0.0.1 for the test messages."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from shared.api.incidents import Severity
from shared.api.notifications import ChannelType, DeliveryStatus, EventType
from shared.client import AsyncClient, BadRequest, Client, Forbidden, NotFound
from tests.conftest import World
from tests.server.channels.receivers import WEBHOOK_SECRET, Receiver, receiver
from tests.shared.cloud_builders import url_of

__all__ = ["receiver"]

SLACK_URL = "https://hooks.slack.com/services/T000/B000/SECRETSECRETSECRET1234"


def api_for(client: TestClient, token: str) -> AsyncClient:
    return AsyncClient(url_of(client), access_token=token)


def test_sync_and_async_clients_offer_the_same_notification_methods() -> None:
    sync_api, async_api = Client("http://host"), AsyncClient("http://host")
    methods = {
        "channels": {"list", "get", "create", "update", "delete", "test"},
        "notification_rules": {"list", "get", "create", "update", "delete"},
        "notifications": {
            "list",
            "unread_count",
            "read",
            "read_all",
            "delete",
            "deliveries",
            "preferences",
            "set_preferences",
        },
    }
    for name, expected in methods.items():
        for api in (sync_api, async_api):
            namespace = getattr(api, name)
            public = {m for m in dir(namespace) if not m.startswith("_")}
            assert public == expected, name


async def test_channels_are_added_changed_tested_and_deleted_without_echoing_secrets(
    client: TestClient,
    world: World,
    receiver: Receiver,
) -> None:
    async with api_for(client, world.alice.access_token) as api:
        slack = await api.channels.create(name="ops", type="slack", config={"url": SLACK_URL})
        assert (slack.type, slack.enabled, slack.config) == (
            ChannelType.slack,
            True,
            {"url": "****1234"},
        )
        hook = await api.channels.create(
            name="hooks",
            type=ChannelType.webhook,
            config={"url": f"{receiver.url}/hook", "secret": WEBHOOK_SECRET},
        )
        assert WEBHOOK_SECRET not in hook.model_dump_json()
        assert [c.name for c in (await api.channels.list()).items] == ["hooks", "ops"]
        paused = await api.channels.update(slack.id, enabled=False, name="ops-slack")
        assert (paused.name, paused.enabled, paused.config) == ("ops-slack", False, slack.config)
        assert (await api.channels.get(slack.id)).enabled is False

        sent = await api.channels.test(hook.id)
        assert (sent.ok, sent.status_code) == (True, 200)
        assert receiver.last.path == "/hook" and "webhook-signature" in receiver.last.headers
        receiver.answer(410, text="gone")
        failed = await api.channels.test(hook.id)
        assert (failed.ok, failed.status_code, failed.permanent) == (False, 410, True)

        await api.channels.delete(slack.id)
        with pytest.raises(NotFound):
            await api.channels.get(slack.id)


async def test_rules_route_events_to_channels_and_bad_input_names_the_field(
    client: TestClient,
    world: World,
) -> None:
    async with api_for(client, world.alice.access_token) as api:
        first = await api.channels.create(name="a", type="slack", config={"url": SLACK_URL})
        second = await api.channels.create(name="b", type="slack", config={"url": SLACK_URL})
        rule = await api.notification_rules.create(
            name="pages",
            events=["incident.opened", "budget.*"],
            channel_ids=[first.id],
            min_severity="error",
            escalate_after_minutes=15,
            escalation_channel_ids=[second.id],
        )
        assert (rule.events, rule.channel_ids, rule.escalation_channel_ids) == (
            ["incident.opened", "budget.*"],
            [first.id],
            [second.id],
        )
        assert rule.min_severity.value == "error" and rule.escalate_after_minutes == 15
        off = await api.notification_rules.update(rule.id, enabled=False)
        assert (off.enabled, off.events) == (False, rule.events)
        assert (await api.notification_rules.get(rule.id)).enabled is False
        assert [r.id for r in (await api.notification_rules.list()).items] == [rule.id]
        with pytest.raises(BadRequest, match="events"):
            await api.notification_rules.create(
                name="bad", events=["incident.exploded"], channel_ids=[first.id]
            )
        await api.notification_rules.delete(rule.id)
        assert (await api.notification_rules.list()).total == 0
    async with api_for(client, world.bob.access_token) as viewer:
        assert [c.id for c in (await viewer.channels.list()).items] == [first.id, second.id]
        with pytest.raises(Forbidden):
            await viewer.channels.test(first.id)
    async with api_for(client, world.carol.access_token) as other_org:
        with pytest.raises(NotFound):
            await other_org.channels.get(first.id)


async def test_the_inbox_counts_marks_read_and_deletes_and_the_log_lists_deliveries(
    client: TestClient,
    world: World,
) -> None:
    async with api_for(client, world.alice.access_token) as api:
        channel = await api.channels.create(name="ops", type="slack", config={"url": SLACK_URL})
        await api.notification_rules.create(
            name="all", events=["incident.*"], channel_ids=[channel.id]
        )
        await api.incidents.create(title="API down", severity="critical")
        await api.incidents.create(title="Disk filling", severity="warning")
        # Without the worker the deliveries wait in the outbox: the log shows them pending.
        log = await api.notifications.deliveries(channel_id=channel.id, event="incident.opened")
        assert log.total == 2
        assert {(d.status, d.channel_name) for d in log.items} == {(DeliveryStatus.pending, "ops")}
        delivered = (await api.notifications.deliveries(status="delivered")).items
        assert {d.status for d in delivered} <= {DeliveryStatus.delivered}
        assert channel.id not in {d.channel_id for d in delivered}
    async with api_for(client, world.bob.access_token) as api:
        assert (await api.notifications.unread_count()).unread == 2
        newest, oldest = (await api.notifications.list()).items
        assert (newest.title, oldest.title) == ("Disk filling", "API down")
        assert (newest.severity, oldest.severity) == ("warning", "critical")
        read = await api.notifications.read(oldest.id)
        assert read.read is True
        assert [n.id for n in (await api.notifications.list(unread=True)).items] == [newest.id]
        assert (await api.notifications.read_all()).unread == 0
        await api.notifications.delete(newest.id)
        assert [n.id for n in (await api.notifications.list()).items] == [oldest.id]
        with pytest.raises(NotFound):
            await api.notifications.read(newest.id)
    async with api_for(client, world.alice.access_token) as api:
        assert (await api.notifications.unread_count()).unread == 2  # hers are her own


async def test_preferences_are_read_and_replaced(
    client: TestClient,
    world: World,
) -> None:
    async with api_for(client, world.bob.access_token) as api:
        mine = await api.notifications.preferences()
        assert mine.events[EventType.incident_opened].email is True  # the default
        mine.min_severity = Severity.error
        mine.quiet_hours.enabled = True
        mine.quiet_hours.timezone = "Europe/Paris"
        saved = await api.notifications.set_preferences(mine)
        assert (saved.min_severity, saved.quiet_hours.timezone) == (Severity.error, "Europe/Paris")
        assert (await api.notifications.preferences()).quiet_hours.enabled is True
