"""Container stats from an Engine-API-shaped server on a unix socket, computed as
`docker stats` computes them."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from agent.docker import DockerStats, cpu_pct, memory
from shared.api.agents import ContainerStats
from tests.agent.standins import (
    GIB,
    MIB,
    EngineApi,
    container_summary,
    running_engine,
    stats_v2,
)


def two_containers() -> EngineApi:
    """`web` running (stats with precpu_stats, as `stream=false` without one-shot answers)
    and `backup` exited."""
    web = container_summary(1, "web")
    backup = container_summary(2, "backup", state="exited")
    stats = stats_v2(
        web["Id"],
        "web",
        # 0.2 s of CPU while the host's 4 CPUs ran 2 s: 40 % of one core.
        cpu=(1_200_000_000, 20_000_000_000),
        precpu=(1_000_000_000, 18_000_000_000),
        usage=150 * MIB,
        inactive_file=50 * MIB,
        limit=400 * MIB,
    )
    return EngineApi(containers=[web, backup], stats={web["Id"]: stats})


@pytest.fixture
def socket_path(tmp_path: Path) -> str:
    return str(tmp_path / "docker.sock")


async def test_containers_are_read_with_their_state_cpu_and_memory(socket_path: str) -> None:
    async with running_engine(two_containers(), socket_path) as engine:
        docker = DockerStats(socket_path)
        containers = await asyncio.to_thread(docker.read)
        docker.close()

    by_name = {item["name"]: ContainerStats.model_validate(item) for item in containers}
    assert set(by_name) == {"web", "backup"}
    web = by_name["web"]
    assert web.state == "running"
    assert web.image == "registry.example.com/web:1.1"
    assert web.cpu_pct == pytest.approx(40.0)
    assert web.mem_bytes == 100 * MIB  # usage less inactive_file
    assert web.mem_limit == 400 * MIB
    assert web.mem_pct == pytest.approx(25.0)
    backup = by_name["backup"]
    assert (backup.state, backup.cpu_pct, backup.mem_bytes) == ("exited", 0, 0)
    # Every container is listed, and only the running one's stats are asked for, at once.
    assert engine.requests[0] == "/containers/json?all=1"
    assert engine.requests[1:] == [
        f"/containers/{engine.containers[0]['Id']}/stats?stream=false&one-shot=true"
    ]


def test_cpu_percent_is_the_cpu_delta_over_the_system_delta_times_online_cpus() -> None:
    stats = {
        "cpu_stats": {
            "cpu_usage": {"total_usage": 3_000_000_000},
            "system_cpu_usage": 110_000_000_000,
            "online_cpus": 8,
        },
        "precpu_stats": {
            "cpu_usage": {"total_usage": 1_000_000_000},
            "system_cpu_usage": 100_000_000_000,
        },
    }
    # 2 s of CPU over 10 s of 8 CPUs: 2e9 / 1e10 x 8 x 100 = 160 % (1.6 cores busy).
    assert cpu_pct(stats) == pytest.approx(160.0)


def test_a_one_shot_answer_is_measured_against_the_previous_interval() -> None:
    now = stats_v2(
        "c1", "web", cpu=(4_000_000_000, 60_000_000_000), precpu=None,
        usage=MIB, inactive_file=0, limit=GIB, online_cpus=2,
    )  # fmt: skip
    earlier = {"cpu_usage": {"total_usage": 3_000_000_000}, "system_cpu_usage": 40_000_000_000}
    assert cpu_pct(now) == 0.0  # a first sample has nothing to compare with
    # 1 s of CPU over 20 s of 2 CPUs: 1e9 / 2e10 x 2 x 100 = 10 %.
    assert cpu_pct(now, earlier) == pytest.approx(10.0)


async def test_a_second_read_of_one_shot_stats_gives_the_cpu_used_between_the_two(
    socket_path: str,
) -> None:
    engine = two_containers()
    web_id = engine.containers[0]["Id"]
    engine.stats[web_id]["precpu_stats"] = {"cpu_usage": {"total_usage": 0}}
    async with running_engine(engine, socket_path):
        docker = DockerStats(socket_path)
        first = await asyncio.to_thread(docker.read)
        engine.stats[web_id]["cpu_stats"]["cpu_usage"]["total_usage"] += 500_000_000
        engine.stats[web_id]["cpu_stats"]["system_cpu_usage"] += 10_000_000_000
        second = await asyncio.to_thread(docker.read)
        docker.close()
    assert first[0]["cpu_pct"] == 0.0
    # 0.5 s over 10 s of 4 CPUs: 20 %.
    assert second[0]["cpu_pct"] == pytest.approx(20.0)


def test_memory_leaves_out_the_page_cache_on_cgroup_v1_and_v2() -> None:
    v1 = {"memory_stats": {"usage": 300, "limit": 1000, "stats": {"cache": 100, "rss": 200}}}
    v2 = {"memory_stats": {"usage": 300, "limit": 1000, "stats": {"inactive_file": 50}}}
    assert memory(v1) == (200, 1000, 20.0)
    assert memory(v2) == (250, 1000, 25.0)
    assert memory({"memory_stats": {}}) == (0, None, None)


async def test_a_host_without_docker_has_no_containers_and_says_so_once(
    socket_path: str, caplog: pytest.LogCaptureFixture
) -> None:
    docker = DockerStats(socket_path)
    with caplog.at_level(logging.INFO, logger="upmetr.agent.docker"):
        assert docker.read() == []
        assert docker.read() == []
        assert docker.read() == []
    assert len(caplog.records) == 1
    assert "no Docker socket" in caplog.records[0].getMessage()
    docker.close()


async def test_a_docker_socket_that_does_not_answer_times_out(socket_path: str) -> None:
    engine = two_containers()
    engine.delay = 5.0
    async with running_engine(engine, socket_path):
        docker = DockerStats(socket_path, timeout=0.3)
        started = time.monotonic()
        assert await asyncio.to_thread(docker.read) == []
        assert time.monotonic() - started < 2
        docker.close()


async def test_stats_of_many_containers_are_fetched_several_at_a_time(socket_path: str) -> None:
    engine = EngineApi()
    for number in range(8):
        summary = container_summary(number, f"app-{number}")
        engine.containers.append(summary)
        engine.stats[summary["Id"]] = stats_v2(
            summary["Id"], f"app-{number}", cpu=(2, 2), precpu=(1, 1),
            usage=MIB, inactive_file=0, limit=GIB,
        )  # fmt: skip

    slow = engine.container_stats

    async def slow_stats(request):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.25)
        return await slow(request)

    engine.container_stats = slow_stats  # type: ignore[method-assign]
    async with running_engine(engine, socket_path):
        docker = DockerStats(socket_path)
        started = time.monotonic()
        containers = await asyncio.to_thread(docker.read)
        elapsed = time.monotonic() - started
        docker.close()
    assert len(containers) == 8
    # 8 x 0.25 s one after the other would take 2 s; four at a time take ~0.5 s.
    assert elapsed < 1.5
