"""The public status pages as a visitor's browser, feed reader and mail client meet them:
the HTML page from the cache (gzip, ETag, stale after a change), token pages, feeds,
badges, and a subscriber from the form through confirmation, mails and one-click
unsubscribe."""

from __future__ import annotations

import asyncio
import gzip
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from icalendar import Calendar
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from server.context import RUNTIME
from server.db.base import utcnow
from server.incidents import service as incidents
from server.incidents.service import Trigger
from server.monitors.models import Monitor
from server.providers.mail_spool import MailSpool
from server.service_context import system_transaction
from shared.api.events import MonitorStatusChanged
from shared.api.incidents import TriggerType
from tests.conftest import World
from tests.server.api_calls import call
from tests.server.test_status_pages import monitor, publish

Client = TestClient  # type: ignore[type-arg]


async def html(client: Client, path: str = "/status/org-a", **params: str) -> tuple[int, str]:
    response = await client.get(path, params=params)
    return response.status, await response.text()


async def test_the_page_is_served_gzipped_with_an_etag_and_a_304_when_unchanged(
    client: Client, world: World, db: AsyncSession
) -> None:
    api = await monitor(db, world.org_a, "Payments API")
    await publish(client, world, [api], title="Acme Status")
    response = await client.get("/status/org-a", headers={"Accept-Encoding": "identity"})
    assert response.status == 200 and response.content_type == "text/html"
    text = await response.text()
    assert "Acme Status" in text and "Payments API" in text and "<script" not in text
    assert response.headers["Cache-Control"] == "public, max-age=30"
    etag = response.headers["ETag"]
    raw = await client.get("/status/org-a", headers={"Accept-Encoding": "gzip"},
                           auto_decompress=False)  # fmt: skip
    assert raw.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(await raw.read()).decode() == text
    again = await client.get("/status/org-a", headers={"If-None-Match": etag})
    assert again.status == 304


async def test_a_change_to_the_page_or_a_monitors_status_shows_at_once(
    client: Client, world: World, db: AsyncSession
) -> None:
    api = await monitor(db, world.org_a, "Payments API")
    await publish(client, world, [api], title="Before")
    assert "Before" in (await html(client))[1]
    await publish(client, world, [api], title="After")
    _, text = await html(client)
    assert "After" in text and "Operational" in text
    async with db.begin():
        await db.execute(update(Monitor).where(Monitor.id == api).values(status="down"))
    runtime = client.app[RUNTIME]
    changed = MonitorStatusChanged(
        monitor_id=api, name="Payments API", status="down", previous_status="up"
    )
    runtime.events.publish(world.org_a, changed)
    assert "Down" in (await html(client))[1]


async def test_a_token_page_refuses_without_its_token_and_carries_it_on_every_link(
    client: Client, world: World, db: AsyncSession
) -> None:
    api = await monitor(db, world.org_a, "Payments API")
    token = (await publish(client, world, [api], require_token=True))["token"]
    status, text = await html(client)
    assert status == 401 and "token" in text and "Payments API" not in text
    assert (await client.get(f"/status/org-a/badge/{api}.svg")).status == 401
    assert (await client.get("/status/org-a.rss")).status == 401
    status, text = await html(client, token=token)
    assert status == 200 and "Payments API" in text
    links = re.findall(r'(?:href|src)="(/status[^"]*)"', text)
    assert links and all(f"token={token}" in link for link in links), links
    assert f'name="token" value="{token}"' in text
    assert (
        await client.get(f"/status/org-a/badge/{api}.svg", params={"token": token})
    ).status == 200
    response = await client.get("/status/org-a", params={"token": token})
    assert response.headers["Cache-Control"] == "private, max-age=30"


async def test_the_feeds_list_incidents_and_announcements_and_the_calendar_maintenance(
    client: Client, world: World, db: AsyncSession
) -> None:
    api = await monitor(db, world.org_a, "Payments API")
    await publish(client, world, [api])
    start = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    window = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
              "reason": "Database upgrade"}  # fmt: skip
    status, _ = await call(client, world.alice, "POST", f"/monitors/{api}/maintenance", window)
    assert status == 201
    status, _ = await call(client, world.alice, "POST", "/status-pages/announcements",
                           {"title": "Slow logins", "body": "Looking into it"})  # fmt: skip
    assert status == 201
    rss = await client.get("/status/org-a.rss")
    assert rss.status == 200 and rss.content_type == "application/rss+xml"
    channel = ET.fromstring(await rss.read())  # noqa: S314
    titles = [item.findtext("title") for item in channel.iter("item")]
    assert any("Slow logins" in (title or "") for title in titles), titles
    atom = await client.get("/status/org-a.atom")
    feed = ET.fromstring(await atom.read())  # noqa: S314
    entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 1
    ics = await client.get("/status/org-a.ics")
    assert ics.content_type == "text/calendar"
    (event,) = Calendar.from_ical(await ics.read()).walk("VEVENT")
    assert event.decoded("DTSTART") == start and "Database upgrade" in str(event["SUMMARY"])


async def test_badges_show_status_uptime_and_response_of_the_pages_monitors_only(
    client: Client, world: World, db: AsyncSession
) -> None:
    api = await monitor(db, world.org_a, "Payments API")
    hidden = await monitor(db, world.org_a, "Internal")
    await publish(client, world, [api])
    response = await client.get(f"/status/org-a/badge/{api}.svg")
    assert response.status == 200 and response.content_type == "image/svg+xml"
    svg = ET.fromstring(await response.read())  # noqa: S314
    assert "operational" in "".join(svg.itertext()).lower()
    assert "max-age" in response.headers["Cache-Control"]
    uptime = await client.get(
        f"/status/org-a/badge/{api}.svg", params={"type": "uptime", "days": "30"}
    )
    assert uptime.status == 200 and "30d" in await uptime.text()
    assert (await client.get(f"/status/org-a/badge/{hidden}.svg")).status == 404
    assert (await client.get(f"/status/org-a/badge/{api}.svg", params={"type": "x"})).status == 400


def _link(message: EmailMessage, path: str) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    found = re.search(rf"https?://\S+{path}\?token=\S+", body.get_content())
    assert found, body.get_content()
    return found[0]


async def _mail_to(data_dir: Path, address: str, count: int) -> list[EmailMessage]:
    """The spool's mails to `address`, oldest first, once there are `count` of them."""
    spool = MailSpool(data_dir)
    for _ in range(200):
        messages = [spool.read(mail_id) for mail_id in spool.ids()]
        found = [m for m in messages if m is not None and address in str(m["To"])]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} mail(s) to {address} expected, found {len(found)}")


async def test_a_subscriber_confirms_hears_of_incidents_and_announcements_and_unsubscribes(
    client: Client, world: World, db: AsyncSession, settings: Any
) -> None:
    api = await monitor(db, world.org_a, "Payments API")
    await publish(client, world, [api], title="Acme Status")
    response = await client.post("/status/org-a/subscribe", data={"email": "Reader@Example.com"})
    assert response.status == 202 and "inbox" in await response.text()
    (confirmation,) = await _mail_to(settings.data_dir, "reader@example.com", 1)
    link = _link(confirmation, "/status-subscription/confirm")
    token = link.split("token=")[1]
    page = await client.get("/status-subscription/confirm", params={"token": token})
    assert page.status == 200 and 'method="post"' in await page.text()
    _, listed = await call(client, world.alice, "GET", "/status-pages/subscribers")
    assert listed["items"] == []  # a GET confirms nothing
    confirmed = await client.post("/status-subscription/confirm", data={"token": token})
    assert confirmed.status == 200, await confirmed.text()
    _, listed = await call(client, world.alice, "GET", "/status-pages/subscribers")
    assert [s["email"] for s in listed["items"]] == ["reader@example.com"]

    runtime = client.app[RUNTIME]
    async with system_transaction(runtime) as ctx:
        await incidents.open_incident(
            ctx, title="Payments API is down", severity="critical",
            trigger=Trigger(world.org_a, TriggerType.monitor_down, "monitor", api),
        )  # fmt: skip
    mails = await _mail_to(settings.data_dir, "reader@example.com", 2)
    told = mails[-1]
    assert "Payments API is down" in str(told["Subject"])
    unsubscribe_url = str(told["List-Unsubscribe"]).strip("<>")
    assert told["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/status-subscription/unsubscribe?token=" in unsubscribe_url

    await call(client, world.alice, "POST", "/status-pages/announcements",
               {"title": "Maintenance tonight", "body": "From 22:00 UTC"})  # fmt: skip
    mails = await _mail_to(settings.data_dir, "reader@example.com", 3)
    assert "Maintenance tonight" in str(mails[-1]["Subject"])

    path = unsubscribe_url.split("://", 1)[1].split("/", 1)[1]
    one_click = await client.post("/" + path, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status == 200 and "reader@example.com" in await one_click.text()
    _, listed = await call(client, world.alice, "GET", "/status-pages/subscribers")
    assert listed["items"] == []
    again = await client.post("/" + path, data={"List-Unsubscribe": "One-Click"})
    assert again.status == 200  # a second click is no error
