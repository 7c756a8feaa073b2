"""Starting the console from the command line: which server, which tokens, which tunnel."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import os
import select
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from console.cli.session import SshOptions, default_url, known_hosts_file
from console.commands import DEFAULT_VIEW
from console.config import Credentials, load_credentials, signed_in_client
from console.connection import TunnelError, parse_ssh_url, ssh_tunnel, ssh_url
from console.entry import tune_start
from console.preferences import load_preferences
from console.screens.dashboard_data import read_dashboard
from shared.client import AsyncClient

# A view's first load that can start before the interface is imported: a coroutine over
# the client, in a module without Textual (the view's own module imports it).
EARLY_READS: dict[str, Callable[[AsyncClient, datetime], Awaitable[Any]]] = {
    "dashboard": read_dashboard,
}


def launch(
    url: str | None,
    *,
    readonly: bool = False,
    ssh: SshOptions | None = None,
    view: str | None = None,
) -> None:
    """Run the console until `:q`.

    The server is `url`, else `--ssh`'s, else the saved login's. Saved tokens are reused when
    they belong to that server, or when only the way to it changes (`--ssh`), as the script
    commands do.
    """
    if not sys.stdin.isatty():
        raise click.ClickException(
            "the console needs a terminal; scripts use the other commands, with --json"
        )
    quicker_start()
    stored = load_credentials()
    if ssh is not None and ssh.target is not None and url is None:
        url = ssh_url(ssh.target, ssh.remote_port)
        credentials = stored
    else:
        url = url or default_url()
        credentials = stored if stored is not None and stored.url == url else None
    try:
        preferences = load_preferences()
        parse_ssh_url(url)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc

    kept = credentials or Credentials(url, "", "", "")

    async def run() -> int:
        async with console_route(url, identity=ssh.identity if ssh else None) as api_url:
            api = signed_in_client(api_url, kept)
            early = start_early_reads(api, view or DEFAULT_VIEW) if credentials else {}
            try:
                # Textual and the app take a third of a second to import: meanwhile the
                # loop sends the early reads and the server answers them.
                app_module = await asyncio.to_thread(importlib.import_module, "console.app")
                gc.freeze()  # what the imports made stays: see quicker_start
                app = app_module.UpmetrApp(
                    api_url,
                    credentials=kept,
                    credentials_url=url,
                    readonly=readonly,
                    preferences=preferences,
                    start_view=view,
                    api=api,
                    early_reads=early,
                )
                watch = asyncio.ensure_future(exit_on_hang_up(app.exit))
                try:
                    await app.run_async()
                finally:
                    if watch.done() and not watch.cancelled():
                        detach_from_closed_terminal()
                    watch.cancel()
                return app.return_code or 0  # 1 when the app ended on an error it drew
            finally:
                for read in early.values():  # the reads the app never took
                    if not read.done():
                        read.cancel()
                    elif not read.cancelled():
                        read.exception()  # retrieved: an error nobody waits for is no news

    try:
        status = asyncio.run(run())
    except TunnelError as exc:
        raise click.ClickException(str(exc)) from exc
    if status:
        raise SystemExit(status)


def start_early_reads(api: AsyncClient, view: str) -> dict[str, asyncio.Future[Any]]:
    """`/auth/me` and the first view's load, started now for the app to take later."""
    reads: dict[str, asyncio.Future[Any]] = {"me": asyncio.ensure_future(api.auth.me())}
    read = EARLY_READS.get(view)
    if read is not None:
        reads[view] = asyncio.ensure_future(read(api, datetime.now(UTC)))
    return reads


async def exit_on_hang_up(exit_app: Callable[[], object], every: float = 1.0) -> None:
    """Quit when the terminal goes away.

    A closed terminal normally sends SIGHUP, which ends the process. Without one (the console
    started in a session of its own, or its terminal's other end closed by a program), reads
    of the terminal return nothing at once, forever, and the input thread would spin on them.
    """
    terminal = select.poll()
    terminal.register(sys.stdin.fileno(), select.POLLIN)
    while True:
        await asyncio.sleep(every)
        if any(events & (select.POLLHUP | select.POLLNVAL) for _, events in terminal.poll(0)):
            exit_app()
            return


def detach_from_closed_terminal() -> None:
    """Point stdout and stderr at /dev/null once the terminal has gone: writing what is left
    in their buffers to it fails, and Python then ends with status 120 instead of 0.
    https://docs.python.org/3/library/signal.html#note-on-sigpipe"""
    null = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            os.dup2(null, stream.fileno())
    os.close(null)


def quicker_start() -> None:
    """Spare the console's start work that its first frame does not need.

    The process is tuned as `upmetr` tunes it (console/entry.py), also when the console is
    started some other way, and `gc.freeze()` keeps what the imports made out of every later
    run of the collector.
    """
    gc.freeze()
    tune_start()


@asynccontextmanager
async def console_route(url: str, *, identity: Path | None = None) -> AsyncIterator[str]:
    """The URL the console talks to: `url` itself, or for `ssh://` the local end of a tunnel
    (host keys from UPMETR_SSH_KNOWN_HOSTS when set, else ~/.ssh/known_hosts)."""
    parsed = parse_ssh_url(url)
    if parsed is None:
        yield url
        return
    target, remote_port = parsed
    async with ssh_tunnel(
        target, remote_port=remote_port, identity=identity, known_hosts=known_hosts_file()
    ) as local_url:
        yield local_url
