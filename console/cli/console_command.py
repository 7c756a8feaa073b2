"""`upmetr console`: the live terminal console, here or through SSH."""

from __future__ import annotations

from pathlib import Path

import click

from console.cli.session import SshOptions, current_ssh_options, ssh_options
from console.commands import VIEW_ALIASES
from console.connection import SshTarget


@click.command()
@click.option("--url", default=None, help="Server URL (default: the saved login's, or UPMETR_URL).")
@ssh_options
@click.option("--readonly", is_flag=True, help="Browse only: actions that change data are off.")
@click.option(
    "--view",
    type=click.Choice(list(VIEW_ALIASES)),
    default=None,
    help="The view to open on (default: dashboard).",
)
def console(
    url: str | None,
    ssh: SshTarget | None,
    remote_port: int,
    identity: Path | None,
    readonly: bool,
    view: str | None,
) -> None:
    """Open the live console: dashboard, incidents, monitors, audit log. `:q` or ctrl+c quits.

    With --ssh it reaches a server that listens only on that host's loopback.
    """
    from console.launch import launch

    options = SshOptions(ssh, remote_port, identity) if ssh is not None else current_ssh_options()
    launch(url, readonly=readonly, ssh=options, view=view)
