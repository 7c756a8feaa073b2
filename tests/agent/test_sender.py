"""How the agent reacts to each answer of the ingest endpoint (a stand-in on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from itertools import pairwise
from pathlib import Path
from threading import Event, Thread

import pytest

from agent.config import Config
from agent.loop import Agent
from agent.sender import retry_after_seconds
from shared.api.agents import IngestBatch
from tests.agent.standins import Answer, Ingest, running_ingest

TOKEN = "agt_s3cret-token-value"


@pytest.fixture
async def ingest() -> AsyncIterator[Ingest]:
    async with running_ingest(Ingest()) as running:
        yield running


def agent_for(url: str, tmp_path: Path, interval: int = 10) -> Agent:
    config = Config(
        server=url,
        token=TOKEN,
        interval=interval,
        state_dir=str(tmp_path / "state"),
        docker_socket=str(tmp_path / "no-docker.sock"),
    )
    agent = Agent(config)
    agent.collector.prime()
    return agent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_accepted_batch_is_posted_once_with_the_agent_token(
    ingest: Ingest, tmp_path: Path
) -> None:
    agent = agent_for(ingest.url, tmp_path)
    await asyncio.to_thread(agent.tick)
    (post,) = ingest.posts
    assert post.authorization == f"Bearer {TOKEN}"
    batch = IngestBatch.model_validate(post.batch)
    assert batch.interval_seconds == 10 and len(batch.samples) == 1
    assert len(agent.spool) == 0


async def test_a_refused_token_is_logged_clearly_without_the_token_and_samples_are_spooled(
    ingest: Ingest, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ingest.default = Answer(401, {"detail": "invalid agent token"})
    agent = agent_for(ingest.url, tmp_path)
    with caplog.at_level(logging.INFO):
        await asyncio.to_thread(agent.tick)
        await asyncio.to_thread(agent.tick)
    assert len(agent.spool) == 2
    refusals = [r.getMessage() for r in caplog.records if "refused the agent token" in r.message]
    assert len(refusals) == 1  # said once, not once per interval
    assert "regenerated" in refusals[0] and "401" in refusals[0]
    assert TOKEN not in caplog.text


async def test_a_batch_the_server_calls_invalid_is_dropped_with_its_detail(
    ingest: Ingest, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ingest.default = Answer(400, {"detail": "samples.0.cpu_pct: must be at most 100"})
    agent = agent_for(ingest.url, tmp_path)
    with caplog.at_level(logging.ERROR):
        await asyncio.to_thread(agent.tick)
    assert len(agent.spool) == 0
    assert "samples.0.cpu_pct: must be at most 100" in caplog.text


async def test_a_server_error_spools_the_batch_and_the_next_success_replays_it_in_order(
    ingest: Ingest, tmp_path: Path
) -> None:
    ingest.queued = [Answer(500), Answer(503), Answer(502)]
    agent = agent_for(ingest.url, tmp_path)
    for _ in range(4):
        await asyncio.to_thread(agent.tick)
    assert len(agent.spool) == 0
    *failed, live, replay = ingest.posts
    assert len(failed) == 3
    # The live sample first, then the three spooled ones in one post, oldest first.
    assert replay.batch["samples"] == [post.batch["samples"][0] for post in failed]
    assert replay.batch["containers"] == []
    stamps = [sample["ts"] for sample in replay.batch["samples"]]
    assert stamps == sorted(stamps) and stamps[-1] < live.batch["samples"][0]["ts"]


async def test_an_unreachable_server_spools_the_batch(tmp_path: Path) -> None:
    agent = agent_for(f"http://127.0.0.1:{free_port()}", tmp_path)
    await asyncio.to_thread(agent.tick)
    assert len(agent.spool) == 1


async def test_after_a_429_nothing_is_posted_until_retry_after_has_passed(
    ingest: Ingest, tmp_path: Path
) -> None:
    ingest.queued = [Answer(429, {"detail": "slow down"}, {"Retry-After": "1"})]
    agent = agent_for(ingest.url, tmp_path)
    await asyncio.to_thread(agent.tick)
    await asyncio.to_thread(agent.tick)
    assert len(ingest.posts) == 1 and len(agent.spool) == 2
    await asyncio.sleep(1.05)
    await asyncio.to_thread(agent.tick)
    assert len(ingest.posts) == 3 and len(agent.spool) == 0
    assert len(ingest.posts[-1].batch["samples"]) == 2


def test_retry_after_is_read_as_seconds_or_as_a_date() -> None:
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470) == 10
    assert retry_after_seconds("soon") is None


async def test_ticks_keep_their_cadence_when_the_server_is_slow(
    ingest: Ingest, tmp_path: Path
) -> None:
    ingest.default = Answer(202, delay=0.4)
    agent = agent_for(ingest.url, tmp_path, interval=1)
    stop = Event()
    runner = Thread(target=agent.run, args=(stop,))
    runner.start()
    while len(ingest.posts) < 4:
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.to_thread(runner.join, 5)
    gaps = [b - a for a, b in pairwise(post.at for post in ingest.posts[:4])]
    # One tick a second, not one every 1.4 s (a second of sleep after 0.4 s of work).
    assert all(0.85 < gap < 1.15 for gap in gaps), gaps


def agent_command(url: str, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "UPMETR_AGENT_SERVER": url,
        "UPMETR_AGENT_TOKEN": TOKEN,
        "UPMETR_AGENT_INTERVAL": "1",
        "UPMETR_AGENT_STATE_DIR": str(tmp_path / "state"),
        "UPMETR_AGENT_DOCKER_SOCKET": str(tmp_path / "no-docker.sock"),
    }
    return subprocess.Popen(  # noqa: S603 - our own interpreter and program
        [sys.executable, "-m", "agent", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_once_exits_0_when_the_server_accepts_and_1_with_the_reason_when_not(
    ingest: Ingest, tmp_path: Path
) -> None:
    accepted = agent_command(ingest.url, tmp_path, "once")
    out, _ = await asyncio.to_thread(accepted.communicate, timeout=20)
    assert accepted.returncode == 0
    assert "HTTP 202" in out and '"accepted": 1' in out

    ingest.default = Answer(401, {"detail": "invalid agent token"})
    refused = agent_command(ingest.url, tmp_path, "once")
    _, err = await asyncio.to_thread(refused.communicate, timeout=20)
    assert refused.returncode == 1
    assert "refused the agent token (HTTP 401: invalid agent token)" in err
    assert TOKEN not in err


async def test_sigterm_stops_the_service_cleanly(ingest: Ingest, tmp_path: Path) -> None:
    service = agent_command(ingest.url, tmp_path, "run")
    deadline = time.monotonic() + 15
    while not ingest.posts and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert ingest.posts, "the service posted nothing"
    service.send_signal(signal.SIGTERM)
    _, err = await asyncio.to_thread(service.communicate, timeout=10)
    assert service.returncode == 0, err
    assert "stopped" in err
