"""The data directory and the database file, readable by the server's user alone: they
hold the signing keys, the mail spool and every tenant's data (sessions, encrypted cloud
credentials, audit log)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url


def make_private_dir(path: Path) -> None:
    """Create `path` 0700, or make it 0700 if it is the user's own and not a shared one
    (a sticky directory such as /tmp is left alone: it was not made for Upmetr)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    found = path.stat()
    if found.st_uid == os.getuid() and not found.st_mode & stat.S_ISVTX:
        path.chmod(0o700)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite database URL; None for an in-memory or another database."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_private_database(url: str) -> None:
    """Create a SQLite database file 0600 before SQLite does (with the umask's 0644), and
    keep it and its WAL and shared-memory files 0600. Other databases: nothing to do."""
    database = sqlite_path(url)
    if database is None:
        return
    database.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        if path.exists():
            path.chmod(0o600)
