"""The agent's settings: a TOML file, then environment variables, which win.

# /etc/upmetr-agent/agent.toml
server = "https://upmetr.example.com"
token = "..."
interval = 10
state_dir = "/var/lib/upmetr-agent"
docker_socket = "/var/run/docker.sock"
"""

from __future__ import annotations

import os
import tomllib
from typing import NamedTuple

from agent.transport import parse_url

# Paths are strings, and settings a NamedTuple: pathlib and dataclasses (which loads inspect)
# would cost the agent ~1.6 MB of RSS for nothing it needs.
DEFAULT_CONFIG = "/etc/upmetr-agent/agent.toml"
DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock"
DEFAULT_INTERVAL = 10
# systemd sets STATE_DIRECTORY for a unit with StateDirectory= (systemd.exec(5)).
DEFAULT_STATE_DIR = "/var/lib/upmetr-agent"

ENV = {
    "server": "UPMETR_AGENT_SERVER",
    "token": "UPMETR_AGENT_TOKEN",
    "interval": "UPMETR_AGENT_INTERVAL",
    "state_dir": "UPMETR_AGENT_STATE_DIR",
    "docker_socket": "UPMETR_AGENT_DOCKER_SOCKET",
}


class ConfigError(Exception):
    """The settings cannot work as given; the message says which one and where it came from."""


class Config(NamedTuple):
    server: str
    token: str
    interval: int = DEFAULT_INTERVAL
    state_dir: str = DEFAULT_STATE_DIR
    docker_socket: str = DEFAULT_DOCKER_SOCKET

    def __repr__(self) -> str:
        # The token is left out, so that no log line or traceback can show it.
        return (
            f"Config(server={self.server!r}, interval={self.interval}, "
            f"state_dir={self.state_dir!r}, docker_socket={self.docker_socket!r})"
        )

    @property
    def ingest_url(self) -> str:
        return f"{self.server}/api/v1/agents/ingest"


def _read_file(path: str, *, explicit: bool) -> dict[str, object]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file {path} does not exist") from None
        return {}
    except PermissionError:
        raise ConfigError(f"config file {path} is not readable by this user") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    unknown = sorted(set(data) - set(ENV))
    if unknown:
        raise ConfigError(f"config file {path}: unknown keys {', '.join(unknown)}")
    return data


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: dict[str, str] | None = None,
    need_server: bool = True,
) -> Config:
    """Read `path` (default /etc/upmetr-agent/agent.toml, which may be absent) and the
    UPMETR_AGENT_* variables. `need_server=False` (for `collect`, which sends nothing) lets
    the server and token be missing."""
    env = os.environ if environ is None else environ
    explicit = path is not None
    path = os.fspath(path) if path is not None else DEFAULT_CONFIG
    values: dict[str, object] = dict(_read_file(path, explicit=explicit))
    origin = {key: str(path) for key in values}
    for key, variable in ENV.items():
        if env.get(variable):
            values[key] = env[variable]
            origin[key] = variable

    server = str(values.get("server", "")).strip().rstrip("/")
    token = str(values.get("token", "")).strip()
    if need_server:
        if not server:
            raise ConfigError(
                "no server: set `server` in the config file or UPMETR_AGENT_SERVER "
                "(e.g. https://upmetr.example.com)"
            )
        try:
            parse_url(server)
        except ValueError:
            raise ConfigError(
                f"server {server!r} ({origin['server']}) is not a URL like https://upmetr.example.com"
            ) from None
        if not token:
            raise ConfigError(
                "no agent token: set `token` in the config file or UPMETR_AGENT_TOKEN "
                "(the server shows it once when the agent is created)"
            )

    raw_interval = values.get("interval", DEFAULT_INTERVAL)
    try:
        interval = int(str(raw_interval))
    except ValueError:
        raise ConfigError(
            f"interval {raw_interval!r} ({origin.get('interval')}) is not a whole number of seconds"
        ) from None
    if not 1 <= interval <= 3600:
        raise ConfigError(f"interval {interval} ({origin.get('interval')}) must be 1 to 3600 s")

    state_dir = values.get("state_dir") or env.get("STATE_DIRECTORY") or DEFAULT_STATE_DIR
    docker_socket = values.get("docker_socket") or DEFAULT_DOCKER_SOCKET
    return Config(
        server=server,
        token=token,
        interval=interval,
        # STATE_DIRECTORY may list several, colon-separated; ours is the first.
        state_dir=str(state_dir).split(":")[0],
        docker_socket=str(docker_socket),
    )
