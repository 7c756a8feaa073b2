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
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CONFIG = Path("/etc/upmetr-agent/agent.toml")
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


@dataclass(frozen=True)
class Config:
    server: str
    # Kept out of repr so that no log line or traceback can show it.
    token: str = field(repr=False)
    interval: int = DEFAULT_INTERVAL
    state_dir: Path = Path(DEFAULT_STATE_DIR)
    docker_socket: str = DEFAULT_DOCKER_SOCKET

    @property
    def ingest_url(self) -> str:
        return f"{self.server}/api/v1/agents/ingest"


def _read_file(path: Path, *, explicit: bool) -> dict[str, object]:
    try:
        with path.open("rb") as handle:
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
    path: Path | None = None,
    *,
    environ: dict[str, str] | None = None,
    need_server: bool = True,
) -> Config:
    """Read `path` (default /etc/upmetr-agent/agent.toml, which may be absent) and the
    UPMETR_AGENT_* variables. `need_server=False` (for `collect`, which sends nothing) lets
    the server and token be missing."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = dict(_read_file(path or DEFAULT_CONFIG, explicit=path is not None))
    origin = {key: f"{path or DEFAULT_CONFIG}" for key in values}
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
        if not server.startswith(("http://", "https://")):
            raise ConfigError(f"server {server!r} ({origin['server']}) must start with https://")
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
        state_dir=Path(str(state_dir).split(":")[0]),
        docker_socket=str(docker_socket),
    )
