"""Apply Alembic migrations programmatically (no alembic.ini needed at run time)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config

from server.data_dir import make_private_database, sqlite_path

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(url: str, revision: str = "head") -> None:
    make_private_database(url)
    with _one_migrator(url):
        command.upgrade(alembic_config(url), revision)


@contextlib.contextmanager
def _one_migrator(url: str) -> Iterator[None]:
    """Hold the database's migration lock: processes that start together on a fresh data
    directory (`serve --role worker` beside `create-user` or `serve --role api`) would
    otherwise each create the same tables, and all but one fail with "table already
    exists". The one that waits then finds the database at head and does nothing.
    PostgreSQL has its own lock for this, taken in migrations/env.py."""
    database = sqlite_path(url)
    if database is None:
        yield
        return
    descriptor = os.open(f"{database}.migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # released when the descriptor closes
        yield
    finally:
        os.close(descriptor)
