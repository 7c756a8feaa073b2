"""The data directory is the server user's alone (0700), and so are the database and its
WAL files (0600), whatever the umask would have made them."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

from server.config import Settings
from server.data_dir import make_private_dir
from server.db.migrate import upgrade


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_data_directory_is_made_private_new_or_found_open(tmp_path: Path) -> None:
    new = tmp_path / "new" / "upmetr"
    make_private_dir(new)
    assert mode_of(new) == 0o700
    found = tmp_path / "found"
    found.mkdir(mode=0o755)
    found.chmod(0o755)
    make_private_dir(found)
    assert mode_of(found) == 0o700


def test_a_shared_sticky_directory_is_left_as_it_is(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    make_private_dir(shared)
    assert mode_of(shared) == 0o1777


def test_the_database_and_its_wal_are_private_when_made_and_when_found_open(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    make_private_dir(settings.data_dir)
    upgrade(settings.resolved_database_url)
    database = settings.data_dir / "upmetr.db"
    assert mode_of(database) == 0o600
    with sqlite3.connect(database) as connection:  # WAL mode: SQLite makes -wal and -shm
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE scratch (x)")
        assert mode_of(Path(f"{database}-wal")) == 0o600
    database.chmod(0o644)
    upgrade(settings.resolved_database_url)
    assert mode_of(database) == 0o600
