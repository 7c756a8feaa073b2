"""`upmetr up`: a local server on SQLite, its first admin, and the console signed in."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from shared.client import ClientError

if TYPE_CHECKING:
    from server.config import Settings


@click.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 8080).")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Database, keys and server.log (default: UPMETR_DATA_DIR or the user data dir).",
)
@click.option(
    "--readonly", is_flag=True, help="Browse only: actions that change data are disabled."
)
@click.option("--no-console", is_flag=True, help="Only serve (until Ctrl-C); sign in with the CLI.")
def up(
    host: str | None, port: int | None, data_dir: Path | None, readonly: bool, no_console: bool
) -> None:
    """Start a local server and open the console, signed in: the first command to run.

    On the first run this creates the database and a local admin, whose password is
    printed once; in a terminal, the console opens when Enter is pressed, after it was read. The
    server stops when the console quits.
    """
    from console.config import credentials_path
    from console.local_server import (
        LOCAL_ADMIN_EMAIL,
        LocalServer,
        LocalServerError,
        ensure_local_admin,
        local_credentials,
    )

    settings = local_settings(host=host, port=port, data_dir=data_dir)
    server = LocalServer(settings, role="all")
    try:
        url = server.start()
    except LocalServerError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        password = ensure_local_admin(settings)
        if password is not None:
            click.echo(
                f"Created the local admin {LOCAL_ADMIN_EMAIL}  password: {password}  "
                "(shown once: keep it; change it with `upmetr password`)"
            )
        if local_credentials(url, password) is None:
            click.echo(
                f"No saved login works for {url}: sign in (the local admin is {LOCAL_ADMIN_EMAIL})."
            )
        elif password is not None:
            click.echo(
                f"The console and `upmetr` commands are signed in as {LOCAL_ADMIN_EMAIL} "
                f"(saved in {credentials_path()})."
            )
            if not no_console and not _read_before_the_console():
                return
        _console_or_serve(url, server.log_path, readonly=readonly, no_console=no_console)
    except (LocalServerError, ClientError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        server.stop()


def local_settings(*, host: str | None, port: int | None, data_dir: Path | None) -> Settings:
    """The settings of the server `up` starts: the environment's, with the options given.

    A local install serves one person, whose monitors are often on their own machine or
    network, so private targets are allowed unless UPMETR_ALLOW_PRIVATE_TARGETS says
    otherwise; link-local and cloud metadata addresses stay refused (outbound policy).
    """
    from server.config import Settings

    overrides: dict[str, Any] = {"host": host, "port": port, "data_dir": data_dir}
    if "UPMETR_ALLOW_PRIVATE_TARGETS" not in os.environ:
        overrides["allow_private_targets"] = True
    return Settings.given(**overrides)


def _read_before_the_console() -> bool:
    """Wait for Enter before the console takes the screen, so the password printed once is
    read first; False when the user pressed Ctrl-C (or Ctrl-D) instead. Without a terminal
    on stdin and stdout (a script, a pipe) it returns at once.

    A line read in the terminal's own mode keeps an Enter typed ahead; a single key read in
    raw mode (click.pause, click.getchar) would flush it and wait on, and click.pause also
    swallows Ctrl-C.
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return True
    try:
        input("Press Enter to open the console (Ctrl-C stops the server)...")
    except (KeyboardInterrupt, EOFError):
        click.echo("\nStopping.")
        return False
    return True


def _console_or_serve(url: str, log_path: Path, *, readonly: bool, no_console: bool) -> None:
    if not no_console:
        from console.app import run_console

        run_console(url, readonly=readonly)
        return
    click.echo(f"Serving {url} (log: {log_path}). Ctrl-C stops it.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("Stopping.")
