"""How script commands reach the server: stored login, or UPMETR_API_KEY / UPMETR_URL."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import click

from console.config import Credentials, load_credentials, save_credentials
from shared.api.auth import TokenPair
from shared.client import Client, ClientError

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_URL = "http://127.0.0.1:8080"
API_KEY_ENV = "UPMETR_API_KEY"
URL_ENV = "UPMETR_URL"
NOT_LOGGED_IN = (
    "not logged in: run `upmetr login` first (or set UPMETR_API_KEY, and UPMETR_URL "
    "for a server other than " + DEFAULT_URL + ")"
)


def default_url() -> str:
    stored = load_credentials()
    return os.environ.get(URL_ENV) or (stored.url if stored else DEFAULT_URL)


def persist_tokens(credentials: Credentials) -> Callable[[TokenPair], None]:
    """Keep the credentials file current when the client rotates tokens."""

    def save(tokens: TokenPair) -> None:
        credentials.access_token = tokens.access_token
        credentials.refresh_token = tokens.refresh_token
        save_credentials(credentials)

    return save


def open_client() -> Client:
    """A client signed in with UPMETR_API_KEY, else with the stored login."""
    api_key = os.environ.get(API_KEY_ENV)
    if api_key:
        return Client(default_url(), api_key=api_key)
    stored = load_credentials()
    if stored is None:
        raise click.ClickException(NOT_LOGGED_IN)
    return Client(
        stored.url,
        access_token=stored.access_token,
        refresh_token=stored.refresh_token,
        on_tokens=persist_tokens(stored),
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
            raise click.ClickException(str(exc)) from exc

    return wrapper
