"""Notification channels and routing rules over the API: what is stored, what is shown
(secrets never), who may change them, and what another organization sees (nothing)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditLog
from server.notifications.models import NotificationChannel
from tests.conftest import Person, World
from tests.server.api_calls import call
from tests.server.channels.receivers import WEBHOOK_SECRET, Receiver, receiver

__all__ = ["receiver"]

API = "/notifications"
CHANNELS = f"{API}/channels"
RULES = f"{API}/rules"
SLACK_URL = "https://hooks.slack.com/services/T000/B000/SECRETSECRETSECRET1234"

Client = TestClient  # type: ignore[type-arg]


async def add_channel(client: Client, person: Person, **body: Any) -> dict[str, Any]:
    body = {"name": "ops", "type": "slack", "config": {"url": SLACK_URL}, **body}
    status, created = await call(client, person, "POST", CHANNELS, body)
    assert status == 201, created
    return dict(created)


async def test_a_channel_is_stored_with_its_secret_masked_and_never_shown(
    client: Client, world: World, db: AsyncSession
) -> None:
    created = await add_channel(client, world.alice)
    assert created["config"] == {"url": "****1234"}
    assert (created["type"], created["enabled"], created["last_error"]) == ("slack", True, None)
    status, listed = await call(client, world.bob, "GET", CHANNELS)
    assert status == 200 and listed["total"] == 1
    assert SLACK_URL not in str(listed)
    async with db.begin():
        row = await db.get(NotificationChannel, created["id"])
    assert row is not None and SLACK_URL not in f"{row.config} {row.secrets}"


async def test_a_patch_keeps_a_secret_left_out_or_sent_back_masked(
    client: Client, world: World
) -> None:
    created = await add_channel(
        client, world.alice, type="webhook",
        config={"url": "https://hooks.example.com/upmetr", "secret": WEBHOOK_SECRET},
    )  # fmt: skip
    status, renamed = await call(
        client, world.alice, "PATCH", f"{CHANNELS}/{created['id']}",
        {"name": "hooks",
         "config": {"url": "https://hooks.example.com/v2", "secret": created["config"]["secret"]}},
    )  # fmt: skip
    assert status == 200, renamed
    assert renamed["config"]["url"] == "https://hooks.example.com/v2"
    assert renamed["config"]["secret"] == created["config"]["secret"]


async def test_bad_channel_input_is_a_400_that_names_the_field_and_stores_nothing(
    client: Client, world: World
) -> None:
    cases = [
        ({"name": "x", "type": "fax", "config": {}}, "type"),
        ({"name": "x", "type": "slack", "config": {}}, "config.url"),
        ({"name": "x", "type": "slack", "config": {"url": SLACK_URL, "colour": "red"}}, "colour"),
        ({"name": "x", "type": "slack", "config": {"url": "ftp://example.com/x"}}, "config.url"),
        ({"name": "", "type": "slack", "config": {"url": SLACK_URL}}, "name"),
    ]
    for body, named in cases:
        status, answer = await call(client, world.alice, "POST", CHANNELS, body)
        assert status == 400, (body, answer)
        assert named in answer["detail"], answer
    created = await add_channel(client, world.alice)
    status, answer = await call(client, world.alice, "PATCH", f"{CHANNELS}/{created['id']}", {})
    assert status == 400
    status, answer = await call(
        client, world.alice, "PATCH", f"{CHANNELS}/{created['id']}", {"config": {"url": "x"}}
    )
    assert status == 400 and "config.url" in answer["detail"]
    assert (await call(client, world.alice, "GET", CHANNELS))[1]["total"] == 1


async def test_a_duplicate_channel_name_is_a_409(client: Client, world: World) -> None:
    await add_channel(client, world.alice)
    status, answer = await call(
        client, world.alice, "POST", CHANNELS,
        {"name": "ops", "type": "slack", "config": {"url": SLACK_URL}},
    )  # fmt: skip
    assert (status, answer["detail"]) == (409, "A channel named 'ops' already exists")


async def test_a_viewer_reads_channels_and_rules_but_cannot_change_them(
    client: Client, world: World
) -> None:
    created = await add_channel(client, world.alice)
    body = {"name": "b", "type": "slack", "config": {"url": SLACK_URL}}
    for method, path, payload in (
        ("POST", CHANNELS, body),
        ("PATCH", f"{CHANNELS}/{created['id']}", {"enabled": False}),
        ("DELETE", f"{CHANNELS}/{created['id']}", None),
        ("POST", f"{CHANNELS}/{created['id']}/test", None),
        ("POST", RULES, {"name": "r", "events": ["*"], "channel_ids": [created["id"]]}),
    ):
        assert (await call(client, world.bob, method, path, payload))[0] == 403, (method, path)
    assert (await call(client, world.bob, "GET", f"{CHANNELS}/{created['id']}"))[0] == 200


async def test_another_organizations_channels_and_rules_are_404_and_cannot_be_routed_to(
    client: Client, world: World
) -> None:
    channel = await add_channel(client, world.alice)
    status, rule = await call(
        client, world.alice, "POST", RULES,
        {"name": "all", "events": ["incident.*"], "channel_ids": [channel["id"]]},
    )  # fmt: skip
    assert status == 201, rule
    for method, path, payload in (
        ("GET", f"{CHANNELS}/{channel['id']}", None),
        ("PATCH", f"{CHANNELS}/{channel['id']}", {"enabled": False}),
        ("DELETE", f"{CHANNELS}/{channel['id']}", None),
        ("POST", f"{CHANNELS}/{channel['id']}/test", None),
        ("GET", f"{RULES}/{rule['id']}", None),
        ("PATCH", f"{RULES}/{rule['id']}", {"enabled": False}),
        ("DELETE", f"{RULES}/{rule['id']}", None),
    ):
        assert (await call(client, world.carol, method, path, payload))[0] == 404, (method, path)
    status, answer = await call(
        client, world.carol, "POST", RULES,
        {"name": "steal", "events": ["*"], "channel_ids": [channel["id"]]},
    )  # fmt: skip
    assert status == 400
    assert answer["detail"] == (
        f"body field 'channel_ids': no channel {channel['id']} in this organization"
    )
    assert (await call(client, world.carol, "GET", CHANNELS))[1]["total"] == 0
    assert (await call(client, world.carol, "GET", RULES))[1]["total"] == 0


async def test_rules_take_known_events_and_families_and_refuse_others(
    client: Client, world: World
) -> None:
    channel = await add_channel(client, world.alice)
    ids = [channel["id"]]
    status, rule = await call(
        client, world.alice, "POST", RULES,
        {"name": "r", "events": ["incident.opened", "budget.*"], "channel_ids": ids,
         "min_severity": "error"},
    )  # fmt: skip
    assert status == 201, rule
    assert (rule["events"], rule["min_severity"]) == (["incident.opened", "budget.*"], "error")
    bad = [
        {"name": "x", "events": ["incident.exploded"], "channel_ids": ids},
        {"name": "x", "events": ["nothing.*"], "channel_ids": ids},
        {"name": "x", "events": [], "channel_ids": ids},
        {"name": "x", "events": ["*"], "channel_ids": []},
        {"name": "x", "events": ["*"], "channel_ids": ids, "escalate_after_minutes": 5},
        {"name": "x", "events": ["*"], "channel_ids": ids, "escalation_channel_ids": ids},
        {"name": "x", "events": ["*"], "channel_ids": ids, "min_severity": "fatal"},
    ]
    for body in bad:
        status, answer = await call(client, world.alice, "POST", RULES, body)
        assert status == 400, (body, answer)
    assert (await call(client, world.alice, "GET", RULES))[1]["total"] == 1


async def test_deleting_a_channel_takes_it_out_of_its_rules(client: Client, world: World) -> None:
    first = await add_channel(client, world.alice)
    second = await add_channel(client, world.alice, name="second")
    status, rule = await call(
        client, world.alice, "POST", RULES,
        {"name": "r", "events": ["*"], "channel_ids": [first["id"], second["id"]],
         "escalate_after_minutes": 10, "escalation_channel_ids": [first["id"]]},
    )  # fmt: skip
    assert status == 201, rule
    assert (await call(client, world.alice, "DELETE", f"{CHANNELS}/{first['id']}"))[0] == 204
    status, after = await call(client, world.alice, "GET", f"{RULES}/{rule['id']}")
    assert (after["channel_ids"], after["escalation_channel_ids"]) == ([second["id"]], [])


async def test_changes_to_channels_and_rules_are_audited(
    client: Client, world: World, db: AsyncSession
) -> None:
    channel = await add_channel(client, world.alice)
    await call(client, world.alice, "PATCH", f"{CHANNELS}/{channel['id']}", {"enabled": False})
    _, rule = await call(
        client, world.alice, "POST", RULES,
        {"name": "r", "events": ["*"], "channel_ids": [channel["id"]]},
    )  # fmt: skip
    await call(client, world.alice, "DELETE", f"{RULES}/{rule['id']}")
    await call(client, world.alice, "DELETE", f"{CHANNELS}/{channel['id']}")
    async with db.begin():
        entries = (
            await db.execute(
                select(AuditLog.action, AuditLog.detail)
                .where(AuditLog.org_id == world.org_a, AuditLog.action != "auth.login")
                .order_by(AuditLog.id)
            )
        ).all()
    assert [action for action, _ in entries] == [
        "channel.created",
        "channel.updated",
        "notification_rule.created",
        "notification_rule.deleted",
        "channel.deleted",
    ]
    assert all(SLACK_URL not in (detail or "") for _, detail in entries)


async def test_a_test_message_reports_the_vendors_answer_and_disables_nothing(
    client: Client, world: World, receiver: Receiver
) -> None:
    channel = await add_channel(
        client, world.alice, type="discord", config={"url": f"{receiver.url}/api/webhooks/1/T0K3N"}
    )
    receiver.answer(204)
    status, sent = await call(client, world.alice, "POST", f"{CHANNELS}/{channel['id']}/test")
    assert status == 200, sent
    assert (sent["ok"], sent["status_code"]) == (True, 204)
    assert "Test message" in receiver.last.json()["embeds"][0]["title"]
    receiver.answer(404, json={"message": "Unknown Webhook", "code": 10015})
    status, failed = await call(client, world.alice, "POST", f"{CHANNELS}/{channel['id']}/test")
    assert status == 200
    assert (failed["ok"], failed["status_code"], failed["permanent"]) == (False, 404, True)
    assert "T0K3N" not in str(failed)
    status, after = await call(client, world.alice, "GET", f"{CHANNELS}/{channel['id']}")
    assert (after["enabled"], after["last_error"]) == (True, None)
