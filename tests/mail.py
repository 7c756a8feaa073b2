"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for email tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from server.config import Settings


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
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
