"""What a host needs to run the agent: its install script, and the small wheel it installs.

The agent ships inside the `upmetr` distribution (one version, one test run), but a monitored
host should not install the server, the console and their forty dependencies to run it: the
server builds a wheel of the `agent` package alone, `upmetr_agent-<version>-py3-none-any.whl`,
from the files of its own installed copy, and serves it next to the script that installs it.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import re
import shlex
import zipfile
from functools import cache
from importlib.metadata import PackageNotFoundError, metadata, requires
from importlib.resources import files
from pathlib import Path

import agent

# What the agent imports at run time beyond the standard library: psutil alone (not httpx, see
# agent/transport.py; not click, see agent/cli.py).
AGENT_REQUIREMENTS = ("psutil",)
DISTRIBUTION = "upmetr_agent"
SCRIPT_MEDIA_TYPE = "text/x-shellscript"
# A fixed time for every member of the zip, so the same files make the same bytes.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

_SERVER_URL = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~/%-]*)?")
_VERSION = re.compile(r"[A-Za-z0-9.+!_-]+")
_REQUIREMENT_NAME = re.compile(r"[A-Za-z0-9._-]+")


def agent_version() -> str:
    """The agent's version, which names its wheel (equal to the upmetr distribution's)."""
    return agent.__version__


def agent_wheel_filename(version: str | None = None) -> str:
    return f"{DISTRIBUTION}-{version or agent_version()}-py3-none-any.whl"


def _comment_safe(text: str) -> str:
    """A name for a `#` comment: a line break in it would end the comment and run the rest."""
    return "".join(c if c.isprintable() else "?" for c in text)[:200]


def render_install_script(server_url: str, agent_id: int, agent_name: str, version: str) -> str:
    """The POSIX sh script that installs the agent as a systemd service on a host (serve it
    as `text/x-shellscript`, SCRIPT_MEDIA_TYPE).

    `server_url` is the server's public base URL (scheme and host, no /api/v1), which the agent
    posts to and pip fetches the wheel from (`{server_url}/agent/{agent_wheel_filename()}`);
    `version` is `agent_version()`. The agent's token is not in the script: the host's admin
    gives it as UPMETR_AGENT_TOKEN or the first argument. Raises ValueError for a server URL
    or version that cannot be written into a shell script safely."""
    server_url = server_url.rstrip("/")
    if not _SERVER_URL.fullmatch(server_url):
        raise ValueError(f"not a plain http(s) URL: {server_url!r}")
    if not _VERSION.fullmatch(version):
        raise ValueError(f"not a version: {version!r}")
    template = files("server.agents").joinpath("install.sh").read_text(encoding="utf-8")
    values = {
        "@SERVER_URL@": shlex.quote(server_url),
        "@AGENT_ID@": str(int(agent_id)),
        "@VERSION@": shlex.quote(version),
        "@WHEEL@": shlex.quote(agent_wheel_filename(version)),
        "@AGENT_LABEL@": f"{int(agent_id)} ({_comment_safe(agent_name)})",
        "@SERVER_LABEL@": server_url,
    }
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    return template


def _requires_dist() -> list[str]:
    """The agent's dependencies with the ranges pyproject.toml gives them."""
    try:
        declared = requires("upmetr") or []
    except PackageNotFoundError:  # a checkout that was never installed
        return list(AGENT_REQUIREMENTS)
    chosen = []
    for line in declared:
        name = _REQUIREMENT_NAME.match(line)
        # A marker (`; extra == "test"`) puts it outside what the agent needs.
        if name and name.group().lower() in AGENT_REQUIREMENTS and ";" not in line:
            chosen.append(line.strip())
    return sorted(chosen)


def _requires_python() -> str:
    try:
        return metadata("upmetr")["Requires-Python"] or ">=3.11"
    except PackageNotFoundError:
        return ">=3.11"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


@cache
def agent_wheel() -> tuple[str, bytes]:
    """(filename, bytes) of the agent's wheel, `upmetr_agent-<version>-py3-none-any.whl`,
    built once per process from the installed `agent` package: its .py files, METADATA
    (Requires-Dist psutil, as pyproject.toml pins it), WHEEL, entry_points.txt
    for `upmetr-agent` and RECORD. Serve it as `application/octet-stream` at
    GET /agent/{filename}, without authentication (it holds no secret)."""
    version = agent_version()
    spec = importlib.util.find_spec("agent")
    assert spec is not None and spec.submodule_search_locations
    root = Path(next(iter(spec.submodule_search_locations)))
    members: list[tuple[str, bytes]] = [
        (f"agent/{path.relative_to(root).as_posix()}", path.read_bytes())
        for path in sorted(root.rglob("*.py"))
        if "__pycache__" not in path.parts
    ]
    info = f"{DISTRIBUTION}-{version}.dist-info"
    requirements = "".join(f"Requires-Dist: {line}\n" for line in _requires_dist())
    members += [
        (
            f"{info}/METADATA",
            (
                "Metadata-Version: 2.1\n"
                "Name: upmetr-agent\n"
                f"Version: {version}\n"
                "Summary: The Upmetr infra agent: host and container metrics for an Upmetr server\n"
                f"Requires-Python: {_requires_python()}\n"
                f"{requirements}"
            ).encode(),
        ),
        (
            f"{info}/WHEEL",
            (
                b"Wheel-Version: 1.0\n"
                b"Generator: upmetr (server/agents/install.py)\n"
                b"Root-Is-Purelib: true\n"
                b"Tag: py3-none-any\n"
            ),
        ),
        (f"{info}/entry_points.txt", b"[console_scripts]\nupmetr-agent = agent.cli:main\n"),
    ]
    record = "".join(f"{_record_line(name, data)}\n" for name, data in members)
    members.append((f"{info}/RECORD", f"{record}{info}/RECORD,,\n".encode()))

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            entry = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    return agent_wheel_filename(version), buffer.getvalue()
