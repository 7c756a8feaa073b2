"""Starting the console from the command line: which server, which tokens, which tunnel."""

from __future__ import annotations

import asyncio
import os

import click

from console.config import load_credentials
from console.preferences import load_preferences

DEFAULT_URL = "http://127.0.0.1:8080"
URL_ENV = "UPMETR_URL"


def launch(url: str | None, *, readonly: bool = False) -> None:
    """Run the console until `:q`; saved tokens are reused when they belong to `url`."""
    from console.app import UpmetrApp

    stored = load_credentials()
    url = url or os.environ.get(URL_ENV) or (stored.url if stored else DEFAULT_URL)
    credentials = stored if stored is not None and stored.url == url else None
    try:
        preferences = load_preferences()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    app = UpmetrApp(url, credentials=credentials, readonly=readonly, preferences=preferences)
    asyncio.run(app.run_async())
