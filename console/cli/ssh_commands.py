"""`upmetr ssh-serve` (the console over SSH, on the server machine) and `upmetr ssh-keys`
(the keys that open it)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click

from console.cli.output import json_option, print_result, print_table
from console.cli.session import open_client, reports_errors

# The files `ssh-keys add` looks for, in OpenSSH's order of preference.
DEFAULT_KEY_FILES = ("id_ed25519.pub", "id_ecdsa.pub", "id_ed25519_sk.pub", "id_rsa.pub")


@click.command("ssh-serve")
@click.option("--host", default=None, help="Address to listen on (default 0.0.0.0).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 2222).")
@click.option(
    "--host-key",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The host's private key, made there on first start (default: in the data directory).",
)
@click.option(
    "--api-url",
    default=None,
    help="Where sessions reach the API (default: http://127.0.0.1:<UPMETR_PORT>).",
)
def ssh_serve(
    host: str | None, port: int | None, host_key: Path | None, api_url: str | None
) -> None:
    """Serve the console over SSH: `ssh -p 2222 you@host` opens it, signed in as the member
    whose key it is (`upmetr ssh-keys add`); `ssh -p 2222 you@host incidents --json` runs a
    command. The SSH user name may be an organization's slug to open in.

    It shares the data directory (or UPMETR_DATABASE_URL) with `upmetr serve`, which must be
    running for the console to reach the API. SIGINT or SIGTERM stops it.
    """
    from server import logs
    from server.config import Settings
    from server.db.migrate import upgrade
    from server.ssh.server import ssh_server

    logs.configure()
    settings = Settings.given(
        ssh_host=host, ssh_port=port, ssh_host_key=host_key, ssh_api_url=api_url
    )
    upgrade(settings.resolved_database_url)

    async def run() -> None:
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, stopped.set)
        async with ssh_server(settings) as listening:
            click.echo(f"SSH host key fingerprint: {listening.host_key_fingerprint}")
            click.echo(
                f"listening on {settings.ssh_host}:{listening.port}; "
                f"sessions reach the API at {settings.ssh_api_url or 'the local server'}",
                err=True,
            )
            await stopped.wait()

    asyncio.run(run())


@click.group("ssh-keys")
def ssh_keys() -> None:
    """Your SSH public keys: each opens the console over SSH (`upmetr ssh-serve`)."""


@ssh_keys.command("list")
@json_option
@reports_errors
def ssh_keys_list(as_json: bool) -> None:
    """Your keys, with their fingerprints."""
    with open_client() as api:
        keys = api.users.ssh_keys.list()
    print_result(
        keys,
        as_json,
        lambda: print_table(
            keys,
            [
                ("id", lambda k: k.id),
                ("name", lambda k: k.name),
                ("fingerprint", lambda k: k.fingerprint),
                ("added", lambda k: k.created_at),
                ("last used", lambda k: k.last_used_at),
            ],
        ),
    )


@ssh_keys.command("add")
@click.argument(
    "key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False
)
@click.option("--name", default=None, help="Defaults to the key's comment.")
@json_option
@reports_errors
def ssh_keys_add(key_file: Path | None, name: str | None, as_json: bool) -> None:
    """Register a public key: KEY_FILE, else the first of ~/.ssh/id_ed25519.pub,
    id_ecdsa.pub, id_ed25519_sk.pub and id_rsa.pub."""
    path = key_file or _default_key_file()
    with open_client() as api:
        key = api.users.ssh_keys.add(path.read_text(encoding="utf-8").strip(), name=name)
    print_result(
        key,
        as_json,
        lambda: click.echo(f"Added SSH key {key.name!r} (id {key.id}): {key.fingerprint}"),
    )


@ssh_keys.command("rm")
@click.argument("key_id", type=int)
@reports_errors
def ssh_keys_rm(key_id: int) -> None:
    """Delete a key: it opens no new SSH session from now on."""
    with open_client() as api:
        api.users.ssh_keys.delete(key_id)
    click.echo(f"Deleted SSH key {key_id}.")


def _default_key_file() -> Path:
    ssh_dir = Path.home() / ".ssh"
    for name in DEFAULT_KEY_FILES:
        if (ssh_dir / name).is_file():
            return ssh_dir / name
    raise click.UsageError(
        f"no public key in {ssh_dir} ({', '.join(DEFAULT_KEY_FILES)}): give its file, or "
        "make one with `ssh-keygen -t ed25519`"
    )
