"""What the agent collects on this machine is what the API takes (shared.api.agents), and
the agent stays light: no pydantic, no httpx, nothing of the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import psutil
import pytest

import agent
from agent.collect import Collector, NetCounters, disks, host_facts, net_rates, read_net_counters
from agent.config import Config, load_config
from agent.loop import Agent
from shared.api.agents import HostFacts, IngestBatch, Sample


def test_a_sample_of_this_machine_validates_as_the_api_sample() -> None:
    collector = Collector()
    collector.prime()
    time.sleep(0.2)
    sample = Sample.model_validate(collector.sample())
    assert 0 <= sample.cpu_pct <= 100
    assert sample.mem_used > 0
    assert len(sample.load) == 3
    assert sample.disk, "this machine has a root filesystem"


def test_host_facts_of_this_machine_validate_as_the_api_host_facts() -> None:
    facts = HostFacts.model_validate(host_facts())
    assert facts.cpu_count == psutil.cpu_count()
    assert facts.mem_total == psutil.virtual_memory().total
    assert facts.kernel and facts.arch and facts.boot_time


def test_a_collected_batch_validates_as_an_ingest_batch(tmp_path: Path) -> None:
    config = Config(
        server="http://127.0.0.1:9",
        token="t",
        interval=10,
        state_dir=str(tmp_path),
        docker_socket=str(tmp_path / "none.sock"),
    )
    batch = IngestBatch.model_validate(Agent(config).collect())
    assert batch.agent_version == agent.__version__
    assert batch.interval_seconds == 10
    assert len(batch.samples) == 1 and batch.containers == []


def test_the_agent_version_is_the_distribution_version() -> None:
    assert agent.__version__ == version("upmetr")


def counters(at: float, recv: int, sent: int, faults: int, nic: str = "eth0") -> NetCounters:
    return NetCounters(at, {nic: recv}, {nic: sent}, {nic: faults})


def test_network_rates_are_counter_growth_per_second_and_faults_per_minute() -> None:
    rates = net_rates(counters(100.0, 1_000, 500, 3), counters(110.0, 21_000, 1_500, 8))
    assert rates == {"rx_bps": 2_000.0, "tx_bps": 100.0, "errors_per_min": 30.0}


def test_a_counter_that_went_down_counts_as_zero_not_as_a_negative_rate() -> None:
    rates = net_rates(counters(100.0, 2**32 - 10, 500, 9), counters(110.0, 5, 600, 0))
    assert rates == {"rx_bps": 0.0, "tx_bps": 10.0, "errors_per_min": 0.0}


def test_an_interface_that_appears_adds_nothing_until_its_second_sample() -> None:
    before = counters(100.0, 1_000, 1_000, 0)
    after = NetCounters(
        110.0, {"eth0": 2_000, "wg0": 10**9}, {"eth0": 1_000, "wg0": 10**9}, {"eth0": 0, "wg0": 0}
    )
    assert net_rates(before, after)["rx_bps"] == 100.0


def test_loopback_is_not_counted() -> None:
    names = set(read_net_counters().bytes_recv)
    assert "lo" not in names


def test_disks_are_listed_once_per_device() -> None:
    mounts = [disk["mount"] for disk in disks()]
    assert len(mounts) == len(set(mounts))
    devices = {
        part.device for part in psutil.disk_partitions(all=False) if part.mountpoint in mounts
    }
    assert len(devices) == len(mounts)


def test_environment_variables_win_over_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text('server = "https://a.example.com/"\ntoken = "from-file"\ninterval = 30\n')
    config = load_config(
        path, environ={"UPMETR_AGENT_TOKEN": "from-env", "UPMETR_AGENT_INTERVAL": "5"}
    )
    assert config.server == "https://a.example.com"
    assert (config.token, config.interval) == ("from-env", 5)
    assert config.docker_socket == "/var/run/docker.sock"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('token = "t"\n', "no server"),
        ('server = "https://a.example.com"\n', "no agent token"),
        ('server = "a.example.com"\ntoken = "t"\n', "is not a URL like https://"),
        ('server = "https://a.example.com"\ntoken = "t"\ninterval = 0\n', "1 to 3600"),
        ('server = "https://a.example.com"\ntoken = "t"\ntokn = "x"\n', "unknown keys tokn"),
        ("server = ", "not valid TOML"),
    ],
)
def test_settings_that_cannot_work_are_refused_with_the_reason(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(content)
    with pytest.raises(Exception, match=message):
        load_config(path, environ={})


def test_the_token_never_shows_in_the_settings_repr() -> None:
    config = Config(server="https://a.example.com", token="s3cret-token")
    assert "s3cret-token" not in repr(config)


def test_the_agent_imports_nothing_heavy() -> None:
    """Each of these costs the agent megabytes of RSS on every host; ssl is loaded only to
    post to an https server."""
    code = "import sys, agent.cli, agent.loop; import json; print(json.dumps(sorted(sys.modules)))"
    listed = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-I", "-c", code], check=True, capture_output=True, text=True
    )
    loaded = set(json.loads(listed.stdout))
    heavy = {
        *("pydantic", "httpx", "click", "asyncio", "importlib.metadata", "inspect"),
        *("http.client", "email.parser", "ssl", "server", "shared", "console"),
    }
    assert not heavy & loaded


def test_collect_prints_one_batch_and_needs_no_server(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "UPMETR_AGENT_DOCKER_SOCKET": str(tmp_path / "no-docker.sock"),
    }
    printed = subprocess.run(
        [sys.executable, "-m", "agent", "collect"],
        env=env, capture_output=True, text=True, check=True, timeout=30, cwd=tmp_path,
    )  # fmt: skip
    IngestBatch.model_validate_json(printed.stdout)
