"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for email tests."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from server.config import Settings
from server.providers.mail_spool import MailSpool


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    async def wait_for(
        self, to: str | None = None, count: int = 1, timeout: float = 10.0
    ) -> list[EmailMessage]:
        """The first `count` messages (to `to`, if given), once that many have arrived."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = [m for m in self.messages if to is None or m["To"] == to]
            if len(found) >= count:
                return found[:count]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no email #{count} to {to} within {timeout} s")
            await asyncio.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def sending_to(settings: Settings, port: int, public_url: str) -> Settings:
    """The test settings, with mail going to the local SMTP server on `port`."""
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_tls": "none",
            "public_url": public_url,
        }
    )


# Without SMTP the server keeps its mail in the data directory's spool.


async def kept_mail(data_dir: Path, count: int = 1) -> list[str]:
    """Ids of the spool's messages once `count` are there (mail goes out after the answer)."""
    spool = MailSpool(data_dir)
    for _ in range(200):
        if len(spool.ids()) >= count:
            return spool.ids()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} mail(s) expected in the spool, found {spool.ids()}")


def link_token(data_dir: Path, mail_id: str, page: str) -> str:
    message = MailSpool(data_dir).read(mail_id)
    assert message is not None
    body = message.get_body(("plain",))
    assert body is not None
    found = re.search(rf"/{page}\?token=([A-Za-z0-9_\-]+)", body.get_content())
    assert found, body.get_content()
    return found.group(1)
