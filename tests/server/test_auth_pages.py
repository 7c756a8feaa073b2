"""The pages outside /api/v1: the home page, and where emailed links land, followed from a
real email (SMTP on 127.0.0.1) and completed without JavaScript."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from email.message import EmailMessage
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from server.app import build_app
from server.audit.models import AuditLog
from server.config import Settings
from server.context import SESSIONS
from server.http.pages import fragment
from tests.builders import PASSWORD, add_member, create_org, create_user
from tests.mail import Inbox, sending_to

API = "/api/v1"
EMAIL = "alice@example.com"
NEW_PASSWORD = "Brand-New-Secret-9#"
PUBLIC_URL = "https://upmetr.example.com"


class Page(HTMLParser):
    """What a browser without JavaScript sees of a page: links, scripts, forms and inputs."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.scripts = 0
        self.form: dict[str, str] = {}
        self.inputs: dict[str, str] = {}
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "script":
            self.scripts += 1
        if tag in ("a", "link") and "href" in values:
            self.links.append(values["href"])
        if tag in ("img", "script", "iframe") and "src" in values:
            self.links.append(values["src"])
        if tag == "form":
            self.form = values
        if tag == "input":
            self.inputs[values.get("name", "")] = values.get("value", "")


@pytest.fixture
async def mail_client(
    settings: Settings, smtp: tuple[Inbox, int], password_hash: str
) -> AsyncIterator[TestClient]:
    configured = sending_to(settings, smtp[1], PUBLIC_URL)
    async with TestClient(TestServer(build_app(configured), host="127.0.0.1")) as client:
        async with client.app[SESSIONS]() as session, session.begin():
            org = await create_org(session, "Org A")
            user = await create_user(session, EMAIL, password_hash=password_hash)
            await add_member(session, user, org, "superadmin")
        yield client


async def emailed_link(
    client: TestClient,
    inbox: Inbox,
    endpoint: str,
    path: str,
) -> str:
    """Ask for a link by email; the path and query of the link the email holds."""
    response = await client.post(f"{API}{endpoint}", json={"email": EMAIL})
    assert response.status == 202
    (message,) = await inbox.wait_for(EMAIL)
    return link_in(message, path)


def link_in(message: EmailMessage, path: str) -> str:
    found = re.search(
        rf"{re.escape(PUBLIC_URL)}/{path}\?token=[A-Za-z0-9_\-]+", message.get_content()
    )
    assert found, message.get_content()
    parts = urlsplit(found.group(0))
    return f"{parts.path}?{parts.query}"


async def html_of(response: ClientResponse, status: int) -> str:
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "text/html"
    return text


def token_of(link: str) -> str:
    return link.split("token=", 1)[1]


async def login(client: TestClient, password: str) -> int:
    response = await client.post(f"{API}/auth/login", json={"email": EMAIL, "password": password})
    return response.status


async def audit_actions(client: TestClient, action: str) -> list[str]:
    async with client.app[SESSIONS]() as session:
        rows = await session.scalars(select(AuditLog.status).where(AuditLog.action == action))
        return list(rows)


async def test_the_home_page_points_to_the_docs_the_redoc_and_the_console(
    client: TestClient,
) -> None:
    response = await client.get("/")
    page = Page(await html_of(response, 200))
    assert {"/docs", "/redoc"} <= set(page.links)
    assert "upmetr console" in await response.text()
    assert page.scripts == 0
    assert all(link.startswith("/") for link in page.links)  # no third-party request
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    stylesheet = await client.get("/static/pages/upmetr.css")
    assert stylesheet.status == 200


async def test_an_emailed_magic_link_shows_the_command_that_signs_in_and_is_spent_only_by_it(
    mail_client: TestClient,
    smtp: tuple[Inbox, int],
) -> None:
    link = await emailed_link(mail_client, smtp[0], "/auth/magic-link", "magic-link")
    token = token_of(link)
    response = await mail_client.get(link)
    text = await html_of(response, 200)
    assert "This sign-in link is valid" in text
    assert f"upmetr login --magic-link {token} --url {PUBLIC_URL}" in text
    assert Page(text).scripts == 0
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    # Reading the page (as a mail scanner would) does not spend the link: the command does.
    assert (await mail_client.get(link)).status == 200
    signed_in = await mail_client.post(f"{API}/auth/magic-link/verify", json={"token": token})
    assert signed_in.status == 200
    assert "access_token" in await signed_in.json()
    text = await html_of(await mail_client.get(link), 400)
    assert "invalid, was used already, or has expired" in text


async def test_an_emailed_reset_link_sets_the_new_password_with_a_form_and_no_javascript(
    mail_client: TestClient,
    smtp: tuple[Inbox, int],
) -> None:
    old = await (
        await mail_client.post(f"{API}/auth/login", json={"email": EMAIL, "password": PASSWORD})
    ).json()
    link = await emailed_link(mail_client, smtp[0], "/auth/password/forgot", "reset-password")
    text = await html_of(await mail_client.get(link), 200)
    assert f"upmetr password --reset {token_of(link)}" in text
    assert EMAIL in text
    page = Page(text)
    assert page.scripts == 0
    assert (page.form["method"], page.form["action"]) == ("post", "/reset-password")
    assert set(page.inputs) == {"token", "new_password", "confirm_password"}
    form = {**page.inputs, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    response = await mail_client.post(page.form["action"], data=form)
    assert "Your password was changed" in await html_of(response, 200)
    assert await login(mail_client, PASSWORD) == 401
    assert await login(mail_client, NEW_PASSWORD) == 200
    headers = {"Authorization": f"Bearer {old['access_token']}"}
    assert (await mail_client.get(f"{API}/auth/me", headers=headers)).status == 401
    assert await audit_actions(mail_client, "auth.password_reset") == ["success"]
    # The link works once.
    assert (await mail_client.get(link)).status == 400
    again = await mail_client.post("/reset-password", data=form)
    assert "invalid, was used already, or has expired" in await html_of(again, 400)


async def test_the_reset_form_refuses_differing_or_weak_passwords_and_keeps_the_token(
    mail_client: TestClient,
    smtp: tuple[Inbox, int],
) -> None:
    link = await emailed_link(mail_client, smtp[0], "/auth/password/forgot", "reset-password")
    form = {"token": token_of(link), "new_password": NEW_PASSWORD}
    differing = await mail_client.post("/reset-password", data={**form, "confirm_password": "x"})
    text = await html_of(differing, 400)
    assert "The two passwords differ" in text
    assert Page(text).inputs["token"] == token_of(link)  # the form again, to try once more
    weak = await mail_client.post(
        "/reset-password",
        data={**form, "new_password": "short", "confirm_password": "short"},
    )
    assert "The new password is too weak: it needs at least 12 characters" in await html_of(
        weak, 400
    )
    assert await login(mail_client, PASSWORD) == 200
    done = await mail_client.post(
        "/reset-password", data={**form, "confirm_password": NEW_PASSWORD}
    )
    await html_of(done, 200)
    assert await login(mail_client, NEW_PASSWORD) == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/magic-link?token=not-a-token"),
        ("GET", "/magic-link"),
        ("GET", "/reset-password?token=not-a-token"),
        ("GET", "/reset-password"),
        ("POST", "/reset-password"),
    ],
)
async def test_an_invalid_or_missing_token_gets_a_clear_page_with_status_400(
    client: TestClient,
    method: str,
    path: str,
) -> None:
    data = {"token": "not-a-token", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    response = await client.request(method, path, data=data if method == "POST" else None)
    text = await html_of(response, 400)
    assert "link is invalid, was used already, or has expired" in text
    assert "not-a-token" not in text
    if method == "POST":
        assert await audit_actions(client, "auth.password_reset") == ["failed"]


async def test_the_link_pages_share_the_anonymous_rate_limit_and_say_when_to_retry(
    settings: Settings,
) -> None:
    limited = settings.model_copy(update={"rate_limit_anon": "2/minute"})
    async with TestClient(TestServer(build_app(limited), host="127.0.0.1")) as client:
        for _ in range(2):
            assert (await client.get("/magic-link?token=x")).status == 400
        response = await client.get("/reset-password?token=x")
        assert "Too many requests" in await html_of(response, 429)
        assert int(response.headers["Retry-After"]) >= 1
        assert await audit_actions(client, "rate_limit.exceeded") == ["failed"]


def test_values_are_escaped_in_pages() -> None:
    rendered = fragment("error", message='<script>alert("x")</script>')
    assert "<script>" not in rendered
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in rendered
