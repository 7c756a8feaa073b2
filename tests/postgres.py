"""The suite on a real PostgreSQL, when `UPMETR_TEST_DATABASE=postgresql` (tox -e tests-pg).

Each pytest process (each xdist worker) starts its own PostgreSQL 15 server from the
machine's binaries (Debian's postgresql-15 package): `initdb` into a temporary directory,
listening on a free port on 127.0.0.1 and on a unix socket in that directory, with
fsync off (the data dies with the run). PostgreSQL refuses to run as root, and CI runs as
root, so there the server runs as the system user `upmetr-test` (created by `useradd
--system` when missing) and owns its directory; anyone else runs it as themselves.

The schema is migrated once into a template database; every test gets its own copy
(`CREATE DATABASE ... TEMPLATE`, a file copy of about 0.1 s, made while the test before
it runs), dropped when the test ends, as the SQLite suite copies a migrated file. A
server started by a test (tests/e2e) gets an empty database of its own and migrates it
itself, as a new install does.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BIN = Path(os.environ.get("UPMETR_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
SYSTEM_USER = "upmetr-test"
TEMPLATE = "upmetr_template"


def enabled() -> bool:
    return os.environ.get("UPMETR_TEST_DATABASE", "sqlite") == "postgresql"


def configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(reason): reads the SQLite file itself; skipped on PostgreSQL"
    )


def skip_sqlite_only(items: list[pytest.Item]) -> None:
    """Skip on PostgreSQL the tests marked `sqlite_only(reason=...)`, saying why."""
    if not enabled():
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.kwargs.get("reason", "SQLite only")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run_as() -> str | None:
    """The user the server runs as: `upmetr-test` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        useradd = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
        subprocess.run(  # noqa: S603 - fixed arguments
            [*useradd, SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    return SYSTEM_USER


@dataclass
class PostgresServer:
    directory: Path
    port: int
    process: subprocess.Popen[bytes]
    user: str | None
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str) -> None:
        """Run one statement in the maintenance database (psql: no event loop needed)."""
        done = subprocess.run(  # noqa: S603 - our own statement
            [
                str(BIN / "psql"),
                *("-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres"),
                *("-v", "ON_ERROR_STOP=1", "-q", "-c", statement),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{statement}: {done.stderr}")

    def new_database(self, template: str = "template0") -> str:
        name = f"upmetr_{os.getpid()}_{next(self._numbers)}"
        self.sql(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
        return name

    def drop_database(self, name: str) -> None:
        # FORCE ends the connections a test's pool may still hold (PostgreSQL 13+).
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        self.process.terminate()  # SIGTERM: PostgreSQL's smart shutdown
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


# Durability is of no use to a test database; speed is.
FOR_TESTS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
# A benchmark's: as durable as SQLite's WAL with synchronous=NORMAL (server/db/engine.py),
# which loses no commit when a process dies, only the last ones when the machine does.
LIKE_SQLITE = ("synchronous_commit=off",)


def start_server(settings: tuple[str, ...] = FOR_TESTS) -> PostgresServer:
    user = _run_as()
    # Not pytest's tmp_path: it is private to root, and the server's user must enter it.
    directory = Path(tempfile.mkdtemp(prefix="upmetr-pg-"))
    data = directory / "data"
    if user is not None:
        shutil.chown(directory, user)
    kwargs = {"user": user} if user is not None else {}
    subprocess.run(  # noqa: S603 - the machine's PostgreSQL
        [str(BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        cwd=directory,
        **kwargs,  # type: ignore[call-overload]
    )
    port = _free_port()
    log = (directory / "postgres.log").open("ab")
    process = subprocess.Popen(  # noqa: S603 - the machine's PostgreSQL
        [
            str(BIN / "postgres"),
            *("-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", str(directory)),
            *(option for setting in settings for option in ("-c", setting)),
            *("-c", "max_connections=200"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=directory,
        **kwargs,
    )
    log.close()
    server = PostgresServer(directory, port, process, user)
    deadline = time.monotonic() + 30
    while True:
        ready = subprocess.run(  # noqa: S603 - the machine's PostgreSQL
            [str(BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"],
            capture_output=True,
            check=False,
        )
        if ready.returncode == 0:
            return server
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"PostgreSQL did not start: {(directory / 'postgres.log')}")
        time.sleep(0.1)


_SERVER: PostgresServer | None = None


def server() -> PostgresServer:
    """This process's server, started on first use and stopped at the session's end (or
    at exit, should the session not end)."""
    global _SERVER
    if _SERVER is None:
        _SERVER = start_server()
        atexit.register(stop)
    return _SERVER


def stop() -> None:
    global _SERVER, _NEXT_COPY
    _MAKER.shutdown(wait=True, cancel_futures=True)
    _NEXT_COPY = None
    if _SERVER is not None:
        _SERVER.stop()
        _SERVER = None


# Copies of the template are made and dropped by one thread beside the tests: each test
# takes the copy made while the one before it ran (a copy costs about 0.1 s of waiting on
# the server, most of a short test's set-up).
_MAKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="postgres-copies")
_NEXT_COPY: Future[str] | None = None


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A copy of the migrated template for one test; its URL."""
    global _NEXT_COPY
    copy = _NEXT_COPY or _MAKER.submit(server().new_database, TEMPLATE)
    _NEXT_COPY = _MAKER.submit(server().new_database, TEMPLATE)
    name = copy.result()
    try:
        yield server().url(name)
    finally:
        _MAKER.submit(server().drop_database, name)


def migrate_template() -> None:
    from server.db.migrate import upgrade

    server().sql(f"CREATE DATABASE {TEMPLATE} TEMPLATE template0")
    upgrade(server().url(TEMPLATE))


_DATABASES: dict[Path, str] = {}


def database_for(data_dir: Path) -> str:
    """An empty database for the server process that uses `data_dir`: a process started
    by a test migrates it, and processes sharing a data directory share it."""
    if data_dir not in _DATABASES:
        _DATABASES[data_dir] = server().url(server().new_database())
    return _DATABASES[data_dir]
