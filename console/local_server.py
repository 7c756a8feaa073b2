"""A server in this process, for `upmetr up` and for tests: the real app on a thread of its own.

The server runs on a daemon thread with its own event loop, so the console (which owns the
main thread and the terminal) and the server share one process without sharing a loop. Its
logs go to `server.log` in the data directory, never to the terminal.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import secrets
import socket
import string
import threading
from concurrent.futures import Future
from logging.handlers import RotatingFileHandler
from types import TracebackType
from typing import Self

from aiohttp import web
from sqlalchemy import func, select

from console.config import Credentials, delete_credentials, load_credentials, save_credentials
from server.app import build_app
from server.auth.bootstrap import create_account
from server.auth.passwords import check_policy
from server.config import Settings
from server.data_dir import make_private_dir
from server.db.engine import create_engine
from server.db.migrate import upgrade
from server.engines.roles import Role
from server.http.errors import BadRequest
from server.http.runner import ApiRunner
from server.users.models import User
from server.worker import WORKER_PROCESS
from shared.api.auth import MfaChallenge
from shared.client import Client, ClientError, Unauthorized, normalize_base_url

# `.internal` is reserved for private use (ICANN, 2024) and, unlike `.localhost` or
# `.local`, the API's email validator accepts it.
LOCAL_ADMIN_EMAIL = "admin@upmetr.internal"
LOG_FILE = "server.log"
WORKER_LOG_FILE = "worker.log"
# The loggers the server writes to: its own, aiohttp's errors and the loop's.
SERVER_LOGGERS = ("upmetr", "aiohttp", "asyncio")
# The console has quit by the time the server stops: nothing in flight is worth a long wait.
SHUTDOWN_TIMEOUT_SECONDS = 5.0


class LocalServerError(RuntimeError):
    """The local server could not start or stop; the message says why and what to do."""


class LocalServer:
    """`with LocalServer(settings) as server: ...server.url...`: migrate, serve, stop.

    `settings.port` 0 picks a free port; `url` then names the port actually bound.

    `role` "all" (what `upmetr up` runs) serves the API here and runs the engines in a
    worker process that the server starts, supervises and stops with itself; its log is
    `worker.log` beside `server.log`. "single" runs the engines on the server's thread.
    """

    def __init__(self, settings: Settings, *, role: Role = "single") -> None:
        self.settings = settings
        self.role = role
        self.log_path = settings.data_dir / LOG_FILE
        self.worker_log_path = settings.data_dir / WORKER_LOG_FILE
        self._url: str | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._log_handler: logging.Handler | None = None
        self._saved_levels: dict[str, int] = {}

    @property
    def url(self) -> str:
        if self._url is None:
            raise LocalServerError("the local server is not running")
        return self._url

    @property
    def worker_pid(self) -> int | None:
        """The worker process's id, with role "all" while it runs."""
        runner = self._runner
        worker = runner.app.get(WORKER_PROCESS) if runner is not None else None
        return worker.pid if worker is not None else None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 60.0) -> str:
        """Listen, migrate the database and start the app; returns the base URL."""
        if self._thread is not None:
            raise LocalServerError("the local server was already started")
        # The port first: a taken port is reported before any migration or engine starts.
        sock = _listening_socket(self.settings.host, self.settings.port)
        make_private_dir(self.settings.data_dir)
        self._log_to_file()
        started: Future[str] = Future()
        self._thread = threading.Thread(
            target=self._serve, args=(sock, started), name="upmetr-local-server", daemon=True
        )
        self._thread.start()
        try:
            self._url = started.result(timeout)
        except BaseException:
            self._thread.join(timeout)
            self._thread = self._loop = None
            self._stop_logging_to_file()
            sock.close()
            raise
        return self._url

    def stop(self, timeout: float = 60.0) -> None:
        """Shut the app down on its own loop (engines stop, connections close); idempotent."""
        thread, loop, runner = self._thread, self._loop, self._runner
        if thread is None or loop is None:
            return
        try:
            if runner is not None and thread.is_alive():
                asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout)
        finally:
            if thread.is_alive():
                loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            self._thread = self._loop = self._runner = None
            self._url = None
            self._stop_logging_to_file()
        if thread.is_alive():
            raise LocalServerError(f"the local server did not stop within {timeout:g} s")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(self, sock: socket.socket, started: Future[str]) -> None:
        """The server thread: migrate, start, then run the loop until `stop()` ends it."""
        try:
            # Alembic runs its own event loop, so it goes before this thread's loop exists.
            upgrade(self.settings.resolved_database_url)
        except BaseException as exc:
            started.set_exception(exc)
            return
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            try:
                url = loop.run_until_complete(self._start_app(sock))
            except BaseException as exc:
                if self._runner is not None:
                    loop.run_until_complete(self._runner.cleanup())
                    self._runner = None
                started.set_exception(exc)
                return
            started.set_result(url)
            loop.run_forever()
        finally:
            # As asyncio.run does: whatever task is still pending is cancelled and run to
            # its end (closing its database session) before the loop closes.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            asyncio.set_event_loop(None)
            loop.close()

    async def _start_app(self, sock: socket.socket) -> str:
        port = sock.getsockname()[1]
        # The bound port, so links in emails name it when the settings asked for port 0.
        settings = self.settings.model_copy(update={"port": port})
        runner = ApiRunner(
            build_app(settings, self.role, worker_log=self.worker_log_path),
            access_log=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
        )
        # setup() runs the app's startup (database engine, check engine): stop() undoes it.
        await runner.setup()
        self._runner = runner
        await web.SockSite(runner, sock).start()
        return f"http://{_connect_host(settings.host)}:{port}"

    def _log_to_file(self) -> None:
        # The terminal stays clean because nothing else in `upmetr up` configures logging: a
        # record handled here never falls through to logging's last-resort stderr handler.
        handler = RotatingFileHandler(
            self.log_path, maxBytes=10 * 1024 * 1024, backupCount=3, encoding="utf-8"
        )
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.setLevel(logging.INFO)
        for name in SERVER_LOGGERS:
            logger = logging.getLogger(name)
            self._saved_levels[name] = logger.level
            if logger.level == logging.NOTSET or logger.level > logging.INFO:
                logger.setLevel(logging.INFO)
            logger.addHandler(handler)
        self._log_handler = handler

    def _stop_logging_to_file(self) -> None:
        handler = self._log_handler
        if handler is None:
            return
        for name in SERVER_LOGGERS:
            logger = logging.getLogger(name)
            logger.removeHandler(handler)
            logger.setLevel(self._saved_levels.pop(name, logging.NOTSET))
        handler.close()
        self._log_handler = None


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to `host`:`port` (0: any free port), or an error saying what to do."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        # Sets SO_REUSEADDR on POSIX, as asyncio does: a port in TIME_WAIT is not "in use".
        return socket.create_server((host, port), family=family, backlog=128)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise LocalServerError(
                f"port {port} is in use on {host}: is a server already running? "
                "Choose another one with --port"
            ) from exc
        raise LocalServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def _connect_host(host: str) -> str:
    """Where a client on this machine reaches a server listening on `host`."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a name such as localhost
        return host or "127.0.0.1"
    if address.is_unspecified:  # listening on every interface: use loopback
        return "127.0.0.1" if address.version == 4 else "[::1]"
    return f"[{address}]" if address.version == 6 else str(address)


def generate_password() -> str:
    """Four groups of five letters and digits joined by hyphens: ~119 bits, easy to copy.

    The hyphen is the policy's special character; a draw without a digit or a letter case
    (about 3% of them) is drawn again.
    """
    alphabet = string.ascii_letters + string.digits
    while True:
        groups = ("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))
        password = "-".join(groups)
        try:
            check_policy(password)
        except BadRequest:
            continue
        return password


def ensure_local_admin(settings: Settings, *, email: str = LOCAL_ADMIN_EMAIL) -> str | None:
    """On a database without users, create a platform admin and return its new password.

    Returns None when any user exists (the password was shown on the first run). The
    database must be migrated already, as `LocalServer.start()` does.
    """
    return asyncio.run(_ensure_local_admin(settings, email))


async def _ensure_local_admin(settings: Settings, email: str) -> str | None:
    engine = create_engine(settings.resolved_database_url)
    try:
        async with engine.connect() as connection:
            users = await connection.scalar(select(func.count()).select_from(User))
    finally:
        await engine.dispose()
    if users:
        return None
    password = generate_password()
    await create_account(
        settings,
        email=email,
        password=password,
        full_name="Local admin",
        org_name="Local",
        platform_admin=True,
    )
    return password


def sign_in_local(url: str, email: str, password: str) -> Credentials:
    """Sign in with a password; the tokens are returned, not saved."""
    with Client(url) as api:
        result = api.auth.login(email, password)
    if isinstance(result, MfaChallenge):
        raise LocalServerError(f"{email} signs in with an MFA code: sign in from the console")
    return Credentials(
        url=url,
        access_token=result.access_token,
        refresh_token=result.refresh_token,
        email=email,
    )


def working_credentials(url: str) -> Credentials | None:
    """The saved credentials if they are for `url` and the server still accepts them.

    The client refreshes an expired access token itself; the rotated pair is saved. Saved
    credentials the server rejects for `url` are deleted, so the console asks for a sign-in
    instead of trying them again. Credentials for another server are left alone.
    """
    stored = load_credentials()
    if stored is None or normalize_base_url(stored.url) != normalize_base_url(url):
        return None
    try:
        with Client(
            url, access_token=stored.access_token, refresh_token=stored.refresh_token
        ) as api:
            api.auth.me()
            access_token, refresh_token = api.access_token, api.refresh_token
    except Unauthorized:
        delete_credentials()
        return None
    except ClientError:
        return None
    fresh = Credentials(
        url=url,
        access_token=access_token or stored.access_token,
        refresh_token=refresh_token or stored.refresh_token,
        email=stored.email,
    )
    if fresh != stored:
        save_credentials(fresh)
    return fresh


def local_credentials(
    url: str, password: str | None, *, email: str = LOCAL_ADMIN_EMAIL
) -> Credentials | None:
    """Credentials for the console on `url`, saved; None when it must ask for a sign-in.

    With a password (the first run, a new database) a fresh sign-in: tokens saved earlier
    belong to an older database. Without one, the saved credentials if they still work.
    """
    if password is None:
        return working_credentials(url)
    credentials = sign_in_local(url, email, password)
    save_credentials(credentials)
    return credentials
