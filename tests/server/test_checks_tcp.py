"""TCP checks against a real listener on 127.0.0.1, and a port closed under the test's feet."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.providers.checks import Checker, CheckSpec
from tests.conftest import LOCAL_TARGETS


@pytest.fixture
async def checker() -> AsyncIterator[Checker]:
    async with Checker(max_connections=10, policy=LOCAL_TARGETS) as checker:
        yield checker


def tcp(port: int, **fields: Any) -> CheckSpec:
    defaults: dict[str, Any] = {"timeout_seconds": 2, "attempts": 1}
    return CheckSpec(type="tcp", host="127.0.0.1", port=port, **{**defaults, **fields})


async def test_open_port_is_up_and_the_connection_is_closed(checker: Checker) -> None:
    closed = asyncio.Event()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # returns b"" once the checker closes its side
        closed.set()
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        outcome = await checker.run(tcp(port))
        await asyncio.wait_for(closed.wait(), 2)
    assert outcome.status == "up"
    assert outcome.response_time_ms is not None and outcome.response_time_ms >= 0
    assert outcome.error is None


async def test_closed_port_is_down_with_connection_refused(checker: Checker) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outcome = await checker.run(tcp(port, attempts=2, retry_delay_seconds=0.01))
    assert (outcome.status, outcome.error, outcome.attempts) == ("down", "connection refused", 2)


async def test_port_flips_from_down_to_up(checker: Checker) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert (await checker.run(tcp(port))).status == "down"
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
    async with server:
        assert (await checker.run(tcp(port))).status == "up"


async def test_unresolvable_host_is_down_in_words(checker: Checker) -> None:
    spec = CheckSpec(type="tcp", host="no-such-host.invalid", port=80, attempts=1)
    outcome = await checker.run(spec)
    assert outcome.status == "down"
    assert outcome.error == "cannot resolve host 'no-such-host.invalid'"
