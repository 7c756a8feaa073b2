"""HTTP, keyword and JSON checks against a real aiohttp target on 127.0.0.1 whose behaviour
each test flips between healthy and failing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from server.providers.checks import Checker, CheckSpec, network_ok
from tests.conftest import LOCAL_TARGETS


@dataclass
class Behaviour:
    status: int = 200
    body: str = "all systems ok"
    json_body: Any = None
    delay_seconds: float = 0.0
    fail_next: int = 0
    requests: int = 0
    last_method: str = ""
    last_body: bytes = b""
    last_headers: dict[str, str] | None = None


BEHAVIOUR = web.AppKey("behaviour", Behaviour)


@dataclass
class Target:
    url: str
    behaviour: Behaviour


async def _main(request: web.Request) -> web.StreamResponse:
    behaviour = request.app[BEHAVIOUR]
    behaviour.requests += 1
    behaviour.last_method = request.method
    behaviour.last_body = await request.read()
    behaviour.last_headers = dict(request.headers)
    if behaviour.delay_seconds:
        await asyncio.sleep(behaviour.delay_seconds)
    if behaviour.fail_next > 0:
        behaviour.fail_next -= 1
        return web.Response(status=503, text="warming up")
    if behaviour.json_body is not None:
        return web.json_response(behaviour.json_body, status=behaviour.status)
    return web.Response(status=behaviour.status, text=behaviour.body)


async def _redirect(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/")


async def _loop(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/loop")


async def _trickle(request: web.Request) -> web.StreamResponse:
    """Headers at once, then a byte every 0.1 s for 3 s: no single read ever times out."""
    response = web.StreamResponse()
    await response.prepare(request)
    for _ in range(30):
        await response.write(b".")
        await asyncio.sleep(0.1)
    return response


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    app = web.Application()
    app[BEHAVIOUR] = behaviour = Behaviour()
    app.router.add_route("*", "/", _main)
    app.router.add_get("/redirect", _redirect)
    app.router.add_get("/loop", _loop)
    app.router.add_get("/trickle", _trickle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield Target(url=f"http://127.0.0.1:{port}", behaviour=behaviour)
    await runner.cleanup()


@pytest.fixture
async def checker() -> AsyncIterator[Checker]:
    async with Checker(max_connections=10, policy=LOCAL_TARGETS) as checker:
        yield checker


def spec(url: str, **fields: Any) -> CheckSpec:
    defaults: dict[str, Any] = {"timeout_seconds": 2.0, "attempts": 1, "retry_delay_seconds": 0.01}
    return CheckSpec(**{"type": "http", "url": url, **defaults, **fields})


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_healthy_target_is_up_with_status_and_time(target: Target, checker: Checker) -> None:
    outcome = await checker.run(spec(target.url + "/"))
    assert outcome.status == "up"
    assert outcome.status_code == 200
    assert outcome.error is None
    assert outcome.attempts == 1
    assert outcome.response_time_ms is not None and outcome.response_time_ms > 0
    assert outcome.checked_at.tzinfo is not None
    assert outcome.tls_expires_at is None and outcome.tls_days_left is None


async def test_target_flipping_to_503_goes_down_then_recovers(
    target: Target, checker: Checker
) -> None:
    target.behaviour.status = 503
    down = await checker.run(spec(target.url))
    assert down.status == "down"
    assert down.status_code == 503
    assert down.error == "expected status 200, got 503"
    assert down.response_time_ms is not None
    target.behaviour.status = 200
    assert (await checker.run(spec(target.url))).status == "up"


async def test_expected_status_accepts_patterns_and_lists(target: Target, checker: Checker) -> None:
    target.behaviour.status = 204
    assert (await checker.run(spec(target.url, expected_status="2xx"))).status == "up"
    assert (await checker.run(spec(target.url, expected_status=[200, 204]))).status == "up"
    assert (await checker.run(spec(target.url, expected_status="200-203,3xx"))).status == "down"
    target.behaviour.status = 404
    outcome = await checker.run(spec(target.url, expected_status="2xx"))
    assert outcome.error == "expected status 2xx, got 404"


async def test_method_headers_and_body_are_sent(target: Target, checker: Checker) -> None:
    outcome = await checker.run(
        spec(target.url, method="POST", headers={"X-Probe": "yes"}, body='{"ping": 1}')
    )
    assert outcome.status == "up"
    assert target.behaviour.last_method == "POST"
    assert target.behaviour.last_body == b'{"ping": 1}'
    assert target.behaviour.last_headers is not None
    assert target.behaviour.last_headers["X-Probe"] == "yes"
    assert target.behaviour.last_headers["User-Agent"].startswith("Upmetr")


async def test_redirects_are_followed_or_reported(target: Target, checker: Checker) -> None:
    followed = await checker.run(spec(target.url + "/redirect"))
    assert (followed.status, followed.status_code) == ("up", 200)
    kept = await checker.run(spec(target.url + "/redirect", follow_redirects=False))
    assert kept.status == "down"
    assert kept.error == "expected status 200, got 302"
    as_expected = spec(target.url + "/redirect", follow_redirects=False, expected_status="3xx")
    assert (await checker.run(as_expected)).status == "up"


async def test_redirect_loop_is_down_with_too_many_redirects(
    target: Target, checker: Checker
) -> None:
    outcome = await checker.run(spec(target.url + "/loop"))
    assert outcome.status == "down"
    assert outcome.error is not None and outcome.error.startswith("too many redirects")


async def test_connection_refused_is_down(checker: Checker) -> None:
    outcome = await checker.run(spec(f"http://127.0.0.1:{closed_port()}/"))
    assert outcome.status == "down"
    assert outcome.error == "connection refused"
    assert outcome.status_code is None and outcome.response_time_ms is None


async def test_slow_target_times_out_strictly(target: Target, checker: Checker) -> None:
    target.behaviour.delay_seconds = 3
    started = time.perf_counter()
    outcome = await checker.run(spec(target.url, timeout_seconds=0.3))
    assert time.perf_counter() - started < 1.0
    assert outcome.status == "down"
    assert outcome.error == "timeout after 0.3 s"


async def test_trickling_body_cannot_outlast_the_timeout(target: Target, checker: Checker) -> None:
    """Each read arrives in 0.1 s, so only a timeout around the whole attempt catches it."""
    started = time.perf_counter()
    outcome = await checker.run(spec(target.url + "/trickle", timeout_seconds=0.5))
    assert time.perf_counter() - started < 1.2
    assert (outcome.status, outcome.error) == ("down", "timeout after 0.5 s")


async def test_slow_under_timeout_is_degraded(target: Target, checker: Checker) -> None:
    target.behaviour.delay_seconds = 0.25
    outcome = await checker.run(spec(target.url, degraded_threshold_ms=100))
    assert outcome.status == "degraded"
    assert outcome.response_time_ms is not None and outcome.response_time_ms >= 250
    assert outcome.error is not None and "above 100 ms" in outcome.error
    target.behaviour.delay_seconds = 0
    assert (await checker.run(spec(target.url, degraded_threshold_ms=100))).status == "up"


async def test_retries_until_the_third_attempt_succeeds(target: Target, checker: Checker) -> None:
    target.behaviour.fail_next = 2
    outcome = await checker.run(spec(target.url, attempts=3, retry_delay_seconds=0.05))
    assert (outcome.status, outcome.attempts, outcome.status_code) == ("up", 3, 200)
    assert target.behaviour.requests == 3


async def test_down_only_when_every_attempt_fails(target: Target, checker: Checker) -> None:
    target.behaviour.fail_next = 3
    started = time.perf_counter()
    outcome = await checker.run(spec(target.url, attempts=3, retry_delay_seconds=0.1))
    assert time.perf_counter() - started >= 0.2  # two pauses between three attempts
    assert (outcome.status, outcome.attempts) == ("down", 3)
    assert outcome.error == "expected status 200, got 503"


async def test_keyword_present_and_absent(target: Target, checker: Checker) -> None:
    present = spec(target.url, type="keyword", keyword="ok")
    absent = spec(target.url, type="keyword", keyword="error", keyword_present=False)
    assert (await checker.run(present)).status == "up"
    assert (await checker.run(absent)).status == "up"
    target.behaviour.body = "database error"
    missing = await checker.run(present)
    assert (missing.status, missing.error) == ("down", "keyword 'ok' not found")
    found = await checker.run(absent)
    assert (found.status, found.error) == ("down", "keyword 'error' found")


async def test_keyword_check_still_requires_the_expected_status(
    target: Target, checker: Checker
) -> None:
    target.behaviour.status = 500
    outcome = await checker.run(spec(target.url, type="keyword", keyword="ok"))
    assert outcome.error == "expected status 200, got 500"


async def test_json_path_value_flips(target: Target, checker: Checker) -> None:
    target.behaviour.json_body = {"checks": [{"name": "db", "status": "up"}]}
    check = spec(target.url, type="json", json_path="$.checks[0].status", expected_value="up")
    assert (await checker.run(check)).status == "up"
    target.behaviour.json_body = {"checks": [{"name": "db", "status": "down"}]}
    outcome = await checker.run(check)
    assert outcome.status == "down"
    assert outcome.error == "$.checks[0].status is 'down', expected 'up'"


async def test_json_compares_typed_values(target: Target, checker: Checker) -> None:
    target.behaviour.json_body = {"ok": True, "workers": 5, "ratio": 0.5, "gone": None}
    cases = [("$.ok", "true"), ("$.workers", "5"), ("$.ratio", "0.50"), ("$.gone", "null")]
    for path, expected in [*cases, ("$['workers']", "5.0")]:
        check = spec(target.url, type="json", json_path=path, expected_value=expected)
        assert (await checker.run(check)).status == "up", path
    wrong = spec(target.url, type="json", json_path="$.ok", expected_value="1")
    assert (await checker.run(wrong)).error == "$.ok is true, expected '1'"


async def test_json_missing_path_and_invalid_json(target: Target, checker: Checker) -> None:
    target.behaviour.json_body = {"status": "up"}
    check = spec(target.url, type="json", json_path="$.data.status", expected_value="up")
    assert (await checker.run(check)).error == "$.data.status not found in the response"
    target.behaviour.json_body = None
    target.behaviour.body = "<html>oops</html>"
    assert (await checker.run(check)).error == "response is not valid JSON"


async def test_network_canary(target: Target, checker: Checker) -> None:
    target.behaviour.status = 500  # any answer proves the network works
    assert await network_ok(checker, target.url) is True
    assert await network_ok(checker, f"127.0.0.1:{target.url.rsplit(':', 1)[1]}") is True
    assert await network_ok(checker, f"http://127.0.0.1:{closed_port()}/") is False
    assert await network_ok(checker, f"127.0.0.1:{closed_port()}") is False
    assert await network_ok(checker, "not a canary") is False


async def test_many_checks_run_concurrently(target: Target, checker: Checker) -> None:
    target.behaviour.delay_seconds = 0.2
    started = time.perf_counter()
    outcomes = await asyncio.gather(*(checker.run(spec(target.url)) for _ in range(20)))
    assert all(outcome.status == "up" for outcome in outcomes)
    assert time.perf_counter() - started < 2.5  # two rounds of 10; one by one takes 4 s
