"""Email: text and HTML to a real SMTP server on 127.0.0.1 (aiosmtpd), or to the mail spool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from server.providers.channels import Channels, DeliveryError, parse_config
from server.providers.channels.base import ChannelEnv
from server.providers.mail_spool import MailSpool
from tests.mail import Inbox, free_port
from tests.server.channels.receivers import LOCAL_TARGETS, make_notice

SENDER = "Upmetr <alerts@upmetr.example>"


def smtp_env(port: int | None, data_dir: Path | None = None) -> ChannelEnv:
    smtp = {"host": "127.0.0.1" if port else None, "port": port, "tls": "none", "from": SENDER}
    return ChannelEnv(policy=LOCAL_TARGETS, timeout_seconds=5.0, smtp=smtp, data_dir=data_dir)


async def test_email_sends_text_and_html_alternatives(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    config = parse_config("email", {"to": ["ops@example.com", "lead@example.com"]})
    async with Channels(smtp_env(port)) as channels:
        sent = await channels.send("email", make_notice(), config)
    assert sent.status_code is None and sent.detail and "accepted by 127.0.0.1" in sent.detail
    (message,) = await inbox.wait_for()
    assert message["From"] == SENDER
    assert message["To"] == "ops@example.com, lead@example.com"
    assert message["Subject"] == "[Critical] api.example.com is down"
    assert message["Message-ID"] == "<msg_2KWPBgLlAfxdpx2AI54pPJ85f4W@upmetr.example>"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    page = message.get_body(("html",))
    assert text is not None and page is not None
    assert "Monitor: api" in text.get_content()
    assert "https://upmetr.example/incidents/42" in text.get_content()
    html = page.get_content()
    assert "got 503 &lt;Service Unavailable&gt;." in html
    assert '<a href="https://upmetr.example/incidents/42">Open in Upmetr</a>' in html


async def test_email_keeps_one_message_id_across_attempts(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    config = parse_config("email", {"to": ["ops@example.com"]})
    async with Channels(smtp_env(port)) as channels:
        await channels.send("email", make_notice(), config)
        await channels.send("email", make_notice(), config)
    first, second = await inbox.wait_for(count=2)
    assert first["Message-ID"] == second["Message-ID"]


async def test_email_without_smtp_goes_to_the_mail_spool(tmp_path: Path) -> None:
    config = parse_config("email", {"to": ["ops@example.com"]})
    async with Channels(smtp_env(None, data_dir=tmp_path)) as channels:
        sent = await channels.send("email", make_notice(), config)
    spool = MailSpool(tmp_path)
    (mail_id,) = spool.ids()
    assert sent.detail == f"SMTP is not configured; kept in the mail spool as {mail_id}"
    message = spool.read(mail_id)
    assert message is not None
    assert message["To"] == "ops@example.com"
    assert message["Subject"] == "[Critical] api.example.com is down"


class Refusing:
    """An SMTP server that refuses every recipient with `code`."""

    def __init__(self, code: int):
        self.code = code

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return f"{self.code} mailbox unavailable"


@pytest.fixture
def refusing_smtp(request: pytest.FixtureRequest) -> Iterator[int]:
    port = free_port()
    controller = Controller(Refusing(request.param), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.mark.parametrize(
    ("refusing_smtp", "permanent"), [(550, True), (450, False)], indirect=["refusing_smtp"]
)
async def test_refused_recipient_is_permanent_only_when_the_refusal_is_final(
    refusing_smtp: int, permanent: bool
) -> None:
    config = parse_config("email", {"to": ["gone@example.com"]})
    async with Channels(smtp_env(refusing_smtp)) as channels:
        with pytest.raises(DeliveryError) as raised:
            await channels.send("email", make_notice(), config)
    assert raised.value.permanent is permanent
    assert raised.value.message.startswith("recipient refused: gone@example.com")


async def test_unreachable_smtp_server_is_temporary() -> None:
    config = parse_config("email", {"to": ["ops@example.com"]})
    async with Channels(smtp_env(free_port())) as channels:
        with pytest.raises(DeliveryError) as raised:
            await channels.send("email", make_notice(), config)
    assert not raised.value.permanent
    assert raised.value.message.startswith("SMTP delivery failed")


@pytest.mark.parametrize(
    ("to", "why"),
    [([], "config.to: List should have at least 1 item"), (["not-an-address"], "config.to.0")],
)
def test_email_config_wants_one_to_twenty_addresses(to: list[str], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_config("email", {"to": to})
