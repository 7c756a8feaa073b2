"""`upmetr-agent`: run (the service), once (post one batch and say what the server answered),
collect (print one batch, send nothing).

argparse, not click as the `upmetr` command uses: importing click (with the inspect and ast
modules it loads) costs the agent ~2 MB of RSS, a tenth of its whole budget, for three
subcommands without options of their own.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from collections.abc import Sequence
from threading import Event
from types import FrameType

from agent import __version__
from agent.config import DEFAULT_CONFIG, Config, ConfigError, load_config
from agent.loop import FIRST_TICK_AFTER, Agent
from agent.sender import Verdict


class Failure(Exception):
    """Ends the command with status 1 and this message."""


def _config(path: str | None, *, need_server: bool = True) -> Config:
    try:
        return load_config(path, need_server=need_server)
    except ConfigError as error:
        raise Failure(str(error)) from None


def _primed(config: Config) -> Agent:
    """An agent whose first sample measures CPU and network over a short span."""
    agent = Agent(config)
    agent.collector.prime()
    time.sleep(FIRST_TICK_AFTER)
    return agent


def run(config_path: str | None) -> None:
    """Report every interval until stopped (SIGTERM or SIGINT)."""
    agent = Agent(_config(config_path))
    stop = Event()

    def on_signal(number: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    agent.run(stop)


def once(config_path: str | None) -> None:
    """Collect and post one batch, print the server's answer: status 0 when it accepted the
    batch, 1 with the reason otherwise (the install script's check)."""
    agent = _primed(_config(config_path))
    result = agent.sender.post(agent.collect())
    agent.close()
    if result.verdict is not Verdict.accepted:
        reasons = {
            Verdict.refused: "the server refused the agent token",
            Verdict.dropped: "the server refused the batch",
            Verdict.retry: "the server did not take the batch",
        }
        raise Failure(f"{reasons[result.verdict]} ({result.describe()}) at {agent.config.server}")
    print(f"HTTP {result.status} from {agent.config.server}: {json.dumps(result.body)}")


def collect(config_path: str | None) -> None:
    """Print one batch as JSON; nothing is sent."""
    agent = _primed(_config(config_path, need_server=False))
    print(json.dumps(agent.collect(), indent=2))
    agent.close()


COMMANDS = {
    "run": (run, "report every interval until stopped (the service)"),
    "once": (once, "collect and post one batch, print the server's answer (0: accepted)"),
    "collect": (collect, "print one batch as JSON; nothing is sent"),
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="upmetr-agent",
        description="The Upmetr infra agent: host and container metrics, posted to an "
        "Upmetr server.",
    )
    root.add_argument("--version", action="version", version=f"upmetr-agent {__version__}")
    root.add_argument(
        "--config",
        metavar="PATH",
        help=f"TOML settings file (default: {DEFAULT_CONFIG}, if present); "
        "UPMETR_AGENT_* environment variables win over it",
    )
    root.add_argument("-v", "--verbose", action="store_true", help="log debug lines too")
    commands = root.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, summary) in COMMANDS.items():
        commands.add_parser(name, help=summary, description=summary)
    return root


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    command, _ = COMMANDS[args.command]
    try:
        command(args.config)
    except Failure as failure:
        print(f"upmetr-agent: error: {failure}", file=sys.stderr)
        sys.exit(1)
