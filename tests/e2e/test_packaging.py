"""What a new user installs works: the wheel holds every file the program reads, and the
README's first command, `upmetr up`, run from that wheel in a fresh venv, reaches the
dashboard in a terminal and quits on `:q` with status 0."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.e2e.upmetr_server import free_port
from tests.terminal import Terminal

CHECKOUT = Path(__file__).resolve().parents[2]
LOCK = CHECKOUT / "requirements" / "test.txt"


PACKAGES = ("server", "console", "shared", "agent")


def _tracked_files() -> list[str]:
    git = shutil.which("git") or "git"
    listed = subprocess.run(  # noqa: S603 - git, on our own checkout
        [git, "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.splitlines()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from the files git keeps (not ignored), as on a clean clone: a stale build/
    folder in a working copy can put files in a wheel that a clean build leaves out."""
    source = tmp_path_factory.mktemp("source")
    for name in _tracked_files():
        if (CHECKOUT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(CHECKOUT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        check=True,
        timeout=300,
    )
    return next(out.glob("upmetr-*.whl"))


def test_every_file_the_program_reads_at_run_time_is_in_the_wheel(wheel: Path) -> None:
    data_files = {
        name
        for name in _tracked_files()
        if name.split("/")[0] in PACKAGES and not name.endswith(".py")
    }
    with zipfile.ZipFile(wheel) as archive:
        missing = sorted(data_files - set(archive.namelist()))
    assert data_files and not missing, f"left out of the wheel: {missing}"


@pytest.fixture(scope="module")
def fresh_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with only the wheel and its dependencies (at the locked versions)."""
    root = tmp_path_factory.mktemp("venv")
    venv.create(root, with_pip=True)
    env = {**os.environ, "PIP_CONSTRAINT": str(LOCK)}
    subprocess.run(  # noqa: S603 - the new venv's pip
        [str(root / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        env=env,
        timeout=600,
    )
    return root


def _user_env(venv_root: Path, home: Path) -> dict[str, str]:
    """A new user's environment: the venv on PATH, a home of their own, nothing else."""
    return {
        "PATH": f"{venv_root / 'bin'}:/usr/bin:/bin",
        "HOME": str(home),
        "TERM": "xterm-256color",
        "UPMETR_DATA_DIR": str(home / "data"),
        "UPMETR_CONFIG_DIR": str(home / "config"),
    }


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_upmetr_up_from_the_wheel_reaches_the_dashboard_and_quits_on_q(
    fresh_venv: Path, tmp_path: Path, size: tuple[int, int]
) -> None:
    command = [str(fresh_venv / "bin" / "upmetr"), "up", "--port", str(free_port())]
    terminal = Terminal(command, _user_env(fresh_venv, tmp_path), size=size, cwd=tmp_path)
    try:
        terminal.wait_for(b"password", b"Press Enter", timeout=60)
        terminal.type(b"\r")  # the first run's password was read
        terminal.wait_for(b"monitors", b"incidents", timeout=60)
        terminal.type(b":q\r")
        assert terminal.wait_exit(timeout=30) == 0, terminal.text[-3000:]
    finally:
        terminal.close()
    assert b"Traceback" not in terminal.text


def test_a_console_that_crashes_exits_with_an_error_status(
    fresh_venv: Path, tmp_path: Path
) -> None:
    """A crash used to end `upmetr up` with status 0, so scripts and CI took it for success."""
    styles = next(fresh_venv.glob("lib/python3*/site-packages/console/styles"))
    hidden = styles.with_name("styles-hidden")
    styles.rename(hidden)
    try:
        terminal = Terminal(
            [str(fresh_venv / "bin" / "upmetr"), "up", "--port", str(free_port())],
            _user_env(fresh_venv, tmp_path),
            cwd=tmp_path,
        )
        try:
            terminal.wait_for(b"Press Enter", timeout=60)
            terminal.type(b"\r")
            status = terminal.wait_exit(timeout=60)
        finally:
            terminal.close()
    finally:
        hidden.rename(styles)
    assert b"StylesheetError" in terminal.text
    assert status == 1
