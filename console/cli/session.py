"""How script commands reach the server: stored login, or UPMETR_API_KEY / UPMETR_URL.

A server URL may be `ssh://[user@]host[:port]?remote_port=8080` (from `--ssh`, from a login
made with it, or in UPMETR_URL): the first client of a command then opens an SSH tunnel,
which stays open until the command ends.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from console.config import keep_tokens, load_credentials
from console.connection import (
    DEFAULT_REMOTE_PORT,
    SshTarget,
    TunnelError,
    parse_ssh_url,
    ssh_tunnel_in_thread,
    ssh_url,
)
from shared.client import ApiConnectionError, Client, ClientError, normalize_base_url

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_URL = "http://127.0.0.1:8080"
API_KEY_ENV = "UPMETR_API_KEY"
URL_ENV = "UPMETR_URL"
SSH_ENV = "UPMETR_SSH"
SSH_REMOTE_PORT_ENV = "UPMETR_SSH_REMOTE_PORT"
SSH_IDENTITY_ENV = "UPMETR_SSH_IDENTITY"
SSH_KNOWN_HOSTS_ENV = "UPMETR_SSH_KNOWN_HOSTS"
NOT_LOGGED_IN = (
    "not logged in: run `upmetr login` first (or set UPMETR_API_KEY, and UPMETR_URL "
    "for a server other than " + DEFAULT_URL + ")"
)
_SSH_META = "upmetr.ssh"
_TUNNELS_META = "upmetr.tunnels"


@dataclass(frozen=True)
class SshOptions:
    """The global `--ssh`, `--remote-port` and `--identity` options of one invocation."""

    target: SshTarget | None
    remote_port: int = DEFAULT_REMOTE_PORT
    identity: Path | None = None


class SshTargetType(click.ParamType):
    name = "[user@]host[:port]"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> SshTarget:
        if isinstance(value, SshTarget):
            return value
        try:
            return SshTarget.parse(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def ssh_options(command: Callable[P, R]) -> Callable[P, R]:
    """The global SSH options, for the `upmetr` group."""
    decorators = [
        click.option(
            "--ssh",
            type=SshTargetType(),
            envvar=SSH_ENV,
            default=None,
            help=(
                "Reach the server through an SSH tunnel to this host; it listens on the "
                "host's loopback. Host keys are checked against ~/.ssh/known_hosts "
                f"(or the file in {SSH_KNOWN_HOSTS_ENV}). `login` remembers it."
            ),
            show_envvar=True,
        ),
        click.option(
            "--remote-port",
            type=click.IntRange(1, 65535),
            envvar=SSH_REMOTE_PORT_ENV,
            default=DEFAULT_REMOTE_PORT,
            show_default=True,
            show_envvar=True,
            help="The server's port on the SSH host's 127.0.0.1.",
        ),
        click.option(
            "--identity",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            envvar=SSH_IDENTITY_ENV,
            default=None,
            help=(
                "SSH private key file, tried with the ssh-agent's keys (instead of the default "
                "~/.ssh/id_* files)."
            ),
            show_envvar=True,
        ),
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


def use_ssh_options(ctx: click.Context, options: SshOptions) -> None:
    """Record the global SSH options for the commands of this invocation."""
    ctx.meta[_SSH_META] = options


def current_ssh_options() -> SshOptions:
    ctx = click.get_current_context(silent=True)
    options = ctx.meta.get(_SSH_META) if ctx is not None else None
    return options if isinstance(options, SshOptions) else SshOptions(target=None)


def known_hosts_file() -> Path | None:
    """The known_hosts file UPMETR_SSH_KNOWN_HOSTS names; None for ~/.ssh/known_hosts."""
    named = os.environ.get(SSH_KNOWN_HOSTS_ENV)
    return Path(named) if named else None


def default_url() -> str:
    """Where to reach the server: `--ssh`, UPMETR_URL, the stored login's, or the default.

    An `ssh://` URL when the way is through SSH; `http_url()` turns it into one to use.
    """
    options = current_ssh_options()
    if options.target is not None:
        return ssh_url(options.target, options.remote_port)
    stored = load_credentials()
    return os.environ.get(URL_ENV) or (stored.url if stored else DEFAULT_URL)


def http_url(url: str) -> str:
    """`url` itself, or for an `ssh://` URL the local end of a tunnel open until the command ends.

    A command's clients share one tunnel per URL: it is opened when first needed, so commands
    that never make a client (`serve`, `users`) never connect.
    """
    # Failures raise ApiConnectionError so that commands treat a tunnel that cannot open like
    # an unreachable server (`logout` still forgets the login, for one).
    try:
        parsed = parse_ssh_url(url)
    except ValueError as exc:
        raise ApiConnectionError(f"invalid server URL: {exc}", url=url) from exc
    if parsed is None:
        return url
    target, remote_port = parsed
    root = click.get_current_context().find_root()
    tunnels: dict[str, str] = root.meta.setdefault(_TUNNELS_META, {})
    if url not in tunnels:
        tunnel = ssh_tunnel_in_thread(
            target,
            remote_port=remote_port,
            identity=current_ssh_options().identity,
            known_hosts=known_hosts_file(),
        )
        try:
            tunnels[url] = root.with_resource(tunnel)
        except TunnelError as exc:
            raise ApiConnectionError(str(exc), url=url) from exc
    return tunnels[url]


def shown_url(url: str) -> str:
    """How messages name the server at `url`: an `ssh://` URL as given, with `remote_port`
    only when it is not the default (a form `--url` and UPMETR_URL take back)."""
    try:
        parsed = parse_ssh_url(url)
    except ValueError:
        return url
    if parsed is None:
        return url
    target, remote_port = parsed
    shown = ssh_url(target, remote_port)
    return shown.removesuffix(f"?remote_port={DEFAULT_REMOTE_PORT}")


def server_of(api: Client) -> str:
    """The server `api` talks to as the user named it: the `ssh://` URL for a client through
    a tunnel of this command, whose base URL is only the tunnel's temporary local end."""
    return _tunnel_names().get(api.base_url, api.base_url)


def _tunnel_names() -> dict[str, str]:
    """{a tunnel's local base URL: the `ssh://` URL it stands for} for this command."""
    ctx = click.get_current_context(silent=True)
    tunnels: dict[str, str] = ctx.find_root().meta.get(_TUNNELS_META, {}) if ctx else {}
    return {normalize_base_url(local): shown_url(url) for url, local in tunnels.items()}


def _named(message: str) -> str:
    """`message` with each tunnel's local URL replaced by the server's `ssh://` URL."""
    for local, shown in _tunnel_names().items():
        message = message.replace(local, shown)
    return message


def client_at(url: str, **options: Any) -> Client:
    """A client for `url`, through an SSH tunnel when it is an `ssh://` URL."""
    return Client(http_url(url), **options)


def open_client() -> Client:
    """A client signed in with UPMETR_API_KEY, else with the stored login.

    `--ssh` changes only the way to the server: the stored login's tokens still sign in.
    """
    api_key = os.environ.get(API_KEY_ENV)
    if api_key:
        return client_at(default_url(), api_key=api_key)
    stored = load_credentials()
    if stored is None:
        raise click.ClickException(NOT_LOGGED_IN)
    options = current_ssh_options()
    url = stored.url if options.target is None else default_url()
    return client_at(
        url,
        access_token=stored.access_token,
        refresh_token=stored.refresh_token,
        on_tokens=functools.partial(keep_tokens, stored),
    )


def using_api_key() -> bool:
    return bool(os.environ.get(API_KEY_ENV))


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Client errors become `Error: <detail>` on stderr and exit status 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ClientError as exc:
            raise click.ClickException(_named(str(exc))) from exc

    return wrapper
