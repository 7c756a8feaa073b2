"""The README's tour works as written: its shell blocks, run one after another by bash with
the installed `upmetr` on PATH, against `upmetr up` (only the port differs from 8080)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console.test_local_server import UpProcess
from tests.e2e.upmetr_server import UPMETR, free_port

README = Path(__file__).resolve().parents[2] / "README.md"
SHELL_BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)


def tour_blocks() -> list[str]:
    text = README.read_text()
    tour = text.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    return SHELL_BLOCK.findall(tour)


def test_the_tour_has_the_commands_a_newcomer_needs() -> None:
    commands = "\n".join(tour_blocks())
    assert "upmetr monitors create" in commands
    assert "upmetr incidents list" in commands
    assert 'curl -s -H "Authorization: Bearer $KEY"' in commands


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[UpProcess]:
    up = UpProcess(tmp_path, free_port())
    up.wait_until_serving()
    yield up
    up.interrupt()


def test_the_readme_tour_runs_as_written(local_server: UpProcess, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PATH": f"{Path(UPMETR).parent}{os.pathsep}{os.environ['PATH']}",
        "UPMETR_CONFIG_DIR": str(tmp_path / "config"),
    }
    env.pop("UPMETR_URL", None)
    env.pop("UPMETR_API_KEY", None)
    bash = shutil.which("bash") or "/bin/bash"
    outputs = []
    for block in tour_blocks():
        script = block.replace("http://127.0.0.1:8080", local_server.url)
        done = subprocess.run(  # noqa: S603 - bash, running the README's own lines
            [bash, "-euo", "pipefail", "-c", script],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)
    monitors, _incidents, scripted = outputs
    assert "Upmetr" in monitors and "Nothing on 9" in monitors
    # curl's answer ends without a newline: the two JSON documents are read one after the other
    curl_answer, end = json.JSONDecoder().raw_decode(scripted)
    assert "items" in curl_answer
    assert json.loads(scripted[end:])["role"] == "viewer"
