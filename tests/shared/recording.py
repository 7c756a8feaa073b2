"""A transport handler for client tests: answers by `METHOD /path` and keeps each request."""

from __future__ import annotations

from collections.abc import Callable

import httpx

Handler = Callable[[httpx.Request], httpx.Response]


def recording(answers: dict[str, httpx.Response]) -> tuple[list[httpx.Request], Handler]:
    """A transport handler answering by `METHOD /path` and keeping each request."""
    sent: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        path = request.url.raw_path.decode().partition("?")[0]  # as sent, %2F kept
        return answers[f"{request.method} {path}"]

    return sent, handle
