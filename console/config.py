"""Where the console keeps its credentials: `credentials.json` in the user's config dir.

The file holds live tokens, so it is created 0600 in a 0700 directory (never world-readable,
even for a moment: os.open with the mode, then an atomic rename).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from shared.client import AsyncClient

if TYPE_CHECKING:
    from shared.api.auth import TokenPair

CONFIG_DIR_ENV = "UPMETR_CONFIG_DIR"
CREDENTIALS_FILE = "credentials.json"


@dataclass
class Credentials:
    url: str
    access_token: str
    refresh_token: str
    email: str


def config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir("upmetr", appauthor=False))


def credentials_path() -> Path:
    return config_dir() / CREDENTIALS_FILE


def load_credentials() -> Credentials | None:
    """The stored credentials, or None when absent or unreadable (treated as logged out)."""
    try:
        data = json.loads(credentials_path().read_text(encoding="utf-8"))
        return Credentials(
            url=str(data["url"]),
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]),
            email=str(data.get("email", "")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_credentials(credentials: Credentials, directory: Path | None = None) -> Path:
    """Store `credentials` in `directory` (default: the user's config dir)."""
    directory = directory or config_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / CREDENTIALS_FILE
    tmp = directory / f".{CREDENTIALS_FILE}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(credentials), handle, indent=2)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return path


def keep_tokens(credentials: Credentials, tokens: TokenPair, *, save: bool = True) -> None:
    """Adopt a token pair the client took (sign-in, refresh, org switch). A refresh spends
    the old refresh token, so the new pair is saved at once unless `save` is off."""
    credentials.access_token = tokens.access_token
    credentials.refresh_token = tokens.refresh_token
    if save:
        save_credentials(credentials)


def signed_in_client(url: str, credentials: Credentials, *, save: bool = True) -> AsyncClient:
    """The console's client at `url`, with the tokens of `credentials` (if any), keeping the
    ones it takes in them (`keep_tokens`)."""
    return AsyncClient(
        url,
        access_token=credentials.access_token or None,
        refresh_token=credentials.refresh_token or None,
        on_tokens=partial(keep_tokens, credentials, save=save),
    )


def delete_credentials() -> bool:
    try:
        credentials_path().unlink()
    except FileNotFoundError:
        return False
    return True
