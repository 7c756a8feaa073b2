"""`upmetr console`: the live terminal console."""

from __future__ import annotations

import click


@click.command()
@click.option("--url", default=None, help="Server URL (default: the saved login's, or UPMETR_URL).")
@click.option(
    "--readonly", is_flag=True, help="Browse only: actions that change data are disabled."
)
def console(url: str | None, readonly: bool) -> None:
    """Open the console: incidents, monitors and more, live. `:q` or ctrl+c quits."""
    from console.app import run_console

    run_console(url, readonly=readonly)
