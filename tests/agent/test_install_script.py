"""The install script, run with sh against a temporary root, with stand-ins on PATH for what
would change the machine (useradd, chown, systemctl, ...) that record how they were called;
and the agent's own wheel, installed into a fresh venv."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import stat
import subprocess
import sys
import tomllib
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from agent.config import load_config
from server.agents.install import agent_version, agent_wheel, render_install_script

SERVER = "https://upmetr.example.com"
TOKEN = "agt_Zm9vYmFyLXRva2VuLXZhbHVl"
SH = shutil.which("sh") or "/bin/sh"

# Each stand-in appends its name and arguments to $CALLS, one line per call.
RECORD = 'printf "%s\\n" "$(basename "$0") $*" >>"$CALLS"\n'
STANDINS = {
    "id": 'if [ "$1" = -u ]; then echo "${STANDIN_UID:-0}"; else echo "uid=0(root)"; fi\n',
    "getent": RECORD
    + 'case "$1 $2" in "group docker") [ -n "${STANDIN_DOCKER_GROUP:-}" ] ;; *) exit 2 ;; esac\n',
    "useradd": RECORD,
    "usermod": RECORD,
    "chown": RECORD,
    "systemctl": RECORD,
    # Runs the command after `--` as this user: the stand-in agent below.
    "runuser": RECORD + 'while [ "$1" != -- ]; do shift; done; shift; exec "$@"\n',
    # `python3 -c ...` (the version check) passes; `python3 -m venv DIR` makes a venv whose
    # pip and upmetr-agent are the two stand-ins below.
    "python3": """if [ "$1" = -m ] && [ "$2" = venv ]; then
    printf "%s\\n" "python3 $*" >>"$CALLS"
    mkdir -p "$3/bin"
    cp "$(dirname "$0")/venv-pip" "$3/bin/pip"
    cp "$(dirname "$0")/venv-upmetr-agent" "$3/bin/upmetr-agent"
fi
""",
    "venv-pip": RECORD,
    "venv-upmetr-agent": RECORD + 'echo "HTTP 202 from server"\nexit "${STANDIN_ONCE_STATUS:-0}"\n',
}


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    calls: list[str]
    root: Path


@pytest.fixture
def script() -> str:
    return render_install_script(f"{SERVER}/", 7, "web-1", agent_version())


@pytest.fixture
def standins(tmp_path: Path) -> Path:
    folder = tmp_path / "standins"
    folder.mkdir()
    for name, body in STANDINS.items():
        path = folder / name
        path.write_text(f"#!/bin/sh\n{body}")
        path.chmod(0o755)
    return folder


def install(script: str, tmp_path: Path, standins: Path, *args: str, **env: str) -> Run:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    calls = tmp_path / "calls.txt"
    calls.write_text("")
    (tmp_path / "install.sh").write_text(script)
    environment = {
        "PATH": f"{standins}:{os.environ['PATH']}",
        "CALLS": str(calls),
        "UPMETR_ROOT": str(root),
        "STANDIN_DOCKER_GROUP": "yes",
        **env,
    }
    done = subprocess.run(  # noqa: S603 - sh, on the script under test
        [SH, str(tmp_path / "install.sh"), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return Run(done.returncode, done.stdout, done.stderr, calls.read_text().splitlines(), root)


def test_the_script_installs_a_confined_service_run_by_its_own_user(
    script: str, tmp_path: Path, standins: Path
) -> None:
    run = install(script, tmp_path, standins, UPMETR_AGENT_TOKEN=TOKEN)
    assert run.returncode == 0, run.stderr
    root = run.root
    wheel = f"{SERVER}/agent/upmetr_agent-{agent_version()}-py3-none-any.whl"
    assert run.calls == [
        "getent passwd upmetr-agent",
        "useradd --system --no-create-home --home-dir /nonexistent "
        "--shell /usr/sbin/nologin upmetr-agent",
        "getent group docker",
        "usermod -a -G docker upmetr-agent",
        f"python3 -m venv {root}/opt/upmetr-agent",
        f"pip install --quiet --disable-pip-version-check --upgrade {wheel}",
        f"chown root:upmetr-agent {root}/etc/upmetr-agent/agent.toml.new",
        f"chown root:upmetr-agent {root}/etc/upmetr-agent",
        "systemctl daemon-reload",
        "systemctl try-restart upmetr-agent",
        "systemctl enable --now upmetr-agent",
        f"runuser -u upmetr-agent -- {root}/opt/upmetr-agent/bin/upmetr-agent "
        f"--config {root}/etc/upmetr-agent/agent.toml once",
        f"upmetr-agent --config {root}/etc/upmetr-agent/agent.toml once",
    ]
    assert "root-equivalent" in run.stdout
    assert "the server accepted a first batch" in run.stdout
    assert TOKEN not in run.stdout + run.stderr + "\n".join(run.calls)


def test_the_config_file_holds_the_server_and_token_readable_by_root_and_the_service_only(
    script: str, tmp_path: Path, standins: Path
) -> None:
    run = install(script, tmp_path, standins, UPMETR_AGENT_TOKEN=TOKEN)
    config_file = run.root / "etc/upmetr-agent/agent.toml"
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o640
    assert stat.S_IMODE(config_file.parent.stat().st_mode) == 0o750
    assert tomllib.loads(config_file.read_text()) == {
        "server": SERVER,
        "token": TOKEN,
        "interval": 10,
        "state_dir": "/var/lib/upmetr-agent",
    }
    config = load_config(config_file, environ={})
    assert (config.server, config.token) == (SERVER, TOKEN)


def test_the_unit_is_hardened(script: str, tmp_path: Path, standins: Path) -> None:
    run = install(script, tmp_path, standins, UPMETR_AGENT_TOKEN=TOKEN)
    unit = (run.root / "etc/systemd/system/upmetr-agent.service").read_text().splitlines()
    for line in (
        "User=upmetr-agent",
        "ExecStart=/opt/upmetr-agent/bin/upmetr-agent --config /etc/upmetr-agent/agent.toml run",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "RestrictSUIDSGID=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "LockPersonality=yes",
        "MemoryDenyWriteExecute=yes",
        "CapabilityBoundingSet=",
        "StateDirectory=upmetr-agent",
        "Restart=on-failure",
        "WantedBy=multi-user.target",
    ):
        assert line in unit


def test_without_a_token_the_script_refuses_and_changes_nothing(
    script: str, tmp_path: Path, standins: Path
) -> None:
    run = install(script, tmp_path, standins)
    assert run.returncode == 1
    assert "no agent token" in run.stderr and "UPMETR_AGENT_TOKEN" in run.stderr
    assert run.calls == []
    assert not any(run.root.iterdir())


def test_the_token_may_be_the_first_argument(script: str, tmp_path: Path, standins: Path) -> None:
    run = install(script, tmp_path, standins, TOKEN)
    assert run.returncode == 0, run.stderr
    assert f'token = "{TOKEN}"' in (run.root / "etc/upmetr-agent/agent.toml").read_text()


def test_the_script_refuses_to_run_as_another_user_than_root(
    script: str, tmp_path: Path, standins: Path
) -> None:
    run = install(script, tmp_path, standins, UPMETR_AGENT_TOKEN=TOKEN, STANDIN_UID="1000")
    assert run.returncode == 1 and "run as root" in run.stderr
    assert run.calls == []


def test_without_a_docker_group_the_user_gets_none_and_no_warning(
    script: str, tmp_path: Path, standins: Path
) -> None:
    run = install(script, tmp_path, standins, UPMETR_AGENT_TOKEN=TOKEN, STANDIN_DOCKER_GROUP="")
    assert run.returncode == 0, run.stderr
    assert not any(call.startswith("usermod") for call in run.calls)
    assert "root-equivalent" not in run.stdout


def test_an_admin_can_point_pip_at_another_wheel_and_index(
    script: str, tmp_path: Path, standins: Path
) -> None:
    run = install(
        script, tmp_path, standins,
        UPMETR_AGENT_TOKEN=TOKEN,
        UPMETR_AGENT_WHEEL="/srv/wheels/upmetr_agent-9.9-py3-none-any.whl",
        UPMETR_PIP_ARGS="--index-url https://pypi.internal/simple",
    )  # fmt: skip
    assert (
        "pip install --quiet --disable-pip-version-check --upgrade --index-url "
        "https://pypi.internal/simple /srv/wheels/upmetr_agent-9.9-py3-none-any.whl"
    ) in run.calls


def test_when_the_server_does_not_accept_the_first_batch_the_script_says_so(
    script: str, tmp_path: Path, standins: Path
) -> None:
    run = install(script, tmp_path, standins, UPMETR_AGENT_TOKEN=TOKEN, STANDIN_ONCE_STATUS="1")
    assert run.returncode == 2
    assert "did not accept a first batch" in run.stdout
    assert "journalctl -u upmetr-agent" in run.stdout


def test_the_script_holds_no_token_and_an_agent_name_cannot_break_out_of_its_comment() -> None:
    script = render_install_script(SERVER, 7, "web\nrm -rf / #", agent_version())
    assert "\nrm -rf" not in script
    assert "token =" not in script.split("cat >")[0]


@pytest.mark.parametrize("url", ["https://a.example.com/'; reboot; '", "ftp://a.example.com"])
def test_a_server_url_that_is_not_plain_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="not a plain http"):
        render_install_script(url, 7, "web-1", agent_version())


def test_the_script_is_clean_under_shellcheck(script: str, tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        if os.environ.get("UPMETR_TEST_INSTALLED"):  # tox, and CI (.ci/run installs it)
            pytest.fail("shellcheck is not installed: apt-get install -y shellcheck")
        pytest.skip("shellcheck is not installed (apt-get install -y shellcheck)")
    path = tmp_path / "install.sh"
    path.write_text(script)
    checked = subprocess.run(  # noqa: S603 - shellcheck on the script under test
        [shellcheck, "-s", "sh", str(path)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout


def test_the_agent_wheel_holds_the_agent_alone_with_a_true_record() -> None:
    name, data = agent_wheel()
    assert name == f"upmetr_agent-{agent_version()}-py3-none-any.whl"
    info = f"upmetr_agent-{agent_version()}.dist-info"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert {n.split("/")[0] for n in names} == {"agent", info}
        assert "agent/cli.py" in names and "agent/transport.py" in names
        metadata = archive.read(f"{info}/METADATA").decode()
        assert "Name: upmetr-agent" in metadata
        assert "Requires-Dist: psutil<8,>=5.9" in metadata
        assert "upmetr-agent = agent.cli:main" in archive.read(f"{info}/entry_points.txt").decode()
        for line in archive.read(f"{info}/RECORD").decode().splitlines():
            path, digest, size = line.split(",")
            if path.endswith("RECORD"):
                continue
            content = archive.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=")
            assert digest == f"sha256={expected.decode()}" and int(size) == len(content)
    assert agent_wheel()[1] is data  # built once


def test_the_agent_wheel_installs_into_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    name, data = agent_wheel()
    wheel = tmp_path / name
    wheel.write_bytes(data)
    root = tmp_path / "venv"
    venv.create(root, with_pip=False)  # this interpreter's pip installs into it: seconds saved
    python = root / "bin" / "python"
    subprocess.run(  # noqa: S603 - this interpreter's pip, on the wheel under test
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
         "--no-deps", "--no-index", "--disable-pip-version-check", str(wheel)],
        check=True, timeout=60,
    )  # fmt: skip
    # The one dependency from this environment, as the venv has no index to fetch it from.
    (site,) = root.glob("lib/python*/site-packages")
    (site / "deps.pth").write_text(str(Path(psutil.__file__).parents[1]))
    version = subprocess.run(  # noqa: S603 - the entry point the wheel installed
        [str(root / "bin" / "upmetr-agent"), "--version"],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    assert version.stdout.strip() == f"upmetr-agent {agent_version()}"
    where = subprocess.run(  # noqa: S603 - the venv's interpreter
        [str(python), "-c", "import agent; print(agent.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    assert where.stdout.startswith(str(site))
