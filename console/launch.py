"""Starting the console from the command line: which server, which tokens, which tunnel."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import click

from console.cli.session import SshOptions, default_url, known_hosts_file
from console.config import load_credentials
from console.connection import TunnelError, parse_ssh_url, ssh_tunnel, ssh_url
from console.preferences import load_preferences


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

    async def run() -> None:
        from console.app import UpmetrApp

        gc.freeze()  # what the imports made stays: see quicker_start
        async with console_route(url, identity=ssh.identity if ssh else None) as api_url:
            app = UpmetrApp(
                api_url,
                credentials=credentials,
                credentials_url=url,
                readonly=readonly,
                preferences=preferences,
                start_view=view,
            )
            await app.run_async()

    try:
        asyncio.run(run())
    except TunnelError as exc:
        raise click.ClickException(str(exc)) from exc


def quicker_start() -> None:
    """Spare the console's start work that its first frame does not need.

    The imports and the first view make some 70,000 objects that live as long as the console;
    the cyclic collector, run every 700 allocations and now and then over all of them, took
    0.1-0.3 s before the first frame. It runs every 10,000 now, and `gc.freeze()` keeps what
    the imports made out of every later run.

    httpcore imports trio when it is installed (~0.1 s), only to tell whether trio runs it;
    the console runs on asyncio alone.
    """
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    sys.modules.setdefault("trio", None)  # type: ignore[arg-type]


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
