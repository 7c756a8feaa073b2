"""A vendor stand-in on 127.0.0.1: an aiohttp app that records every request and answers
what the test tells it to; plus the notice and channel settings the channel tests share."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from multidict import CIMultiDict

from server.providers.channels import (
    ChannelConfig,
    ChannelEnv,
    Channels,
    Notice,
    parse_config,
)
from server.providers.channels.http import HttpSessions
from server.providers.outbound import TargetPolicy

LOCAL_TARGETS = TargetPolicy(allow_private=True)
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks example
PAGERDUTY_KEY = "R0ut1ngK3yR0ut1ngK3yR0ut1ngK3y12"
TELEGRAM_TOKEN = "123456789:AAH-secret_token_of_the_bot_0123"
TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "twilio-auth-token-0123456789abcdef"
CLICKUP_TOKEN = "pk_12345678_SECRETCLICKUPTOKEN0123456789"


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDict[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


@dataclass
class Answer:
    status: int = 200
    text: str | None = None
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    standing: Answer = field(default_factory=Answer)
    queued: deque[Answer] = field(default_factory=deque)

    def answer(self, status: int = 200, **answer: Any) -> None:
        """Answer every request from now on so (text=, json=, headers=, delay_seconds=)."""
        self.standing = Answer(status, **answer)

    def answer_next(self, status: int = 200, **answer: Any) -> None:
        """Answer the next request so, then go back to the standing answer."""
        self.queued.append(Answer(status, **answer))

    @property
    def last(self) -> Received:
        assert self.requests, "no request reached the receiver"
        return self.requests[-1]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            Received(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=CIMultiDict(request.headers),
                body=await request.read(),
            )
        )
        answer = self.queued.popleft() if self.queued else self.standing
        if answer.delay_seconds:
            await asyncio.sleep(answer.delay_seconds)
        if answer.json is not None:
            return web.json_response(answer.json, status=answer.status, headers=answer.headers)
        return web.Response(status=answer.status, text=answer.text, headers=answer.headers)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver(url="")
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    found.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield found
    finally:
        await runner.cleanup()


def local_env(receiver: Receiver, **overrides: Any) -> ChannelEnv:
    """Every vendor's API at the receiver, private targets allowed, a short timeout."""
    settings: dict[str, Any] = {
        "policy": LOCAL_TARGETS,
        "timeout_seconds": 2.0,
        "base_urls": dict.fromkeys(("pagerduty", "telegram", "twilio", "clickup"), receiver.url),
        "http": HttpSessions(),
        **overrides,
    }
    return ChannelEnv(**settings)


@pytest.fixture
async def channels(receiver: Receiver) -> AsyncIterator[Channels]:
    async with Channels(local_env(receiver)) as opened:
        yield opened


def config_for(type: str, receiver: Receiver) -> ChannelConfig:
    """A working config of every HTTP channel type, aimed at the receiver."""
    raw: dict[str, dict[str, Any]] = {
        "slack": {"url": f"{receiver.url}/services/T000/B000/XXXXSECRETXXXX"},
        "discord": {"url": f"{receiver.url}/api/webhooks/123/SECRETdiscordTOKEN"},
        "teams": {
            "url": f"{receiver.url}/workflows/abc/triggers/manual/paths/invoke?sig=SECRETsig"
        },
        "webhook": {"url": f"{receiver.url}/hooks/upmetr", "secret": WEBHOOK_SECRET},
        "pagerduty": {"routing_key": PAGERDUTY_KEY},
        "telegram": {"bot_token": TELEGRAM_TOKEN, "chat_id": "-1001234567890"},
        "twilio": {
            "account_sid": TWILIO_SID,
            "auth_token": TWILIO_TOKEN,
            "from_number": "+15005550006",
            "to_numbers": ["+14155552671"],
        },
        "clickup": {"api_token": CLICKUP_TOKEN, "list_id": "901234"},
    }
    return parse_config(type, raw[type])


HTTP_TYPES = ("slack", "discord", "teams", "webhook", "pagerduty", "telegram", "twilio", "clickup")


def make_notice(**overrides: Any) -> Notice:
    values: dict[str, Any] = {
        "event_type": "incident.opened",
        "idempotency_id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        "dedup_key": "incident-42",
        "title": "api.example.com is down",
        "text": "HTTP check failed: expected status 200, got 503 <Service Unavailable>.",
        "severity": "critical",
        "occurred_at": datetime(2026, 12, 6, 13, 40, 5, tzinfo=UTC),
        "org_name": "Acme & Co",
        "status": "open",
        "url": "https://upmetr.example/incidents/42",
        "facts": {"Monitor": "api", "Target": "https://api.example.com/health"},
        "data": {"incident": {"id": 42, "status": "open", "severity": "critical"}},
        **overrides,
    }
    return Notice(**values)
