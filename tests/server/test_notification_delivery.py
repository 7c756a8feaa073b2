"""The outbox end to end: an incident's change reaches a receiver on 127.0.0.1 through the
dispatcher, retries keep one idempotency id, a permanent error disables the channel and
tells the admins, escalations go out when nobody acknowledges and not when someone does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.context import RUNTIME
from server.db.base import utcnow
from server.notifications import delivery
from server.notifications.models import Notification, NotificationDelivery, NotificationEvent
from server.service_context import Wake
from tests.conftest import World
from tests.server.api_calls import call
from tests.server.channels.receivers import WEBHOOK_SECRET, Receiver, receiver
from tests.server.channels.test_webhook import verify

__all__ = ["receiver"]

Client = TestClient  # type: ignore[type-arg]
NO_EMAIL = {"incident.opened": {"in_app": True, "email": False}}


async def webhook(client: Client, world: World, receiver: Receiver, name: str) -> int:
    status, channel = await call(
        client, world.alice, "POST", "/notifications/channels",
        {"name": name, "type": "webhook",
         "config": {"url": f"{receiver.url}/{name}", "secret": WEBHOOK_SECRET}},
    )  # fmt: skip
    assert status == 201, channel
    return int(channel["id"])


async def rule(client: Client, world: World, **body: Any) -> dict[str, Any]:
    status, created = await call(
        client, world.alice, "POST", "/notifications/rules", {"name": "r", **body}
    )
    assert status == 201, created
    return dict(created)


async def incident(client: Client, world: World, severity: str = "critical") -> int:
    status, created = await call(
        client, world.alice, "POST", "/incidents", {"title": "API down", "severity": severity}
    )
    assert status == 201, created
    return int(created["id"])


async def until(condition: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "not within the time allowed"
        await asyncio.sleep(0.05)


async def deliveries(client: Client, world: World, **query: Any) -> list[dict[str, Any]]:
    params = "&".join(f"{key}={value}" for key, value in query.items())
    status, page = await call(client, world.alice, "GET", f"/notifications/deliveries?{params}")
    assert status == 200, page
    return list(page["items"])


def requests_to(receiver: Receiver, path: str) -> Callable[[], Any]:
    async def arrived() -> bool:
        return any(request.path == path for request in receiver.requests)

    return arrived


async def come_due_now(client: Client, db: AsyncSession) -> None:
    """Move every pending delivery's next attempt to now (as if its wait had passed)."""
    async with db.begin():
        await db.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.status == "pending")
            .values(next_attempt_at=utcnow())
        )
    client.app[RUNTIME].wakers[Wake.dispatch]()


async def test_an_incident_reaches_a_signed_webhook_and_the_log_and_timeline_say_so(
    client: Client, world: World, receiver: Receiver
) -> None:
    channel_id = await webhook(client, world, receiver, "ops")
    await rule(client, world, events=["incident.*"], channel_ids=[channel_id])
    receiver.answer(204)
    incident_id = await incident(client, world)
    await until(requests_to(receiver, "/ops"))
    request = receiver.last
    assert verify(request, WEBHOOK_SECRET)
    body = request.json()
    assert body["type"] == "incident.opened"
    assert body["data"]["incident"]["id"] == incident_id

    async def delivered() -> bool:
        found = await deliveries(client, world, channel_id=channel_id)
        return bool(found) and found[0]["status"] == "delivered"

    await until(delivered)
    (logged,) = await deliveries(client, world, channel_id=channel_id)
    assert logged["idempotency_id"] == request.headers["webhook-id"]
    assert (logged["channel_id"], logged["event_type"], logged["attempts"]) == (
        channel_id, "incident.opened", 1,
    )  # fmt: skip
    assert [(a["ok"], a["status_code"]) for a in logged["attempt_log"]] == [(True, 204)]
    _, detail = await call(client, world.alice, "GET", f"/incidents/{incident_id}")
    assert any(
        event["kind"] == "notified" and "'ops'" in (event["text"] or "")
        for event in detail["timeline"]
    ), detail["timeline"]


async def test_only_the_events_and_severities_a_rule_names_are_sent(
    client: Client, world: World, receiver: Receiver
) -> None:
    channel_id = await webhook(client, world, receiver, "ops")
    await rule(
        client, world, events=["incident.opened"], min_severity="error", channel_ids=[channel_id]
    )
    receiver.answer(204)
    await incident(client, world, severity="warning")  # below the rule's severity
    critical = await incident(client, world)
    await call(client, world.alice, "POST", f"/incidents/{critical}/acknowledge", {})
    await until(requests_to(receiver, "/ops"))
    await asyncio.sleep(0.5)  # anything else would have been sent by now
    assert [r.json()["data"]["incident"]["id"] for r in receiver.requests] == [critical]
    sent = await deliveries(client, world, channel_id=channel_id)
    assert [d["event_type"] for d in sent] == ["incident.opened"]


async def test_a_failed_attempt_is_retried_later_with_the_same_id(
    client: Client, world: World, receiver: Receiver, db: AsyncSession
) -> None:
    channel_id = await webhook(client, world, receiver, "ops")
    await rule(client, world, events=["*"], channel_ids=[channel_id])
    receiver.answer_next(503, text="try later")
    receiver.answer(204)
    before = utcnow()
    await incident(client, world)

    async def failed_once() -> bool:
        found = await deliveries(client, world, channel_id=channel_id)
        return bool(found) and found[0]["attempts"] == 1 and found[0]["last_status_code"] == 503

    await until(failed_once)
    (waiting,) = await deliveries(client, world, channel_id=channel_id)
    assert waiting["status"] == "pending"
    wait = (
        _parse(waiting["next_attempt_at"]) - _parse(waiting["attempt_log"][0]["attempted_at"])
    ).total_seconds()
    assert 7.9 <= wait <= 12.1  # 10 s, +-20 % jitter
    assert _parse(waiting["attempt_log"][0]["attempted_at"]) >= before - timedelta(seconds=1)
    await come_due_now(client, db)

    async def delivered() -> bool:
        return (await deliveries(client, world, channel_id=channel_id))[0]["status"] == "delivered"

    await until(delivered)
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    (done,) = await deliveries(client, world, channel_id=channel_id)
    assert [(a["ok"], a["status_code"]) for a in done["attempt_log"]] == [
        (False, 503),
        (True, 204),
    ]


async def test_a_permanent_error_disables_the_channel_and_tells_the_admins(
    client: Client, world: World, receiver: Receiver
) -> None:
    broken = await webhook(client, world, receiver, "broken")
    other = await webhook(client, world, receiver, "other")
    await rule(client, world, events=["incident.opened"], channel_ids=[broken])
    receiver.answer_next(410, text="gone")
    receiver.answer(204)
    await incident(client, world)
    await until(requests_to(receiver, "/other"))  # told through the other channel
    told = next(r for r in receiver.requests if r.path == "/other").json()
    assert told["type"] == "channel.disabled"
    assert told["data"]["channel"] == {"id": broken, "name": "broken"}
    _, channel = await call(client, world.alice, "GET", f"/notifications/channels/{broken}")
    assert channel["enabled"] is False
    assert "410" in channel["last_error"]
    failed = await deliveries(client, world, channel_id=broken)
    assert [d["status"] for d in failed] == ["failed"]
    _, alice_inbox = await call(client, world.alice, "GET", "/notifications")
    assert alice_inbox["items"][0]["event_type"] == "channel.disabled"
    _, bob_inbox = await call(client, world.bob, "GET", "/notifications")  # a viewer
    assert "channel.disabled" not in [line["event_type"] for line in bob_inbox["items"]]
    _, enabled = await call(
        client, world.alice, "PATCH", f"/notifications/channels/{broken}", {"enabled": True}
    )
    assert (enabled["enabled"], enabled["last_error"]) == (True, None)
    assert other  # the channel that carried the news stays enabled


async def test_an_unacknowledged_incident_escalates_and_an_acknowledged_one_does_not(
    client: Client, world: World, receiver: Receiver, db: AsyncSession
) -> None:
    first = await webhook(client, world, receiver, "first")
    manager = await webhook(client, world, receiver, "manager")
    await rule(
        client, world, events=["incident.opened"], channel_ids=[first],
        escalate_after_minutes=15, escalation_channel_ids=[manager],
    )  # fmt: skip
    receiver.answer(204)
    ignored = await incident(client, world)
    handled = await incident(client, world)
    await until(lambda: _count(receiver, "/first", 2))
    pending = await deliveries(client, world, channel_id=manager)
    assert [d["status"] for d in pending] == ["pending", "pending"]
    due = _parse(pending[0]["next_attempt_at"]) - _parse(pending[0]["created_at"])
    assert timedelta(minutes=14) < due <= timedelta(minutes=15, seconds=1)
    assert not await requests_to(receiver, "/manager")()
    await call(client, world.alice, "POST", f"/incidents/{handled}/acknowledge", {})
    await come_due_now(client, db)
    await until(requests_to(receiver, "/manager"))
    await asyncio.sleep(0.3)
    (escalated,) = [r.json() for r in receiver.requests if r.path == "/manager"]
    assert escalated["type"] == "incident.escalated"
    assert escalated["data"]["incident"]["id"] == ignored
    statuses = {
        d["incident_id"]: d["status"] for d in await deliveries(client, world, channel_id=manager)
    }
    assert statuses == {ignored: "delivered", handled: "cancelled"}


async def test_a_claim_is_taken_once_and_a_lapsed_lease_is_claimed_again(
    client: Client, world: World, receiver: Receiver, db: AsyncSession
) -> None:
    channel_id = await webhook(client, world, receiver, "ops")
    for person in (world.alice, world.bob):
        await call(client, person, "PUT", "/notifications/preferences", {"events": NO_EMAIL})
    await incident(client, world)  # no rule, no email: its event is stored and goes nowhere
    later = utcnow() + timedelta(days=1)  # so the running dispatcher leaves it alone
    async with db.begin():
        event_id = await db.scalar(select(NotificationEvent.id))
        db.add(
            NotificationDelivery(
                org_id=world.org_a, event_id=event_id, channel_id=channel_id,
                channel_name="ops", channel_type="webhook", idempotency_id="msg_claimed",
                next_attempt_at=later,
            )
        )  # fmt: skip
    at = later + timedelta(seconds=1)
    async with db.begin():
        first = await delivery.claim(db, now=at, limit=10)
    async with db.begin():
        second = await delivery.claim(db, now=at, limit=10)
    async with db.begin():
        lapsed = await delivery.claim(db, now=at + delivery.LEASE, limit=10)
    assert len(first) == 1 and second == [] and lapsed == first
    async with db.begin():
        attempts = await db.scalar(select(NotificationDelivery.attempts))
    assert attempts == 2  # each claim counts, so a sender that keeps dying runs out


async def test_the_inbox_lists_counts_marks_read_and_deletes_a_members_own_lines(
    client: Client, world: World
) -> None:
    await incident(client, world)
    await incident(client, world, severity="warning")
    status, count = await call(client, world.bob, "GET", "/notifications/unread-count")
    assert (status, count) == (200, {"unread": 2})
    _, page = await call(client, world.bob, "GET", "/notifications?unread=true")
    newest, oldest = page["items"]
    assert (newest["severity"], oldest["severity"]) == ("warning", "critical")
    status, read = await call(client, world.bob, "POST", f"/notifications/{oldest['id']}/read")
    assert (status, read["read"]) == (200, True)
    _, unread = await call(client, world.bob, "GET", "/notifications?unread=true")
    assert [line["id"] for line in unread["items"]] == [newest["id"]]
    # Alice's lines are hers: Bob cannot read, mark or delete them, nor can Carol.
    _, alices = await call(client, world.alice, "GET", "/notifications")
    alice_line = alices["items"][0]["id"]
    for person in (world.bob, world.carol):
        assert (await call(client, person, "POST", f"/notifications/{alice_line}/read"))[0] == 404
        assert (await call(client, person, "DELETE", f"/notifications/{alice_line}"))[0] == 404
    assert (await call(client, world.carol, "GET", "/notifications"))[1]["total"] == 0
    status, cleared = await call(client, world.bob, "POST", "/notifications/read-all")
    assert (status, cleared) == (200, {"unread": 0})
    assert (await call(client, world.bob, "DELETE", f"/notifications/{newest['id']}"))[0] == 204
    assert (await call(client, world.bob, "GET", "/notifications"))[1]["total"] == 1
    assert (await call(client, world.alice, "GET", "/notifications/unread-count"))[1] == {
        "unread": 2
    }


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def _count(receiver: Receiver, path: str, wanted: int) -> bool:
    return sum(request.path == path for request in receiver.requests) >= wanted


async def test_the_settled_log_and_old_inbox_lines_are_pruned_and_pending_ones_kept(
    client: Client, world: World, db: AsyncSession
) -> None:
    await incident(client, world)  # an event, inbox lines, the members' emails

    async def emailed() -> bool:
        async with db.begin():
            statuses = set(await db.scalars(select(NotificationDelivery.status)))
        return statuses == {"delivered"}

    await until(emailed)
    async with db.begin():  # one email still waiting, as if its receiver were down
        await db.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.user_id == world.bob.user_id)
            .values(status="pending", next_attempt_at=utcnow() + timedelta(days=1))
        )
    later = utcnow() + timedelta(days=100)
    async with db.begin():
        deleted = await delivery.prune(db, now=later, keep_days=30, inbox_days=90)
    async with db.begin():
        left = list(await db.scalars(select(NotificationDelivery.user_id)))
        events = list(await db.scalars(select(NotificationEvent.id)))
        lines = list(await db.scalars(select(Notification.id)))
    assert deleted == 1 + 2  # alice's delivered email; both inbox lines
    assert left == [world.bob.user_id] and len(events) == 1 and lines == []
