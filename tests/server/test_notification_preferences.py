"""Each member's preferences: what reaches their inbox and their email, from which
severity on, and quiet hours that hold email and send it as one digest when they end."""

from __future__ import annotations

import asyncio
import inspect
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.context import RUNTIME
from server.db.base import utcnow
from server.notifications.models import NotificationDelivery
from server.providers.mail_spool import MailSpool
from server.service_context import Wake
from tests.conftest import World
from tests.server.api_calls import call

PREFERENCES = "/notifications/preferences"
Client = TestClient  # type: ignore[type-arg]


async def incident(client: Client, world: World, title: str, severity: str) -> None:
    status, _ = await call(
        client, world.alice, "POST", "/incidents", {"title": title, "severity": severity}
    )
    assert status == 201


def mail_to(settings: Settings, address: str) -> list[tuple[str, str]]:
    """(subject, text) of the spooled mail to `address`, oldest first."""
    spool = MailSpool(settings.data_dir)
    found = []
    for mail_id in spool.ids():
        message = spool.read(mail_id)
        if message is not None and message["To"] == address:
            body = message.get_body(("plain",))
            found.append((str(message["Subject"]), body.get_content() if body else ""))
    return found


async def until(condition: Any, timeout: float = 10.0) -> None:
    """Wait for `condition()` (a value, or an awaitable of one) to be true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await _value(condition()):
        assert asyncio.get_running_loop().time() < deadline, "not within the time allowed"
        await asyncio.sleep(0.05)


async def _value(outcome: Any) -> Any:
    return await outcome if inspect.isawaitable(outcome) else outcome


async def test_preferences_start_from_defaults_and_are_replaced_whole(
    client: Client, world: World
) -> None:
    status, defaults = await call(client, world.bob, "GET", PREFERENCES)
    assert status == 200
    assert defaults["events"]["incident.opened"] == {"in_app": True, "email": True}
    assert defaults["events"]["incident.resolved"] == {"in_app": True, "email": False}
    assert defaults["events"]["budget.exceeded"] == {"in_app": False, "email": False}
    assert defaults["quiet_hours"]["enabled"] is False
    wanted = {
        "events": {"incident.resolved": {"in_app": False, "email": True}},
        "min_severity": "error",
        "quiet_hours": {"enabled": True, "start": "22:30", "end": "06:45",
                        "timezone": "Europe/Paris", "critical_bypass": True},
    }  # fmt: skip
    status, stored = await call(client, world.bob, "PUT", PREFERENCES, wanted)
    assert status == 200, stored
    again = (await call(client, world.bob, "GET", PREFERENCES))[1]
    assert again == stored
    assert again["events"]["incident.resolved"] == {"in_app": False, "email": True}
    assert again["events"]["incident.opened"] == {"in_app": True, "email": True}  # a default
    assert again["quiet_hours"]["start"] == "22:30"
    assert (await call(client, world.alice, "GET", PREFERENCES))[1]["min_severity"] == "info"


async def test_bad_preferences_are_a_400_that_names_the_field(client: Client, world: World) -> None:
    for body, named in (
        ({"quiet_hours": {"timezone": "Mars/Olympus"}}, "timezone"),
        ({"quiet_hours": {"start": "25:00"}}, "start"),
        ({"quiet_hours": {"end": "07:00:30"}}, "end"),
        ({"events": {"incident.exploded": {"email": True}}}, "events"),
        ({"min_severity": "fatal"}, "min_severity"),
    ):
        status, answer = await call(client, world.bob, "PUT", PREFERENCES, body)
        assert status == 400, (body, answer)
        assert named in answer["detail"], answer
    status, answer = await call(client, world.bob, "PUT", PREFERENCES, {})
    assert status == 400 and "at least one field" in answer["detail"]  # not "all defaults"
    assert (await call(client, world.bob, "GET", PREFERENCES))[1]["min_severity"] == "info"


async def test_a_members_inbox_and_email_follow_their_preferences(
    client: Client, world: World, settings: Settings
) -> None:
    await call(
        client, world.bob, "PUT", PREFERENCES,
        {"min_severity": "error",
         "events": {"incident.acknowledged": {"in_app": False, "email": False}}},
    )  # fmt: skip
    await incident(client, world, "Queue slow", "warning")  # below bob's severity
    await incident(client, world, "API down", "critical")
    await until(lambda: len(mail_to(settings, world.alice.email)) == 2)
    await until(lambda: len(mail_to(settings, world.bob.email)) == 1)
    ((subject, text),) = mail_to(settings, world.bob.email)
    assert subject == "[Critical] API down" and "API down" in text  # the severity once
    _, inbox = await call(client, world.bob, "GET", "/notifications")
    assert [(line["title"], line["severity"]) for line in inbox["items"]] == [
        ("API down", "critical")
    ]


async def test_quiet_hours_hold_email_and_send_one_digest_when_they_end(
    client: Client, world: World, settings: Settings, db: AsyncSession
) -> None:
    now = datetime.now(UTC)
    start, end = (now - timedelta(hours=1)), (now + timedelta(hours=1))
    quiet = {"enabled": True, "start": f"{start:%H:%M}", "end": f"{end:%H:%M}",
             "timezone": "UTC"}  # fmt: skip
    await call(client, world.bob, "PUT", PREFERENCES, {"quiet_hours": quiet})
    await incident(client, world, "API down", "critical")
    await incident(client, world, "DB slow", "error")
    async with db.begin():
        held = list(
            await db.scalars(
                select(NotificationDelivery).where(
                    NotificationDelivery.user_id == world.bob.user_id
                )
            )
        )
    assert [d.status for d in held] == ["held", "held"]
    assert all(d.next_attempt_at and d.next_attempt_at > utcnow() for d in held)
    _, inbox = await call(client, world.bob, "GET", "/notifications")
    assert inbox["total"] == 2  # the inbox is never held
    await until(lambda: len(mail_to(settings, world.alice.email)) == 2)
    assert mail_to(settings, world.bob.email) == []

    async with db.begin():  # the quiet hours end
        await db.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.status == "held")
            .values(next_attempt_at=utcnow())
        )
    client.app[RUNTIME].wakers[Wake.dispatch]()
    await until(lambda: len(mail_to(settings, world.bob.email)) == 1)
    ((subject, text),) = mail_to(settings, world.bob.email)
    assert "2 notifications while your quiet hours held them" in subject, subject
    assert "API down" in text and "DB slow" in text

    async def bobs_statuses() -> list[str]:
        async with db.begin():
            return sorted(
                await db.scalars(
                    select(NotificationDelivery.status).where(
                        NotificationDelivery.user_id == world.bob.user_id
                    )
                )
            )

    async def digest_marked() -> bool:
        # The digest, and the two held. The email leaves before its delivery is marked
        # sent, so the mark may come a moment after the email is seen.
        return await bobs_statuses() == ["delivered", "digested", "digested"]

    await until(digest_marked)


async def test_critical_events_pass_quiet_hours_when_the_member_says_so(
    client: Client, world: World, settings: Settings
) -> None:
    now = datetime.now(UTC)
    quiet = {"enabled": True, "start": f"{now - timedelta(hours=1):%H:%M}",
             "end": f"{now + timedelta(hours=1):%H:%M}", "timezone": "UTC",
             "critical_bypass": True}  # fmt: skip
    await call(client, world.bob, "PUT", PREFERENCES, {"quiet_hours": quiet})
    await incident(client, world, "Disk filling", "warning")
    await incident(client, world, "API down", "critical")
    await until(lambda: len(mail_to(settings, world.bob.email)) == 1)
    await asyncio.sleep(0.3)
    ((subject, _),) = mail_to(settings, world.bob.email)
    assert "API down" in subject
