"""`upmetr-agent`: run (the service), once (post one batch and say what the server answered),
collect (print one batch, send nothing)."""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from pathlib import Path
from threading import Event
from types import FrameType

import click

from agent import __version__
from agent.config import DEFAULT_CONFIG, Config, ConfigError, load_config
from agent.loop import FIRST_TICK_AFTER, Agent
from agent.sender import Verdict


def _config(path: Path | None, *, need_server: bool = True) -> Config:
    try:
        return load_config(path, need_server=need_server)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def _primed(config: Config) -> Agent:
    """An agent whose first sample measures CPU and network over a short span."""
    agent = Agent(config)
    agent.collector.prime()
    time.sleep(FIRST_TICK_AFTER)
    return agent


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="upmetr-agent", message="%(prog)s %(version)s")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"TOML settings file [default: {DEFAULT_CONFIG}, if present]. "
    "UPMETR_AGENT_* environment variables win over it.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug lines too.")
@click.pass_context
def main(context: click.Context, config_path: Path | None, verbose: bool) -> None:
    """The Upmetr infra agent: host and container metrics, posted to an Upmetr server."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    context.obj = config_path


@main.command()
@click.pass_obj
def run(config_path: Path | None) -> None:
    """Report every interval until stopped (SIGTERM or SIGINT)."""
    agent = Agent(_config(config_path))
    stop = Event()

    def on_signal(number: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    agent.run(stop)


@main.command()
@click.pass_obj
def once(config_path: Path | None) -> None:
    """Collect and post one batch; print the server's answer. Exit status 0 when the server
    accepted it, 1 otherwise (with the reason): the install script's check."""
    agent = _primed(_config(config_path))
    result = agent.sender.post(agent.collect())
    agent.close()
    if result.verdict is not Verdict.accepted:
        reasons = {
            Verdict.refused: "the server refused the agent token",
            Verdict.dropped: "the server refused the batch",
            Verdict.retry: "the server did not take the batch",
        }
        raise click.ClickException(
            f"{reasons[result.verdict]} ({result.describe()}) at {agent.config.server}"
        )
    click.echo(f"HTTP {result.status} from {agent.config.server}: {json.dumps(result.body)}")


@main.command()
@click.pass_obj
def collect(config_path: Path | None) -> None:
    """Print one batch as JSON; nothing is sent."""
    agent = _primed(_config(config_path, need_server=False))
    click.echo(json.dumps(agent.collect(), indent=2))
    agent.close()
