"""Changing the sign-in email: the current password to ask, a link to the new address to
do it, and the old address told both times. The server has no SMTP here, so its mail is
read from the spool in the data directory."""

from __future__ import annotations

from email.message import EmailMessage

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditLog
from server.config import Settings
from server.providers.mail_spool import MailSpool
from tests.builders import PASSWORD
from tests.conftest import World
from tests.mail import kept_mail, link_token

ME = "/api/v1/users/me"
CONFIRM = "/api/v1/auth/email/confirm"
NEW = "robert@example.net"


def mail(settings: Settings, mail_id: str) -> EmailMessage:
    message = MailSpool(settings.data_dir).read(mail_id)
    assert message is not None
    return message


async def confirmation_token(settings: Settings, count: int) -> str:
    """The token of the newest confirmation link mailed to NEW, once `count` mails are kept."""
    kept = (await kept_mail(settings.data_dir, count=count))[:count]
    to_new = [mail_id for mail_id in kept if mail(settings, mail_id)["To"] == NEW]
    return link_token(settings.data_dir, to_new[-1], "confirm-email")


async def ask(client: TestClient, world: World, **body: str) -> tuple[int, dict[str, object]]:  # type: ignore[type-arg]
    response = await client.patch(ME, json=body, headers=world.bob.headers)
    return response.status, await response.json()


async def sign_in(client: TestClient, email: str) -> int:  # type: ignore[type-arg]
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    return response.status


async def test_a_new_email_needs_the_current_password(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    status, body = await ask(client, world, email=NEW)
    assert (status, body["detail"]) == (
        400,
        "current_password is required to change the sign-in email",
    )
    status, body = await ask(client, world, email=NEW, current_password="Wrong-Password-1!")
    assert (status, body["detail"]) == (400, "current_password is incorrect")
    profile = await (await client.get(ME, headers=world.bob.headers)).json()
    assert (profile["email"], profile["pending_email"]) == (world.bob.email, None)


async def test_the_email_changes_only_once_the_link_mailed_to_it_is_followed(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    settings: Settings,
    db: AsyncSession,
) -> None:
    status, profile = await ask(client, world, email=NEW, current_password=PASSWORD)
    assert status == 200
    assert (profile["email"], profile["pending_email"]) == (world.bob.email, NEW)
    asked = await kept_mail(settings.data_dir, count=2)
    assert sorted(str(mail(settings, mail_id)["To"]) for mail_id in asked) == [
        world.bob.email,
        NEW,
    ]
    token = await confirmation_token(settings, count=2)
    assert await sign_in(client, NEW) == 401  # not yet

    confirmed = await client.post(CONFIRM, json={"token": token})
    assert confirmed.status == 200
    assert await sign_in(client, NEW) == 200
    assert await sign_in(client, world.bob.email) == 401
    again = await client.post(CONFIRM, json={"token": token})
    assert again.status == 400

    (told,) = (await kept_mail(settings.data_dir, count=3))[2:]
    assert mail(settings, told)["To"] == world.bob.email
    assert "was changed" in str(mail(settings, told)["Subject"])
    async with db.begin():
        actions = list(
            await db.scalars(
                select(AuditLog.action)
                .where(AuditLog.resource_id == str(world.bob.user_id))
                .order_by(AuditLog.id)
            )
        )
    assert actions == ["profile.email_change_requested", "profile.email_changed"]


async def test_the_link_page_confirms_with_a_button_and_a_get_spends_nothing(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    settings: Settings,
) -> None:
    await ask(client, world, email=NEW, current_password=PASSWORD)
    token = await confirmation_token(settings, count=2)
    for _ in range(2):  # a mail scanner fetching the link first changes nothing
        page = await client.get(f"/confirm-email?token={token}")
        assert page.status == 200
        assert NEW in await page.text()
    done = await client.post("/confirm-email", data={"token": token})
    assert done.status == 200
    assert f"The sign-in email is now {NEW}" in await done.text()
    spent = await client.get(f"/confirm-email?token={token}")
    assert spent.status == 400


async def test_an_address_taken_before_the_link_is_followed_is_a_409(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    settings: Settings,
) -> None:
    await ask(client, world, email=NEW, current_password=PASSWORD)
    token = await confirmation_token(settings, count=2)
    status, _ = await ask(client, world, email=NEW, current_password=PASSWORD)
    assert status == 200  # still free: a second request is fine
    # Mail goes out after the answer: wait for Bob's, so Carol's link is the newest to NEW.
    await kept_mail(settings.data_dir, count=4)
    carol = await client.patch(
        ME, json={"email": NEW, "current_password": PASSWORD}, headers=world.carol.headers
    )
    assert carol.status == 200
    carol_token = await confirmation_token(settings, count=6)
    assert (await client.post(CONFIRM, json={"token": carol_token})).status == 200
    taken = await client.post(CONFIRM, json={"token": token})
    assert taken.status == 409
    assert "already used" in (await taken.json())["detail"]
